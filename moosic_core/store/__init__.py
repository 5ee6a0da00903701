"""The store shared by the whole app (SQLite or PostgreSQL, see :mod:`moosic_core.store.db`)."""

from moosic_core.store.store import CachedProfile, LastList, Link, PendingOAuth, Store

__all__ = ["CachedProfile", "LastList", "Link", "PendingOAuth", "Store"]
