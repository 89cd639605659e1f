"""Centralino sip package."""
