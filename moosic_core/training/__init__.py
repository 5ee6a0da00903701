"""Training code (imports TensorFlow). Serving code never imports this package."""
