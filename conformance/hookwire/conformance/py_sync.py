"""The `py-sync` driver: behaviours become plain Python functions, run with `Executor.execute`.

Python's native conventions (docs/semantics.md section 4): returning `None` is CONTINUE, a result
object from `hookwire.runtime.results` is that result, an exception is a failure, and anything
else (here the magic string "continue", which must not be accepted) is an invalid result.

Example:
    >>> from hookwire.conformance.scenario import CallStep
    >>> native_return(CallStep(returns={"cancel": {"reason": "no"}}))
    Cancel(reason='no')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookwire.conformance.driver import HookEnv, publish_or_refusal
from hookwire.conformance.scenario import CallStep, HookDef
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import result_from_json
from hookwire.runtime.trace import Execution

__all__ = ["INVALID_VALUE", "HookRaised", "PySyncDriver", "native_return"]

# Not a result: a string that merely spells a result kind must be rejected (no magic strings).
INVALID_VALUE = "continue"


class HookRaised(RuntimeError):
    """The exception a behaviour's `raises` step raises; its message is the step's text."""


def native_return(step: CallStep) -> Any:
    """End a call the Python way: return a result, None or an invalid value, or raise."""
    if step.raises is not None:
        raise HookRaised(step.raises)
    if step.returns_invalid:
        return INVALID_VALUE
    if step.returns is not None:
        return result_from_json(step.returns)
    return None


class PySyncSession:
    """Sync Python hooks for one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env

    def language_for(self, hook: HookDef) -> str:
        return "python"

    def build_hook(self, hook: HookDef) -> Callable[[HookContext], Any]:
        env, name, behaviour = self.env, hook.name, hook.behaviour
        assert behaviour is not None

        def call(ctx: HookContext) -> Any:
            step = behaviour.step_for(env.log.begin(name))
            if step.advance_ms:
                env.clock.advance_ms(step.advance_ms)
            if step.record:
                env.log.record(name, ctx)
            for event in step.publish:
                publish_or_refusal(env, name, event)
            if step.execute is not None:
                env.run_nested(name, step.execute)
            return native_return(step)

        call.__name__ = f"hook_{name}"
        return call

    def execute(self, point: str, ctx: HookContext) -> Execution:
        return self.env.executor.execute(point, ctx)

    def close(self) -> None:
        pass


class PySyncDriver:
    """Plain Python functions, executed with the synchronous `Executor.execute`."""

    name = "py-sync"

    def open(self, env: HookEnv) -> PySyncSession:
        return PySyncSession(env)
