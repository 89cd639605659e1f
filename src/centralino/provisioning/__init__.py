"""Centralino provisioning package."""
