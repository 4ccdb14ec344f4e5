"""Login, sign-up, reset and verification as persisted state."""
