"""A cap on open Live sessions, so a server of many calls stays inside the project's quota.

Google limits concurrent Live sessions per project (a few on the free tier, 1,000 per project
on Vertex); past the limit new sessions fail with 1011 ``RESOURCE_EXHAUSTED`` after the caller
has already been put through. Checking locally first turns that into a clear, immediate
decision: wait a little for a free slot, or refuse with an error that says why.

One limit is usually set for the whole process (:func:`set_session_limit`); a service can also
be given its own :class:`SessionLimit`. Services on different event loops or threads may share
one limit.
"""

from __future__ import annotations

import asyncio
import threading
import time

from pipecat_gemini_live.errors import GeminiLiveError


class SessionLimitReached(GeminiLiveError):
    """No Live session slot became free in time."""


class SessionLimit:
    """At most ``max_sessions`` open Live sessions among the services that share this limit.

    ``wait_seconds`` is how long a new call waits for a slot before it is refused (0: refuse at
    once). A session holds its slot across reconnects and connection switches: it is one call.
    """

    def __init__(self, max_sessions: int, *, wait_seconds: float = 0.0) -> None:
        if not isinstance(max_sessions, int) or max_sessions < 1:
            raise ValueError(f"max_sessions must be a whole number >= 1, got {max_sessions!r}.")
        if wait_seconds < 0:
            raise ValueError(f"wait_seconds must be >= 0, got {wait_seconds!r}.")
        self.max_sessions = max_sessions
        self.wait_seconds = wait_seconds
        self._open = 0
        self._lock = threading.Lock()
        self.refused = 0

    @property
    def open_sessions(self) -> int:
        return self._open

    def try_acquire(self) -> bool:
        with self._lock:
            if self._open >= self.max_sessions:
                return False
            self._open += 1
            return True

    async def acquire(self) -> None:
        """Take a slot, waiting up to ``wait_seconds``; raises :class:`SessionLimitReached`."""
        deadline = time.monotonic() + self.wait_seconds
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                with self._lock:
                    self.refused += 1
                raise SessionLimitReached(
                    f"{self._open} Gemini Live sessions are open, the limit is "
                    f"{self.max_sessions}"
                    + (
                        f" and none closed within {self.wait_seconds:g} s"
                        if self.wait_seconds
                        else ""
                    )
                    + ". Raise it with set_session_limit() if your project's quota allows, or "
                    "let callers wait longer (wait_seconds)."
                )
            await asyncio.sleep(0.05)

    def release(self) -> None:
        with self._lock:
            if self._open > 0:
                self._open -= 1

    def __repr__(self) -> str:
        return f"SessionLimit({self._open}/{self.max_sessions} open)"


_process_limit: SessionLimit | None = None


def set_session_limit(
    max_sessions: int | None, *, wait_seconds: float = 0.0
) -> SessionLimit | None:
    """Cap the Live sessions every service in this process may open (``None`` removes it).

    Services created with their own ``session_limit=`` use that instead.
    """
    global _process_limit
    _process_limit = (
        None if max_sessions is None else SessionLimit(max_sessions, wait_seconds=wait_seconds)
    )
    return _process_limit


def process_session_limit() -> SessionLimit | None:
    return _process_limit
