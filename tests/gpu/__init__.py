"""GPU tests: skipped without a CUDA GPU (and TensorRT where they need it)."""
