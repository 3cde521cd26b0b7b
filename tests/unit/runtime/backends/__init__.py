"""tests/unit/runtime/backends."""
