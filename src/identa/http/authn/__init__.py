"""Auth0's Authentication API endpoints."""
