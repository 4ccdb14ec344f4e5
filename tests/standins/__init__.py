"""Local stand-in servers speaking third parties' documented shapes, for tests and templates."""
