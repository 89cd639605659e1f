"""Centralino storage package."""
