"""The one error the gate raises: a failed step, with a message saying what failed."""


class GateError(Exception):
    """A release check failed; the message names the step and what went wrong."""
