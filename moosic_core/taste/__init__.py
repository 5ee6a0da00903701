"""The taste side: playlist CSV import, genre mapping, profile building, the taste service."""
