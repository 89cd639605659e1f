"""Centralino: a self-hosted IP PBX whose every extension setting changes behaviour."""

__all__ = ["__version__"]

__version__ = "0.1.0"
