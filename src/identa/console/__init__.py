"""The staff console's domain: staff accounts, their sessions and the audit log."""
