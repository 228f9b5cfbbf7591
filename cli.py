"""Thin shim so `python cli.py ...` works from a checkout; `govern` is the real entry point."""

from governance.cli import main

if __name__ == "__main__":
    main()
