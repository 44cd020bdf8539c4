"""The one owner of the Live API socket.

:class:`LiveSession` connects, sends ``setup``, runs the receive loop, and keeps the
conversation alive across connections: it rotates to a new connection on ``goAway`` at a safe
point (not mid-reply, not while a tool call is pending, unless the deadline forces it), resumes
with the latest handle after a drop, backs off between attempts, and buffers input while no
connection is ready, replaying it in order afterwards. The close-code policy lives here too.

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
  and their responses are dropped, not sent to a session that never asked.
- Events of a connection are handed over before the next connection's ``Connected``; nothing
  of an old connection arrives after it. What the server writes to the old connection after
  the switch is decided is not read (the old socket is closed, not drained): a planned switch
  waits for a quiet moment so that there is nothing. A switch that has to cut a reply or a
  pending call short (the goAway deadline) is reported as ``Disconnected`` so turn state can
  be closed.

It knows nothing of Pipecat: it takes typed client messages (:mod:`.outgoing`), encodes each
once as it goes out, and hands parsed events to a callback, so it is tested against the
emulator directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import websockets
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as WebSocketClosed
from websockets.exceptions import InvalidStatus

from pipecat_gemini_live import protocol
from pipecat_gemini_live.errors import ConnectionClosed, ProtocolError
from pipecat_gemini_live.events import (
    AudioChunk,
    GenerationComplete,
    GoAway,
    Interrupted,
    ModelText,
    OutputTranscript,
    ResumptionUpdate,
    ServerEvent,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    TurnComplete,
)
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.recording import RecordingWriter


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


# A sound the server answered with no turn within this long was not a turn (a cough, a door).
UNANSWERED_SPEECH_SECONDS = 3.0


@dataclass
class ConversationState:
    """What the session must know about the conversation to pick a safe moment to rotate."""

    replying: bool = False
    pending_tool_calls: set[str] = field(default_factory=set)
    handle: str | None = None
    resumable: bool = False
    handle_is_current: bool = False  # no turn has happened since the handle was issued
    uses_resumption: bool = True
    handle_at: float = 0.0  # monotonic time the latest handle arrived
    voiced_at: float = 0.0  # monotonic time the client last sent audio with speech in it

    @property
    def user_turn_open(self) -> bool:
        """The user spoke after the latest handle and the server has not answered yet: the
        handle does not cover those words, and the server may be about to reply to them."""
        return (
            self.voiced_at > self.handle_at
            and time.monotonic() - self.voiced_at < UNANSWERED_SPEECH_SECONDS
        )

    @property
    def at_safe_point(self) -> bool:
        """Between replies, no tool call pending, the user not mid-turn, and (when resuming)
        holding a handle that covers everything said so far: a switch now loses nothing."""
        fresh = self.handle_is_current or not self.uses_resumption
        return (
            not self.replying and not self.pending_tool_calls and fresh and not self.user_turn_open
        )

    def observe(self, event: ServerEvent) -> None:
        if isinstance(event, (AudioChunk, ModelText, OutputTranscript)):
            self.replying = True
            self.handle_is_current = False
        elif isinstance(event, (TurnComplete, Interrupted, GenerationComplete)):
            self.replying = False
            self.handle_is_current = False
        elif isinstance(event, ToolCall):
            self.pending_tool_calls.update(call.id for call in event.calls if call.id)
            self.handle_is_current = False
        elif isinstance(event, ToolCallCancellation):
            self.pending_tool_calls.difference_update(event.ids)
        elif isinstance(event, ResumptionUpdate):
            self.resumable = event.resumable
            if event.resumable and event.handle:
                self.handle = event.handle
                self.handle_is_current = True
                self.handle_at = time.monotonic()


# Close codes that a retry cannot fix: the same request would be refused again.
_FATAL_CODES = {1007: "The request was invalid; check the settings named in the reason."}
_POLICY_HINTS = (
    ("not found for api version", "The model is not available for this API version or key."),
    ("session not found", "The resumption handle expired or belongs to another session."),
    ("not implemented", "This model or API version does not support a feature in the setup."),
)


# Worded without "key: ..." or "key=...": Pipecat redacts anything that looks like a credential.
_KEY_HINT = "Check the API key you passed as api_key, or set GOOGLE_API_KEY (or GEMINI_API_KEY)."


def classify_close(code: int, reason: str) -> ConnectionClosed:
    """Turn a close code into an error that says whether to retry and what it likely means."""
    if code in _FATAL_CODES:
        hint = _KEY_HINT if "api key" in reason.lower() else _FATAL_CODES[code]
        return ConnectionClosed(code, reason, retryable=False, hint=hint)
    if code == 1008:
        hint = next((h for key, h in _POLICY_HINTS if key in reason.lower()), "")
        # A lost handle is recoverable: start a fresh session and re-seed it.
        retryable = "session not found" in reason.lower()
        return ConnectionClosed(
            code,
            reason,
            retryable=retryable,
            hint=hint or "Policy violation: check the model id, API version and key.",
        )
    if code == 1011 and "used too many times" in reason.lower():
        # An ephemeral token's uses are spent: retrying only spends the retry budget.
        return ConnectionClosed(
            code,
            reason,
            retryable=False,
            hint="The ephemeral token has no uses left: create one with more uses "
            "(create_ephemeral_token(uses=...)) or a new one for this call.",
        )
    return ConnectionClosed(code, reason, retryable=True)


class LiveSession:
    """Owns the WebSocket; see the module docstring for what it guarantees."""

    def __init__(
        self,
        *,
        url: str,
        headers: dict[str, str] | Callable[[], Awaitable[dict[str, str]]],
        build_setup: Callable[[str | None], ClientMessage],
        on_event: Callable[[ServerEvent | SessionEvent], Coroutine[Any, Any, None]],
        retry: RetryPolicy | None = None,
        max_buffered_bytes: int = 4 * 1024 * 1024,
        open_timeout: float = 10.0,
        go_away_margin: float = 5.0,
        seed: int | None = None,
        ping_interval: float | None = 30.0,
        ping_timeout: float | None = 60.0,
        recorder: RecordingWriter | None = None,
    ) -> None:
        self._url = url
        self._headers = headers
        self._build_setup = build_setup
        self._on_event = on_event
        self._retry = retry or RetryPolicy()
        self._max_buffered_bytes = max_buffered_bytes
        self._open_timeout = open_timeout
        self._go_away_margin = go_away_margin
        self._rng = random.Random(seed)
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._recorder = recorder

        self.phase = Phase.IDLE
        self.conversation = ConversationState()
        self.connections = 0
        self.dropped_audio_bytes = 0
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._buffer: deque[ClientMessage] = deque()
        self._buffered_bytes = 0
        self._run_task: asyncio.Task[None] | None = None
        self._switch_due = False
        self._waiting_task: asyncio.Task[Any] | None = None  # the serve loop, while in recv
        self._switch_cancel_sent = False
        self._rotate_deadline: float | None = None
        self._rotate_timer: asyncio.TimerHandle | None = None
        self._had_traffic = False
        self._void_calls: set[str] = set()  # calls of a conversation that could not be resumed
        self.rotations = 0  # planned switches to a new connection
        self.reconnects = 0  # unplanned ones, after a drop
        self.connection_stats: list[ConnectionStats] = []

    # ---------------------------------------------------------------- public

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
        if self._void_calls and message.call_ids:
            kept = message.without_calls(self._void_calls)
            if kept is not message:
                dropped = sorted(self._void_calls.intersection(message.call_ids))
                logger.warning(f"Gemini Live: not sending responses to lost tool calls {dropped}")
            if kept is None:
                return
            message = kept
        ws = self._ws
        if self.phase is Phase.READY and ws is not None and not self._buffer:
            try:
                await self._write(ws, message)
            except WebSocketClosed:
                pass  # the serve loop sees the close and reconnects; keep the message
            else:
                self._count_sent(message)
                return
        if self.phase in (Phase.CLOSED, Phase.FAILED):
            return
        self._buffer_message(message)

    def request_rotation(self, within: float = 30.0) -> None:
        """Move to a new connection of the same conversation at the next safe point (or after
        ``within`` seconds at the latest), e.g. so that changed settings take effect."""
        if self._run_task is None:
            return
        self._plan_rotation(within + min(self._go_away_margin, within / 2))
        self._maybe_rotate_now()

    def note_user_speech(self) -> None:
        """The audio just sent has speech in it: a switch waits until the server has answered
        it (or plainly ignored it), so a turn is never split across connections."""
        self.conversation.voiced_at = time.monotonic()

    def sent_tool_response(self, call_ids: list[str]) -> None:
        """Tell the rotation logic these calls are answered."""
        self.conversation.pending_tool_calls.difference_update(call_ids)
        self._maybe_rotate_now()

    async def close(self) -> None:
        """Close for good (idempotent)."""
        if self._recorder is not None:
            self._recorder.close()
        self.phase = Phase.CLOSED
        self._ready.clear()
        task, self._run_task = self._run_task, None
        ws, self._ws = self._ws, None
        if ws is not None:
            await _quiet_close(ws)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---------------------------------------------------------------- buffering

    def _buffer_message(self, message: ClientMessage) -> None:
        self._buffer.append(message)
        self._buffered_bytes += message.size
        dropped = 0
        while self._buffered_bytes > self._max_buffered_bytes:
            index = next((i for i, m in enumerate(self._buffer) if m.is_audio), None)
            if index is None:
                break  # never drop text, tool results or control messages
            old = self._buffer[index]
            del self._buffer[index]
            self._buffered_bytes -= old.size
            dropped += old.size
        if dropped:
            self.dropped_audio_bytes += dropped
            logger.warning(
                f"Gemini Live: still not connected; input buffer is full "
                f"({self._max_buffered_bytes} bytes), discarded the oldest "
                f"{dropped} bytes of encoded audio"
            )
            asyncio.get_running_loop().create_task(self._on_event(InputOverflow(dropped)))

    async def _flush_buffer(self, ws: ClientConnection) -> None:
        while self._buffer:
            message = self._buffer[0]
            await self._write(ws, message)  # raises on close: the message stays buffered
            self._buffer.popleft()
            self._buffered_bytes -= message.size
            self._count_sent(message)

    def _count_sent(self, message: ClientMessage) -> None:
        stats = self.connection_stats[-1]
        stats.messages_sent += 1
        if message.is_audio:
            stats.audio_messages_sent += 1
        stats.tool_response_ids.extend(i for i in message.call_ids if i)

    # ---------------------------------------------------------------- tool calls across sessions

    def _void_pending_calls(self) -> list[str]:
        """A new session replaced the conversation: its pending calls can never be answered.
        Drop their buffered responses; the caller reports them cancelled."""
        void = sorted(self.conversation.pending_tool_calls)
        self.conversation.pending_tool_calls.clear()
        if not void:
            return []
        self._void_calls.update(void)
        kept: deque[ClientMessage] = deque()
        for message in self._buffer:
            remaining = message.without_calls(self._void_calls)
            if remaining is not None:
                kept.append(remaining)
        self._buffer = kept
        self._buffered_bytes = sum(message.size for message in kept)
        logger.warning(
            f"Gemini Live: the conversation could not be resumed; tool calls {void} were lost "
            "with it and are cancelled"
        )
        return void

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
                    await self._fail(
                        ConnectionClosed(
                            error.code,
                            error.reason,
                            retryable=False,
                            hint=f"{gave_up} {error.hint}".strip(),
                        )
                    )
                    return
                delay = self._retry.delay(failures, self._rng)
                self.phase = Phase.RECONNECTING
                logger.warning(f"{error}; reconnecting in {delay:.2f}s (attempt {failures})")
                await self._on_event(Disconnected(error, delay))
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # handshake failures, bad messages: report, not die
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
        self._clear_rotation_plan()
        handle = self.conversation.handle
        ws = await self._open()
        try:
            await self._write(ws, self._build_setup(handle))
            first = await self._receive_setup(ws)
            self._ws = ws
            self.connections += 1
            self.connection_stats.append(ConnectionStats(self.connections, handle is not None))
            self.conversation.replying = False
            void = self._void_pending_calls() if handle is None else []
            await self._flush_buffer(ws)
            self.phase = Phase.READY
            self._ready.set()
            await self._on_event(
                Connected(
                    resumed=handle is not None,
                    connection_number=self.connections,
                    connect_seconds=time.monotonic() - started,
                )
            )
            if void:
                await self._on_event(ToolCallCancellation(tuple(void)))
            for event in first:
                await self._dispatch(event)
            await self._serve(ws)
        except WebSocketClosed as closed:
            raise self._closed_error(closed) from None
        finally:
            self._ready.clear()
            if self._ws is ws:
                self._ws = None
            await _quiet_close(ws)

    async def _open(self) -> ClientConnection:
        try:
            headers = self._headers if isinstance(self._headers, dict) else await self._headers()
            ws = await connect(
                self._url,
                additional_headers=headers,
                open_timeout=self._open_timeout,
                max_size=None,
                compression=None,
                # A connection whose path silently died (no FIN, no RST) is only noticed by
                # keepalive. Gemini's pongs can take 8-30 s, so the timeout is generous: a 20 s
                # one kills live connections, and none at all lets a dead one hang the call.
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                proxy=None,
                user_agent_header="pipecat-gemini-live",
            )
        except InvalidStatus as error:
            status = error.response.status_code
            raise ConnectionClosed(
                1008 if status in (401, 403, 404) else 1011,
                f"HTTP {status} at the WebSocket upgrade",
                retryable=status >= 500,
                hint="Check the API key, the base_url and the API version." if status < 500 else "",
            ) from None
        except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as error:
            raise ConnectionClosed(
                1006,
                f"could not connect to {self._safe_url()}: {error}",
                retryable=True,
                hint="Check base_url, and that this machine can reach it.",
            ) from None
        if self._recorder is not None:
            self._recorder.connection_opened()
        return ws

    async def _receive_setup(self, ws: ClientConnection) -> list[ServerEvent]:
        raw = await asyncio.wait_for(ws.recv(), self._open_timeout)
        if self._recorder is not None:
            self._recorder.received(raw)
        events = protocol.parse_server_message(raw)
        if not events or not isinstance(events[0], SetupComplete):
            raise ProtocolError(f"Expected setupComplete as the first message, got {events!r}")
        return events[1:]

    async def _serve(self, ws: ClientConnection) -> None:
        """Hand over this connection's messages until it closes (raises) or a switch is due.

        The switch happens between messages, never while one is being handed to the callback
        (cancelling that could cut a frame push in half). While this waits for a message, a
        switch that falls due cancels the wait: ``recv`` is safe to cancel (a message it had
        not returned stays unread). One plain ``await`` per message, no task per message:
        this loop runs for every audio chunk of every reply.
        """
        task = asyncio.current_task()
        while not self._switch_due:
            self._waiting_task = task
            try:
                raw = await ws.recv()  # raises when the connection closed
                if self._recorder is not None:
                    self._recorder.received(raw)
            except asyncio.CancelledError:
                if not self._cancelled_for_switch(task):
                    raise
                break
            finally:
                self._waiting_task = None
            self._had_traffic = True
            try:
                events = protocol.parse_server_message(raw)
            except ProtocolError as error:
                logger.error(f"Gemini Live: {error}")
                continue
            for event in events:
                await self._dispatch(event)
        await self._begin_rotation()

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

    async def _begin_rotation(self) -> None:
        """Leave this connection for a new one of the same conversation (resumption handle);
        the caller closes the socket cleanly, so everything written to it is read."""
        cut_short = self.conversation.replying or bool(self.conversation.pending_tool_calls)
        self._clear_rotation_plan()
        self.phase = Phase.ROTATING
        self._ready.clear()
        self._ws = None
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

    async def _dispatch(self, event: ServerEvent) -> None:
        self.conversation.observe(event)
        if isinstance(event, GoAway):
            self._plan_rotation(event.time_left)
        await self._on_event(event)
        self._maybe_rotate_now()

    # ---------------------------------------------------------------- goAway

    def _plan_rotation(self, time_left: float) -> None:
        margin = min(self._go_away_margin, time_left / 2)
        self._rotate_deadline = time.monotonic() + max(0.0, time_left - margin)
        logger.info(f"Gemini Live: switching connection at a safe point within {time_left:.1f}s")
        loop = asyncio.get_running_loop()
        if self._rotate_timer is not None:
            self._rotate_timer.cancel()
        self._rotate_timer = loop.call_at(
            loop.time() + max(0.0, time_left - margin), self._switch_now
        )

    def _maybe_rotate_now(self) -> None:
        if self._rotate_deadline is not None and self.conversation.at_safe_point:
            self._switch_now()

    def _clear_rotation_plan(self) -> None:
        self._switch_due = False
        self._rotate_deadline = None
        if self._rotate_timer is not None:
            self._rotate_timer.cancel()
            self._rotate_timer = None

    # ---------------------------------------------------------------- helpers

    async def _write(self, ws: ClientConnection, message: ClientMessage) -> None:
        text = message.encode()  # the one place a message becomes text
        await ws.send(text)
        if self._recorder is not None:
            self._recorder.sent(text)

    def _closed_error(self, closed: WebSocketClosed) -> ConnectionClosed:
        if closed.rcvd is None:  # no close frame from the server: the connection just died
            return classify_close(1006, "connection lost without a close frame")
        return classify_close(closed.rcvd.code, closed.rcvd.reason)

    def _safe_url(self) -> str:
        return self._url.split("?", 1)[0]


async def _quiet_close(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(), 2.0)
