"""The Pulumi SDK's runtime internals the offline plan relies on, and nowhere else.

Running a program in-process under the mock monitor needs more than the SDK's documented
unit-testing path (``pulumi.runtime.set_mocks`` plus ``pulumi.runtime.test``, which waits on
outputs rather than on the whole program): the stack function runner, the SDK's synchronous
await, the config setter, the root stack's exports and the wire format of property values.
Every such use is here, behind functions with ailab's own names, and pinned by
``tests/plan/test_pulumi_runtime.py``; ``pulumi`` itself is pinned to the tested compatible
release in ``pyproject.toml``. When an SDK upgrade breaks one of them, this module is the one
to change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def ensure_event_loop() -> None:
    """Give the thread a current event loop if it has none (or a closed one).

    The SDK runs everything on ``asyncio.get_event_loop()``; after ``asyncio.run`` anywhere earlier in
    the process (an HTTP client, a test), the thread has no current loop and that call raises
    "There is no current event loop".
    """
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def abandon_failed_run() -> None:
    """Leave what a failed program left pending behind: a fresh event loop, and the SDK's record of it cleared.

    Both outlive the run: the tasks stay on the thread's event loop, which every plan run shares, and the
    SDK's set of outstanding outputs is a context variable's default, shared by runs in fresh contexts
    (its own ``pulumi.runtime.test`` clears it first). Left there, the next run in the process would await
    them and raise the failed run's error again. They are not cancelled: cancelling hundreds of chained
    tasks recurses deep enough to trip CPython 3.11's recursion accounting. Nor are they reported when
    collected ("Task was destroyed but it is pending", "Task exception was never retrieved" go to their
    loop's exception handler): a failed plan ends with its one-line error only.
    """
    from pulumi.runtime.settings import SETTINGS

    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    asyncio.get_event_loop_policy().get_event_loop().set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(asyncio.new_event_loop())


def set_stack_config(config: Mapping[str, str], secret_keys: frozenset[str]) -> None:
    """Make ``config`` (``namespace:key`` -> raw string) the stack config the program reads."""
    from pulumi.runtime.config import set_all_config

    set_all_config(dict(config), sorted(secret_keys))


def run_stack_function(program: Callable[[], None]) -> None:
    """Run ``program`` as the SDK runs a stack's entry point: to completion, waiting for every registration."""
    from pulumi.runtime.stack import run_pulumi_func

    resolve(run_pulumi_func(program))


def resolve(awaitable: Awaitable[T]) -> T:
    """The result of ``awaitable``, awaited on the SDK's own event loop (outputs are bound to it)."""
    from pulumi.runtime.sync_await import _sync_await

    return _sync_await(awaitable)


def root_stack_exports() -> dict[str, Any]:
    """What the program exported with ``pulumi.export``, as the unresolved values it passed."""
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    return dict(getattr(root, "outputs", None) or {})


def is_unknown(value: Any) -> bool:
    """Whether a deserialized property value is one the engine does not know yet (a preview's unknown)."""
    from pulumi import UNKNOWN

    return isinstance(value, type(UNKNOWN))


def is_secret(value: Any) -> bool:
    """Whether a deserialized property value is a secret (still wrapped as on the wire)."""
    from pulumi.runtime import rpc

    return rpc.is_rpc_secret(value)


def deserialize_inputs(struct: Any) -> dict[str, Any]:
    """A registration's inputs as Python values, secrets still wrapped and unknowns kept."""
    from pulumi.runtime import rpc

    inputs: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    return inputs
