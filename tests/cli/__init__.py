"""Tests of the ``centralino`` command line."""
