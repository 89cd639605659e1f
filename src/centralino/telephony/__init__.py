"""Centralino telephony package."""
