"""Entry point: `python -m hookwire.conformance` (see cli.py)."""

import sys

from hookwire.conformance.cli import main

if __name__ == "__main__":
    sys.exit(main())
