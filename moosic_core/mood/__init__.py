"""Face mood: decode a photo, find faces, read their emotions (LiteRT, no TensorFlow)."""
