"""hookwire benchmarks: `nox -s bench` (or `python -m bench [NAME ...]`)."""
