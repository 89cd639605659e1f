"""Centralino admin package."""
