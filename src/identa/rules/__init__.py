"""Rules: administrator-written code run at every login (stored here; sandboxes in runtime/)."""
