"""Ranking songs for a mood inside a taste: pure functions over the in-memory catalog."""
