"""Fault injection: what goes wrong with real Live connections, on demand.

A mixin of :class:`~pipecat_gemini_live.emulator.server.LiveEmulator`, so tests write
``await emu.go_away(10)``, ``await emu.close(1011)``, ``await emu.reset()``, ``emu.stall(3)``.
Each acts on one session (``session=``) or on every session with a live connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from websockets.asyncio.server import ServerConnection

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.records import EmulatedSession


def _resume_reading(transport: Any) -> None:
    if not transport.is_closing():
        transport.resume_reading()


class FaultInjection:
    sessions: list[EmulatedSession]
    setup_delays: list[float]
    _handles: dict[str, EmulatedSession]
    _timers: set[asyncio.Task[None]]

    async def send_to(self, session: EmulatedSession, data: bytes) -> bool:
        raise NotImplementedError

    def _targets(self, session: EmulatedSession | None) -> list[EmulatedSession]:
        chosen = [session] if session else self.sessions
        return [s for s in chosen if s.ws is not None]

    async def go_away(
        self,
        time_left: float = 10.0,
        session: EmulatedSession | None = None,
        *,
        then_close: bool = False,
    ) -> None:
        """Send ``goAway``; with ``then_close``, also end the connection when the time is up
        (1000, as at the end of a connection's lifetime) unless the client left first."""
        for target in self._targets(session):
            ws = target.ws
            message = wire.encode({"goAway": {"timeLeft": wire.duration(time_left)}})
            await self.send_to(target, message)
            if then_close and ws is not None:
                self._later(self._close_if_current(target, ws, time_left, "go_away deadline"))

    async def close(
        self,
        code: int = 1011,
        reason: str = "Internal error occurred.",
        session: EmulatedSession | None = None,
    ) -> None:
        for target in self._targets(session):
            if target.ws is not None:
                target.closed_codes.append(code)
                target.connection_log[-1].ended_by = f"close {code}"
                await target.ws.close(code, wire.truncate_reason(reason))

    async def reset(self, session: EmulatedSession | None = None) -> None:
        """A TCP reset: the connection vanishes without a close frame."""
        for target in self._targets(session):
            if target.ws is not None:
                target.closed_codes.append(1006)
                target.connection_log[-1].ended_by = "reset"
                target.ws.transport.abort()

    async def drop(self, session: EmulatedSession | None = None) -> None:
        """The connection ends without a close frame (TCP FIN): what clients report as 1006,
        e.g. a proxy or load balancer closing the socket under the WebSocket."""
        for target in self._targets(session):
            if target.ws is not None:
                target.closed_codes.append(1006)
                target.connection_log[-1].ended_by = "drop"
                target.ws.transport.close()

    def stall(
        self, seconds: float, session: EmulatedSession | None = None, *, hard: bool = False
    ) -> None:
        """The socket stays open but nothing moves: client messages wait unread and server
        messages wait unsent for ``seconds``; then both carry on, in order, with nothing lost.

        ``hard``: not even the WebSocket layer answers (no pongs, the socket is not read), as
        when the network path silently dies; a client can only notice by its keepalive."""
        loop = asyncio.get_running_loop()
        for target in self._targets(session):
            target.stalled_until = time.monotonic() + seconds
            if hard and target.ws is not None:
                transport = target.ws.transport
                transport.pause_reading()
                loop.call_later(seconds, _resume_reading, transport)

    def delay_setup(self, seconds: float, *, connections: int = 1) -> None:
        """The next ``connections`` connections get their ``setupComplete`` ``seconds`` late
        (a server that accepts the socket but is slow to set the session up)."""
        self.setup_delays.extend([seconds] * connections)

    def expire_handles(self, session: EmulatedSession | None = None) -> None:
        """The server forgets the conversation (handles last 2 h after a session ends): a resume
        with any handle issued so far is refused with 1008 "session not found"."""
        for handle, owner in list(self._handles.items()):
            if session is None or owner is session:
                del self._handles[handle]

    async def send_raw(self, data: str | bytes, session: EmulatedSession | None = None) -> None:
        """Send anything, as it is (malformed messages, unknown fields)."""
        for target in self._targets(session):
            if target.ws is not None:
                await target.ws.send(data)

    async def _close_if_current(
        self, session: EmulatedSession, ws: ServerConnection, after: float, why: str
    ) -> None:
        """The server's side of goAway: the connection ends when its time is up."""
        await asyncio.sleep(after)
        if session.ws is ws:
            session.closed_codes.append(1000)
            session.connection_log[-1].ended_by = why
            with contextlib.suppress(Exception):
                await ws.close(1000, "The operation was cancelled.")

    def _later(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
