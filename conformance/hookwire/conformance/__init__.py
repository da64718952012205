"""The hookwire conformance suite: language-neutral scenarios run on every language adapter.

`python -m hookwire.conformance` loads every scenario under `conformance/scenarios` (and each
`--scenarios DIR`), validates it against `conformance/schema/scenario.schema.json`, runs it on
every driver and prints a scenario x adapter matrix. See conformance/README.md.

Example:
    >>> from hookwire.conformance.loader import load_scenarios, DEFAULT_SCENARIO_DIR
    >>> scenarios = load_scenarios([DEFAULT_SCENARIO_DIR])
    >>> len(scenarios) >= 50
    True
"""
