"""The installed gitgrid version (one place, read by the package and the sweep records)."""

__version__ = "0.1.0"
