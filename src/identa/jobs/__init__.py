"""Bulk jobs: users imports and exports, resumable, with progress."""
