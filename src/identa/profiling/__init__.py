"""Progressive profiling: a few questions per login, answers saved to user_metadata."""
