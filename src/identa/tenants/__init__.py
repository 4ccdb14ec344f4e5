"""Tenant-wide settings: one tenant per deployment."""
