"""Centralino notify package."""
