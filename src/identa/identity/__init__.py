"""Customers: the normalized profile, identities, credentials and blocking."""
