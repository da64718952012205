"""The release gate: build hookwire's four artefacts, install each in a clean place, run the
conformance matrix against what was installed, check the protos and the version, and report.

    python -m release                 # everything (`nox -s release` runs this), into dist/
    python -m release lint            # buf lint (buf.yaml)
    python -m release breaking        # buf breaking against the last release's protos
    python -m release versions        # one version across proto, Python, JS and Lua
    python -m release npm --out DIR   # the npm tarball only
    python -m release lua --out DIR   # the Lua tarball only

See docs/versioning.md for what the checks mean for a release.
"""
