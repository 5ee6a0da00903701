"""The hand-written SQLite migrations Moo-Sic used before Alembic (frozen history; never edit).

Databases made by them carry ``PRAGMA user_version`` = the number applied and no
``alembic_version`` table. :func:`moosic_core.store.migrations.upgrade` recognises such a file
and stamps it with the Alembic revision reproducing that schema (``user_version`` N is revision
``"%04d" % N``), then upgrades it like any other database. Kept here so that recognition (and
the test building a database with the old code path) has the exact old schema.
"""

from __future__ import annotations

LEGACY_MIGRATIONS: tuple[str, ...] = (
    # 1: users, links with encrypted tokens, library tracks, caches, consent, feedback, history.
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (platform, platform_user_id)
    );
    -- The user's one taste source. Tokens are Fernet ciphertext, never plaintext.
    CREATE TABLE links (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('spotify_user', 'spotify_oauth', 'playlist_csv')),
        spotify_user_id TEXT,
        display_name TEXT,
        access_token BLOB,
        refresh_token BLOB,
        scopes TEXT,
        expires_at REAL,
        source_name TEXT,
        fetched_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    -- Tracks of the linked source: an imported CSV, or Spotify results cached with fetched_at.
    CREATE TABLE library_tracks (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        track_id TEXT,
        name TEXT NOT NULL,
        artists TEXT NOT NULL,
        genres TEXT NOT NULL,
        features TEXT,
        PRIMARY KEY (user_id, position)
    );
    CREATE TABLE taste_cache (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        profile TEXT NOT NULL,
        source_key TEXT NOT NULL,
        built_at REAL NOT NULL
    );
    -- OAuth authorization requests in flight (state -> user, encrypted PKCE verifier).
    CREATE TABLE oauth_states (
        state TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        verifier BLOB NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX oauth_states_user ON oauth_states(user_id);
    CREATE TABLE consent (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        agreed_at REAL NOT NULL,
        PRIMARY KEY (user_id, kind)
    );
    CREATE TABLE feedback (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        track_id TEXT NOT NULL,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, track_id)
    );
    CREATE TABLE recommendations (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        track_id TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX recommendations_user_time ON recommendations(user_id, created_at);
    """,
)

LEGACY_SCHEMA_VERSION = len(LEGACY_MIGRATIONS)
