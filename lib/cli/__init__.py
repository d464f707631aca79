"""Command-line programs (gnt-*): framework, options, job following, one module per program."""
