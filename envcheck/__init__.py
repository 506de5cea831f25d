"""envcheck: make PyTorch + CUDA installs boring.

Importing this package is cheap on purpose: it imports nothing else. Commands load the
compatibility matrix, probes and renderers lazily, and torch only ever runs in a child process.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
