"""Entry point: `python -m hookwire.conformance` (see cli.py)."""

import sys

try:
    from hookwire.conformance.cli import main
except ModuleNotFoundError as exc:  # installed without the extra that brings the runner's deps
    if exc.name != "jsonschema":
        raise
    sys.exit("python -m hookwire.conformance needs jsonschema: pip install 'hookwire[conformance]'")

if __name__ == "__main__":
    sys.exit(main())
