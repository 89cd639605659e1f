"""Centralino domain package."""
