"""Framework-free OAuth 2.0 / OpenID Connect core."""
