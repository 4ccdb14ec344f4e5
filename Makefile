# Shortcuts for the two commands in the README.
.PHONY: run test
run:
	scripts/run
test:
	scripts/test
