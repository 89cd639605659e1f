"""Centralino media package."""
