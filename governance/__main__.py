"""`python -m governance`: the `govern` command line."""

from governance.cli import main

main()
