"""End-to-end tests: the installed ``centralino`` processes, over the network."""
