"""Rules: administrator-written code run at every login (stored here; runtimes come later)."""
