"""vision-export: export object detectors to self-contained browser bundles."""

__version__ = "0.1.0"

__all__ = ["__version__"]
