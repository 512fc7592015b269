"""The installed gitgrid version (one place, read by the package and the sweep records)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
