"""Centralino net package."""
