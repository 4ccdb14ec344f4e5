"""Server-side single sign-on sessions."""
