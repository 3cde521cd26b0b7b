"""Sequences, datasets, synthetic data, training pairs and the crop shared with the runtime."""
