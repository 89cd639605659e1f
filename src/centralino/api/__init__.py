"""Centralino api package."""
