"""``make bench``: timing and memory benchmarks (medians of several runs)."""
