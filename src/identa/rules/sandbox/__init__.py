"""Code that runs inside a rule worker process (never imported by the server for execution)."""
