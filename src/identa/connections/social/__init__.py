"""Social and enterprise connections: upstream OAuth 2.0 / OpenID Connect identity providers."""
