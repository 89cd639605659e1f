"""Centralino web package."""
