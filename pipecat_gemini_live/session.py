"""The supervisor of a Live conversation: the one owner of its connections.

:class:`LiveSession` opens connections (:mod:`.connection`), runs the receive loop, and keeps
the conversation alive across them: it switches to a new connection on ``goAway`` at a safe
point (not mid-reply, not while a tool call is pending, unless the deadline forces it), resumes
with the latest handle after a drop, backs off between attempts, and buffers input while no
connection is ready (:mod:`.input_buffer`), replaying it in order afterwards.

What survives a change of connection, and what cannot be promised:

- Input sent while no connection is ready is kept and sent, in order, on the next one. A planned
  switch (goAway, settings) closes the old socket cleanly, so the server reads everything
  written to it: nothing is lost or sent twice. After an abrupt drop (a reset, a dead network),
  what was already written to the dead socket may be lost in flight: the Live API has no
  acknowledgement to re-send from, and re-sending blindly would duplicate. Nothing is ever sent
  twice; ``connection_stats`` counts what went to each connection.
- A tool response goes out once, to the conversation that made the call: on the resumed
  connection if the call was pending across a switch. If the conversation could not be resumed
  (a new session replaced it), its pending calls are cancelled (a ``ToolCallCancellation`` event)
  and their responses are dropped, not sent to a session that never asked. The calls
  themselves are tracked by the :class:`~pipecat_gemini_live.tools.ToolLedger` (``tools``).
- Events of a connection are handed over before the next connection's ``Connected``; nothing
  of an old connection arrives after it. What the server writes to the old connection after
  the switch is decided is not read (the old socket is closed, not drained): a planned switch
  waits for a quiet moment so that there is nothing. A switch that has to cut a reply or a
  pending call short (the goAway deadline) is reported as ``Disconnected`` so turn state can
  be closed.

It knows nothing of Pipecat: it takes typed client messages (:mod:`.outgoing`) and hands
parsed events to a callback, so it is tested against the emulator directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from loguru import logger
from websockets.exceptions import ConnectionClosed as WebSocketClosed

from pipecat_gemini_live.connection import Connection, classify_close
from pipecat_gemini_live.conversation import ConversationState, SwitchPlan
from pipecat_gemini_live.errors import ConnectionClosed
from pipecat_gemini_live.events import (
    FunctionCall,
    GoAway,
    ServerEvent,
    ToolCall,
    ToolCallCancellation,
)
from pipecat_gemini_live.input_buffer import DEFAULT_MAX_BYTES, InputBuffer
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.recording import RecordingWriter
from pipecat_gemini_live.tools import ToolLedger

__all__ = ["Connected", "Disconnected", "Failed", "InputOverflow", "LiveSession", "classify_close"]


class Phase(str, Enum):
    """Where the session is; one explicit state instead of scattered flags."""

    IDLE = "idle"
    CONNECTING = "connecting"
    READY = "ready"
    ROTATING = "rotating"  # planned switch to a new connection (goAway)
    RECONNECTING = "reconnecting"  # unplanned drop, backing off
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True)
class Connected:
    """A connection finished setup. ``resumed``: it continued the previous conversation."""

    resumed: bool
    connection_number: int
    connect_seconds: float


@dataclass(frozen=True)
class Disconnected:
    """A connection ended unexpectedly, or a planned switch had to cut a reply or a pending tool
    call short; a reconnect follows unless ``Failed`` does."""

    error: ConnectionClosed
    next_attempt_in: float


@dataclass(frozen=True)
class Failed:
    """The session gave up: a fatal close code, or the retry budget is spent."""

    error: Exception


@dataclass(frozen=True)
class InputOverflow:
    """Buffered input hit its bound while disconnected; the oldest audio was discarded."""

    dropped_audio_bytes: int


SessionEvent = Connected | Disconnected | Failed | InputOverflow


@dataclass
class ConnectionStats:
    """What the client wrote to one connection, and why it ended: the client's side of the
    accounting a test (or an operator) compares with what the server received."""

    number: int
    resumed: bool
    messages_sent: int = 0
    audio_messages_sent: int = 0
    tool_response_ids: list[str] = field(default_factory=list)
    ended_by: str = ""  # "rotation", "rotation (cut short)", "closed <code>", "", ...


@dataclass
class RetryPolicy:
    """Capped exponential backoff with jitter; ``max_attempts`` consecutive failures end it."""

    max_attempts: int = 6
    initial_delay: float = 0.25
    max_delay: float = 8.0
    jitter: float = 0.25

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_delay, self.initial_delay * (2 ** max(0, attempt - 1)))
        return base * (1 + self.jitter * (2 * rng.random() - 1))


class LiveSession:
    """Owns the conversation's connections; see the module docstring for what it guarantees."""

    def __init__(
        self,
        *,
        url: str,
        headers: dict[str, str] | Callable[[], Awaitable[dict[str, str]]],
        build_setup: Callable[[str | None], ClientMessage],
        on_event: Callable[[ServerEvent | SessionEvent], Coroutine[Any, Any, None]],
        retry: RetryPolicy | None = None,
        max_buffered_bytes: int = DEFAULT_MAX_BYTES,
        open_timeout: float = 10.0,
        go_away_margin: float | None = None,
        seed: int | None = None,
        ping_interval: float | None = 30.0,
        ping_timeout: float | None = 60.0,
        recorder: RecordingWriter | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._url = url
        self._ssl = ssl_context
        self._headers = headers
        self._build_setup = build_setup
        self._on_event = on_event
        self._retry = retry or RetryPolicy()
        self._open_timeout = open_timeout
        self._rng = random.Random(seed)
        self._ping = (ping_interval, ping_timeout)
        self._recorder = recorder

        self.phase = Phase.IDLE
        self.conversation = ConversationState()
        self.connections = 0
        self.dropped_audio_bytes = 0
        self.rotations = 0  # planned switches to a new connection
        self.reconnects = 0  # unplanned ones, after a drop
        self.connection_stats: list[ConnectionStats] = []
        self._connection: Connection | None = None
        self._ready = asyncio.Event()
        self._buffer = InputBuffer(max_buffered_bytes)
        self._run_task: asyncio.Task[None] | None = None
        self._plan = SwitchPlan(go_away_margin)
        self._switch_due = False
        self._switch_timer: asyncio.TimerHandle | None = None
        self._waiting_task: asyncio.Task[Any] | None = None  # the serve loop, while in recv
        self._switch_cancel_sent = False
        self._had_traffic = False
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- public

    @property
    def tools(self) -> ToolLedger:
        """Every function call of the conversation and where it stands."""
        return self.conversation.tools

    @property
    def handle(self) -> str | None:
        """The latest resumption handle; another process can resume the call with it."""
        return self.conversation.handle

    @handle.setter
    def handle(self, value: str | None) -> None:
        self.conversation.handle = value

    @property
    def is_ready(self) -> bool:
        return self.phase is Phase.READY

    async def start(self) -> None:
        """Connect in the background; input sent before setup completes is buffered."""
        if self._run_task is None:
            self._run_task = asyncio.get_running_loop().create_task(
                self._run(), name="gemini-live-session"
            )

    async def wait_ready(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def send(self, message: ClientMessage) -> None:
        """Send now if connected, else keep it (in order) for the next connection."""
        if message.call_ids:  # a tool response (audio, the hot path, answers no call)
            void = {call_id for call_id in message.call_ids if self.tools.is_void(call_id)}
            if void:
                logger.warning(
                    f"Gemini Live: not sending responses to lost tool calls {sorted(void)}"
                )
                kept = message.without_calls(void)
                if kept is None:
                    return
                message = kept
        connection = self._connection
        if connection is not None and self.phase is Phase.READY and not self._buffer:
            try:
                await connection.send(message)
            except WebSocketClosed:
                pass  # the serve loop sees the close and reconnects; keep the message
            else:
                self._count_sent(message)
                return
        if self.phase in (Phase.CLOSED, Phase.FAILED):
            return
        dropped = self._buffer.add(message)
        if dropped:
            self.dropped_audio_bytes += dropped
            logger.warning(
                f"Gemini Live: still not connected; input buffer is full "
                f"({self._buffer.max_bytes} bytes), discarded the oldest "
                f"{dropped} bytes of encoded audio"
            )
            self._in_background(self._on_event(InputOverflow(dropped)))

    def request_rotation(self, within: float = 30.0) -> None:
        """Move to a new connection of the same conversation at the next safe point (or after
        ``within`` seconds at the latest), e.g. so that changed settings take effect."""
        if self._run_task is None:
            return
        self._plan_switch(within + self._plan.margin(within))
        self._maybe_switch_now()

    def note_user_speech(self) -> None:
        """The audio just sent has speech in it: a switch waits until the server has answered
        it (or plainly ignored it), so a turn is never split across connections."""
        self.conversation.voiced_at = time.monotonic()

    def call_closed(self) -> None:
        """A tool call was answered or cancelled: a switch waiting for it may happen now."""
        self._maybe_switch_now()

    async def close(self) -> None:
        """Close for good (idempotent)."""
        if self._recorder is not None:
            self._recorder.close()
        self.phase = Phase.CLOSED
        self._ready.clear()
        task, self._run_task = self._run_task, None
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> None:
        failures = 0
        while self.phase not in (Phase.CLOSED, Phase.FAILED):
            try:
                await self._connect_and_serve()
                failures = 0  # a planned rotation or a clean serve
            except ConnectionClosed as error:
                if self.phase is Phase.CLOSED:
                    return
                if self.connection_stats and not self.connection_stats[-1].ended_by:
                    self.connection_stats[-1].ended_by = f"closed {error.code}"
                    self.reconnects += 1  # a live connection dropped (not a failed attempt)
                if "session not found" in error.reason.lower():
                    self.conversation.handle = None
                failures = failures + 1 if not self._had_traffic else 1
                if not error.retryable:
                    await self._fail(error)
                    return
                if failures > self._retry.max_attempts:
                    gave_up = f"Gave up after {failures} attempts in a row."
                    final = ConnectionClosed(
                        error.code,
                        error.reason,
                        retryable=False,
                        hint=f"{gave_up} {error.hint}".strip(),
                    )
                    await self._fail(final)
                    return
                delay = self._retry.delay(failures, self._rng)
                self.phase = Phase.RECONNECTING
                logger.warning(f"{error}; reconnecting in {delay:.2f}s (attempt {failures})")
                await self._on_event(Disconnected(error, delay))
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a bad first message, a bug: report, not die
                if self.phase is Phase.CLOSED:
                    return
                await self._fail(error)
                return

    async def _fail(self, error: Exception) -> None:
        self.phase = Phase.FAILED
        self._ready.clear()
        await self._on_event(Failed(error))

    async def _connect_and_serve(self) -> None:
        self._had_traffic = False
        if self.phase is not Phase.ROTATING:
            self.phase = Phase.CONNECTING
        started = time.monotonic()
        # A plan to switch applies to the connection it was made for; this one is built from
        # the current settings and handle, so any earlier plan is moot.
        self._clear_switch_plan()
        handle = self.conversation.handle
        headers = self._headers if isinstance(self._headers, dict) else await self._headers()
        connection = await Connection.open(
            self._url,
            headers,
            open_timeout=self._open_timeout,
            ping_interval=self._ping[0],
            ping_timeout=self._ping[1],
            recorder=self._recorder,
            ssl_context=self._ssl,
        )
        try:
            first = await connection.set_up(self._build_setup(handle), self._open_timeout)
            connect_seconds = time.monotonic() - started
            self._plan.measured(connect_seconds)
            self._connection = connection
            self.connections += 1
            self.connection_stats.append(ConnectionStats(self.connections, handle is not None))
            self.conversation.replying = False
            void = self.tools.void_pending() if handle is None else []
            if void:
                self._buffer.drop_answers_to(set(void))
                logger.warning(
                    f"Gemini Live: the conversation could not be resumed; tool calls {void} "
                    "were lost with it and are cancelled"
                )
            await self._flush_buffer(connection)
            self.phase = Phase.READY
            self._ready.set()
            await self._on_event(Connected(handle is not None, self.connections, connect_seconds))
            if void:
                await self._on_event(ToolCallCancellation(tuple(void)))
            for event in first:
                await self._dispatch(event)
            await self._serve(connection)
        except WebSocketClosed as closed:
            raise Connection.closed_error(closed) from None
        finally:
            self._ready.clear()
            if self._connection is connection:
                self._connection = None
            await connection.close()

    async def _flush_buffer(self, connection: Connection) -> None:
        while self._buffer:
            message = self._buffer.first()
            await connection.send(message)  # raises on close: the message stays buffered
            self._buffer.pop_first()
            self._count_sent(message)

    def _count_sent(self, message: ClientMessage) -> None:
        stats = self.connection_stats[-1]
        stats.messages_sent += 1
        if message.is_audio:
            stats.audio_messages_sent += 1
        stats.tool_response_ids.extend(message.call_ids)

    async def _serve(self, connection: Connection) -> None:
        """Hand over this connection's messages until it closes (raises) or a switch is due.

        The switch happens between messages, never while one is being handed to the callback
        (cancelling that could cut a frame push in half). While this waits for a message, a
        switch that falls due cancels the wait (receiving is safe to cancel). One plain
        ``await`` per message, no task per message: this loop runs for every audio chunk.
        """
        task = asyncio.current_task()
        while not self._switch_due:
            self._waiting_task = task
            try:
                events = await connection.receive()  # raises when the connection closed
            except asyncio.CancelledError:
                if not self._cancelled_for_switch(task):
                    raise
                break
            finally:
                self._waiting_task = None
            self._had_traffic = True
            for event in events:
                await self._dispatch(event)
        await self._begin_switch()

    async def _dispatch(self, event: ServerEvent) -> None:
        """Hand one event on. Tool calls go through the ledger first: a repeated delivery is
        dropped, a call without an id gets one, and a cancellation names the calls it ends."""
        if isinstance(event, ToolCall):
            fresh = self.tools.receive(event.calls)
            if len(fresh) < len(event.calls):
                logger.debug("Gemini Live: ignoring a repeated delivery of a tool call")
            if not fresh:
                return
            event = ToolCall(tuple(FunctionCall(c.id, c.name, c.args) for c in fresh))
        elif isinstance(event, ToolCallCancellation):
            ended = self.tools.cancelled_by_server(event.ids)
            if not ended:
                return
            event = ToolCallCancellation(tuple(ended))
        self.conversation.observe(event)
        if isinstance(event, GoAway):
            self._plan_switch(event.time_left)
        await self._on_event(event)
        self._maybe_switch_now()

    # ---------------------------------------------------------------- switching connection

    def _plan_switch(self, time_left: float) -> None:
        due_in = self._plan.plan(time_left)
        logger.info(f"Gemini Live: switching connection at a safe point within {due_in:.1f}s")
        loop = asyncio.get_running_loop()
        if self._switch_timer is not None:
            self._switch_timer.cancel()
        self._switch_timer = loop.call_at(loop.time() + due_in, self._switch_now)

    def _maybe_switch_now(self) -> None:
        if self._plan.planned and self.conversation.at_safe_point:
            self._switch_now()

    def _switch_now(self) -> None:
        """A switch is due: at once if the serve loop is waiting, else after this message."""
        self._switch_due = True
        task, self._waiting_task = self._waiting_task, None
        if task is not None and not task.done():
            self._switch_cancel_sent = True
            task.cancel()

    def _cancelled_for_switch(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether a cancellation of the serve loop was only ours (not ``close()`` too)."""
        if not self._switch_cancel_sent or self.phase is Phase.CLOSED:
            return False
        self._switch_cancel_sent = False
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: counts cancellations
        return uncancel is None or uncancel() == 0

    def _clear_switch_plan(self) -> None:
        self._switch_due = False
        self._plan.clear()
        if self._switch_timer is not None:
            self._switch_timer.cancel()
            self._switch_timer = None

    async def _begin_switch(self) -> None:
        """Leave this connection for a new one of the same conversation (resumption handle);
        the caller closes the socket cleanly, so everything written to it is read."""
        cut_short = self.conversation.replying or bool(self.tools.pending)
        self._clear_switch_plan()
        self.phase = Phase.ROTATING
        self._ready.clear()
        self._connection = None
        self.rotations += 1
        self.connection_stats[-1].ended_by = "rotation (cut short)" if cut_short else "rotation"
        logger.info("Gemini Live: switching to a new connection of the same conversation")
        if cut_short:
            # The deadline forced the switch mid-reply or with a call pending: the reply is
            # lost with the old connection, so its turn state must be closed.
            closed = ConnectionClosed(
                1000,
                "switched connection before the reply finished (goAway deadline)",
                retryable=True,
            )
            await self._on_event(Disconnected(closed, 0.0))

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a callback without waiting for it, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
