"""Identa: a self-hosted customer identity platform compatible with Auth0."""

__version__ = "0.1.0"
