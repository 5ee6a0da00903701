"""Local fakes of external services (loopback only)."""
