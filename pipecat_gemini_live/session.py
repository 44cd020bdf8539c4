"""The one owner of the Live API socket.

:class:`LiveSession` connects, sends ``setup``, runs the receive loop, and keeps the
conversation alive across connections: it rotates to a new connection on ``goAway`` at a safe
point (not mid-reply, not while a tool call is pending, unless the deadline forces it), resumes
with the latest handle after a drop, backs off between attempts, and buffers input while no
connection is ready, replaying it in order afterwards. The close-code policy lives here too.

It knows nothing of Pipecat: it takes encoded client messages and hands parsed events to a
callback, so it is tested against the emulator directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
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
    """A connection ended unexpectedly; a reconnect follows unless ``Failed`` does."""

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
class RetryPolicy:
    """Capped exponential backoff with jitter; ``max_attempts`` consecutive failures end it."""

    max_attempts: int = 6
    initial_delay: float = 0.25
    max_delay: float = 8.0
    jitter: float = 0.25

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_delay, self.initial_delay * (2 ** max(0, attempt - 1)))
        return base * (1 + self.jitter * (2 * rng.random() - 1))


@dataclass
class ConversationState:
    """What the session must know about the conversation to pick a safe moment to rotate."""

    replying: bool = False
    pending_tool_calls: set[str] = field(default_factory=set)
    handle: str | None = None
    resumable: bool = False
    handle_is_current: bool = False  # no turn has happened since the handle was issued
    uses_resumption: bool = True

    @property
    def at_safe_point(self) -> bool:
        """Between replies, no tool call pending, and (when resuming) holding a handle that
        covers everything said so far: a switch now loses and cuts off nothing."""
        fresh = self.handle_is_current or not self.uses_resumption
        return not self.replying and not self.pending_tool_calls and fresh

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


# Close codes that a retry cannot fix: the same request would be refused again.
_FATAL_CODES = {1007: "The request was invalid; check the settings named in the reason."}
_POLICY_HINTS = (
    ("not found for api version", "The model is not available for this API version or key."),
    ("session not found", "The resumption handle expired or belongs to another session."),
    ("not implemented", "This model or API version does not support a feature in the setup."),
)


def classify_close(code: int, reason: str) -> ConnectionClosed:
    """Turn a close code into an error that says whether to retry and what it likely means."""
    if code in _FATAL_CODES:
        return ConnectionClosed(code, reason, retryable=False, hint=_FATAL_CODES[code])
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
    return ConnectionClosed(code, reason, retryable=True)


class LiveSession:
    """Owns the WebSocket; see the module docstring for what it guarantees."""

    def __init__(
        self,
        *,
        url: str,
        headers: dict[str, str],
        build_setup: Callable[[str | None], dict[str, Any]],
        on_event: Callable[[ServerEvent | SessionEvent], Coroutine[Any, Any, None]],
        retry: RetryPolicy | None = None,
        max_buffered_bytes: int = 4 * 1024 * 1024,
        open_timeout: float = 10.0,
        go_away_margin: float = 5.0,
        seed: int | None = None,
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

        self.phase = Phase.IDLE
        self.conversation = ConversationState()
        self.connections = 0
        self.dropped_audio_bytes = 0
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._buffer: deque[tuple[str, bool]] = deque()  # (message, is_audio)
        self._buffered_bytes = 0
        self._run_task: asyncio.Task[None] | None = None
        self._rotate_requested = asyncio.Event()
        self._rotate_deadline: float | None = None
        self._rotate_timer: asyncio.TimerHandle | None = None
        self._had_traffic = False

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

    async def send(self, message: str, *, audio: bool = False) -> None:
        """Send now if connected, else keep it (in order) for the next connection."""
        ws = self._ws
        if self.phase is Phase.READY and ws is not None and not self._buffer:
            try:
                await ws.send(message)
                return
            except WebSocketClosed:
                pass  # the receive loop sees the close and reconnects; keep the message
        if self.phase in (Phase.CLOSED, Phase.FAILED):
            return
        self._buffer_message(message, audio)

    def request_rotation(self, within: float = 30.0) -> None:
        """Move to a new connection of the same conversation at the next safe point (or after
        ``within`` seconds at the latest), e.g. so that changed settings take effect."""
        if self._run_task is None:
            return
        self._plan_rotation(within + min(self._go_away_margin, within / 2))
        self._maybe_rotate_now()

    def sent_tool_response(self, call_ids: list[str]) -> None:
        """Tell the rotation logic these calls are answered."""
        self.conversation.pending_tool_calls.difference_update(call_ids)
        self._maybe_rotate_now()

    async def close(self) -> None:
        """Close for good (idempotent)."""
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

    def _buffer_message(self, message: str, audio: bool) -> None:
        self._buffer.append((message, audio))
        self._buffered_bytes += len(message)
        dropped = 0
        while self._buffered_bytes > self._max_buffered_bytes:
            index = next((i for i, (_, is_audio) in enumerate(self._buffer) if is_audio), None)
            if index is None:
                break  # never drop text, tool results or control messages
            old, _ = self._buffer[index]
            del self._buffer[index]
            self._buffered_bytes -= len(old)
            dropped += len(old)
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
            message, _ = self._buffer[0]
            await ws.send(message)  # raises on close: the message stays buffered
            self._buffer.popleft()
            self._buffered_bytes -= len(message)

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
                if "session not found" in error.reason.lower():
                    self.conversation.handle = None
                failures = failures + 1 if not self._had_traffic else 1
                if not error.retryable or failures > self._retry.max_attempts:
                    await self._fail(error)
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
        handle = self.conversation.handle
        ws = await self._open()
        try:
            await ws.send(protocol.encode(self._build_setup(handle)))
            first = await self._receive_setup(ws)
            self._ws = ws
            self.connections += 1
            self.conversation.replying = False
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
            return await connect(
                self._url,
                additional_headers=self._headers,
                open_timeout=self._open_timeout,
                max_size=None,
                compression=None,
                # Gemini's pongs can take 8-30 s; a 20 s ping timeout kills live connections.
                ping_interval=30,
                ping_timeout=None,
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
                1006, f"could not connect to {self._safe_url()}: {error}", retryable=True
            ) from None

    async def _receive_setup(self, ws: ClientConnection) -> list[ServerEvent]:
        raw = await asyncio.wait_for(ws.recv(), self._open_timeout)
        events = protocol.parse_server_message(raw)
        if not events or not isinstance(events[0], SetupComplete):
            raise ProtocolError(f"Expected setupComplete as the first message, got {events!r}")
        return events[1:]

    async def _serve(self, ws: ClientConnection) -> None:
        receiver = asyncio.ensure_future(self._receive_loop(ws))
        rotator = asyncio.ensure_future(self._rotate_requested.wait())
        try:
            done, _ = await asyncio.wait({receiver, rotator}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                receiver.result()  # raises the close
                return
            # A planned rotation: stop reading this socket, close it, then resume elsewhere.
            self._rotate_requested.clear()
            self._rotate_deadline = None
            if self._rotate_timer is not None:
                self._rotate_timer.cancel()
                self._rotate_timer = None
            self.phase = Phase.ROTATING
            self._ready.clear()
            self._ws = None
            receiver.cancel()
            logger.info("Gemini Live: rotating to a new connection (goAway)")
        finally:
            rotator.cancel()
            if not receiver.done():
                receiver.cancel()

    async def _receive_loop(self, ws: ClientConnection) -> None:
        async for raw in ws:
            self._had_traffic = True
            try:
                events = protocol.parse_server_message(raw)
            except ProtocolError as error:
                logger.error(f"Gemini Live: {error}")
                continue
            for event in events:
                await self._dispatch(event)
        raise WebSocketClosed(ws.protocol.close_rcvd, ws.protocol.close_sent)

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
            loop.time() + max(0.0, time_left - margin), self._rotate_requested.set
        )

    def _maybe_rotate_now(self) -> None:
        if self._rotate_deadline is not None and self.conversation.at_safe_point:
            self._rotate_requested.set()

    # ---------------------------------------------------------------- helpers

    def _closed_error(self, closed: WebSocketClosed) -> ConnectionClosed:
        if closed.rcvd is None:  # no close frame from the server: the connection just died
            return classify_close(1006, "connection lost without a close frame")
        return classify_close(closed.rcvd.code, closed.rcvd.reason)

    def _safe_url(self) -> str:
        return self._url.split("?", 1)[0]


async def _quiet_close(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(), 2.0)
