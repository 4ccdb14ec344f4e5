"""Where identities come from: database, social and enterprise connections."""
