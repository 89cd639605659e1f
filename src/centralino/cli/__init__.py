"""Centralino cli package."""
