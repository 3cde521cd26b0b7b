"""tests/unit/runtime/cuda."""
