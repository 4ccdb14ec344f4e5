"""The `identa` command."""
