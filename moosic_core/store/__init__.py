"""The aiosqlite store shared by the whole app."""

from moosic_core.store.store import CachedProfile, Link, PendingOAuth, Store

__all__ = ["CachedProfile", "Link", "PendingOAuth", "Store"]
