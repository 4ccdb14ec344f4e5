"""The database (username/password) connection: password policy and its options."""
