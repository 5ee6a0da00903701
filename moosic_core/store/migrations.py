"""The database schema as numbered migrations; ``PRAGMA user_version`` is the applied number.

Append new migrations; never edit one that has shipped. Every table holding a user's data has a
``user_id`` column referencing ``users`` so that ``forget`` can find (and delete) all of it.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
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
    # 2: per-user settings (e.g. discovery = more | less; absent = the default).
    """
    CREATE TABLE user_settings (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (user_id, key)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

# Tables with per-user rows, children first: forget() deletes from each, then the user.
USER_TABLES: tuple[str, ...] = ("library_tracks", "taste_cache", "oauth_states", "consent",
                                "feedback", "recommendations", "user_settings", "links")
