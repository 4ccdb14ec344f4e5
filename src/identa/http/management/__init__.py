"""Auth0's Management API v2 under /api/v2: bearer tokens with scopes, Auth0's shapes and errors."""
