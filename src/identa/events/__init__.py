"""Log events with Auth0's codes, and the outbox they are delivered from."""
