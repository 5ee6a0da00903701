"""The song catalog: built from the Spotify tracks dataset, served from memory."""
