"""`python -m identa` runs the command line."""

from identa.cli.main import main

main()
