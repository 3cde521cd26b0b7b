"""CUDA through cuda-python: device buffers, streams, NVRTC-compiled pre/post-processing kernels.

Nothing here imports cuda-python at module import time; `api.cuda_available()` says whether it can be used.
"""
