"""CPU time of each part of a pipeline, counted in-process, callback by callback.

A difference of two whole-process CPU figures (a pipeline with the service minus one without)
is a small number between two noisy ones: on a busy 2-core machine one run can read half or
twice the next. This counts instead what the event loop runs on behalf of each owner: every
callback the loop runs (a task's step, a socket's read, a timer) is timed with the thread's own
CPU clock and charged to whoever it belongs to:

- a task Pipecat named ``"<processor>::<what>"`` to that processor (its frame queues and
  ``process_frame``, and whatever it awaits inline: for a service, its encoding, its socket
  writes and their TLS);
- a task nobody named, by the module of its coroutine: this package's, websockets' or
  google-genai's (the service's session, its keepalive) to the service; Pipecat's to the
  pipeline;
- a socket transport's callback to the service (the services' sockets are the only ones in
  the benchmark's process): reading, TLS, WebSocket framing;
- anything else to ``other``.

Idle time (waiting in ``epoll``) is nobody's and is not counted, so noise that only delays
the loop does not count either. What noise can still add (cache and sibling-hyperthread
contention) inflates each callback a little, rather than the whole figure a lot.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import statistics
import time
from collections import Counter
from typing import Any

_SERVICE_MODULES = ("pipecat_gemini_live", "websockets", "google")
_SOCKET_TYPES = ("_SelectorSocketTransport", "_SSLProtocolTransport", "SSLProtocol")


class LoopAccounting:
    """Patches ``asyncio.Handle._run`` while installed; ``stages`` maps processor names (as
    Pipecat names them) to the owner they are charged as."""

    def __init__(self, stages: dict[str, str], *, driver: str = "bench-driver") -> None:
        self._stages = stages
        self._driver = driver
        self.cpu: dict[str, float] = {}
        self.callbacks: Counter[str] = Counter()
        self._owners: dict[int, str] = {}  # id(task) -> owner; tasks are classified once
        self._original: Any = None
        self.overhead = 0.0
        self.counting = False

    def install(self) -> None:
        self.overhead = _clock_pair_cost()
        self._original = asyncio.events.Handle._run
        original, clock, accounting = self._original, time.thread_time, self

        def _run(handle: asyncio.Handle) -> None:
            if not accounting.counting:
                return original(handle)
            start = clock()
            try:
                return original(handle)
            finally:
                spent = clock() - start
                owner = accounting.owner_of(handle)
                accounting.cpu[owner] = accounting.cpu.get(owner, 0.0) + spent
                accounting.callbacks[owner] += 1

        asyncio.events.Handle._run = _run  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def start(self) -> None:
        self.cpu.clear()
        self.callbacks.clear()
        self.counting = True

    def stop(self) -> dict[str, float]:
        """CPU seconds per owner since ``start``, less what the clock itself cost."""
        self.counting = False
        return {
            owner: max(0.0, spent - self.callbacks[owner] * self.overhead)
            for owner, spent in self.cpu.items()
        }

    def owner_of(self, handle: asyncio.Handle) -> str:
        callback = handle._callback  # type: ignore[attr-defined]
        target = getattr(callback, "__self__", None)
        if isinstance(target, asyncio.Task):
            owner = self._owners.get(id(target))
            if owner is None:
                owner = self._owners[id(target)] = self._task_owner(target)
            return owner
        if type(target).__name__ in _SOCKET_TYPES:
            return "service"
        module = getattr(callback, "__module__", None) or type(target).__module__ or ""
        return _by_module(module)

    def _task_owner(self, task: asyncio.Task[Any]) -> str:
        name = task.get_name()
        if name == self._driver:
            return "driver"
        if "::" in name:
            return self._stages.get(name.split("::", 1)[0], "pipeline")
        coroutine = task.get_coro()
        code = getattr(coroutine, "cr_code", None)
        return _by_module(_module_of(code.co_filename) if code else "")


def _module_of(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    for marker in ("pipecat_gemini_live", "websockets", "google", "pipecat", "asyncio"):
        if marker in parts:
            return marker
    return ""


def _by_module(module: str) -> str:
    if module.startswith(_SERVICE_MODULES):
        return "service"
    if module.startswith("pipecat"):
        return "pipeline"
    return "other"


def _clock_pair_cost() -> float:
    """What one timed callback's two clock reads add to it (the median of many tries)."""
    clock = time.thread_time
    samples = []
    for _ in range(20):
        start = clock()
        for _ in range(200):
            clock()
        samples.append((clock() - start) / 201)
    return statistics.median(samples)
