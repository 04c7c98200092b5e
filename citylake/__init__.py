"""citylake: the city data bureau's data platform (shared library and CLI)."""

__version__ = "0.1.0"
