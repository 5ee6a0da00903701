"""Everything Moo-Sic knows about songs: mood score, emotion proxy and genre models."""
