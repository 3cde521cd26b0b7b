"""Weights bundled with the package (loaded by create_model(..., pretrained=True))."""
