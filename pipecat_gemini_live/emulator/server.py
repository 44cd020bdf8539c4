"""LiveEmulator: a local server that speaks the Gemini Live (BidiGenerateContent) wire protocol.

Choices where Google's behaviour is not documented (each mirrors what users report):
- a wrong or missing key: the upgrade is accepted and the socket closed with 1007
  "API key not valid. Please pass a valid API key." (the text Google's REST API uses for an
  INVALID_ARGUMENT key error, which the Live endpoint reports as 1007);
- a first message that is not ``setup``: 1007 "Request contains an invalid argument.";
- a resume while the session's previous connection is still open: the new connection is
  closed with 1011 (users report such resumes are refused; clients must close first);
- the end of a connection's lifetime: ``goAway`` ``go_away_lead`` seconds before, then a close
  with 1000 "The operation was cancelled." (the close Pipecat users saw at the ~10 min cap);
- a connection that ends while the model waits for tool responses: the calls stay pending, and a
  response sent on the resumed connection lets the reply continue there (the session is the
  unit that asked, not the socket). Any other reply in progress is dropped with its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
import ipaddress
import itertools
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.behaviour import (
    OUTPUT_RATE,
    DefaultResponder,
    EnergyVad,
    Reply,
    Responder,
    Speech,
    TurnAudio,
    UserTurn,
    VadSettings,
    placeholder_transcript,
    synthesize,
)
from pipecat_gemini_live.emulator.tokens import EphemeralTokens, RestServer
from pipecat_gemini_live.emulator.wire import ClientError

AUDIO_TOKENS_PER_SECOND = 25
BURST = 8  # chunks per burst in "bursty" output mode
_VALID_SENSITIVITY = {
    "start_of_speech_sensitivity": {
        "START_SENSITIVITY_UNSPECIFIED",
        "START_SENSITIVITY_HIGH",
        "START_SENSITIVITY_LOW",
    },
    "end_of_speech_sensitivity": {
        "END_SENSITIVITY_UNSPECIFIED",
        "END_SENSITIVITY_HIGH",
        "END_SENSITIVITY_LOW",
    },
}


@dataclass
class ConnectionRecord:
    """One WebSocket connection of a logical session: what crossed it, and how it ended.

    ``ended_by`` is "client" (the client closed or went away), "close <code>", "reset",
    "go_away deadline" or "lifetime". ``output_audio`` keeps the reply audio sent on it (only
    when the emulator records), so tests can check what reached the client and in what order.
    """

    number: int
    audio_bytes_received: int = 0
    audio_bytes_sent: int = 0
    output_audio: bytearray = field(default_factory=bytearray, repr=False)
    turns_completed: int = 0
    ended_by: str = ""


@dataclass
class EmulatedSession:
    """One logical Live session (it survives reconnects by resumption). Read it in tests."""

    id: str
    setup: dict[str, Any]
    model: str
    connections: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes_received: int = 0
    audio_seconds_received: float = 0.0
    audio_chunks: list[tuple[int, int]] = field(default_factory=list)
    audio_mime_types: set[str] = field(default_factory=set)
    video_frames_received: int = 0
    video_frame_sizes: list[tuple[int, int]] = field(default_factory=list)  # (w, h) per image
    texts_received: list[str] = field(default_factory=list)
    tool_responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    context_updates: list[dict[str, Any]] = field(default_factory=list)
    client_content: list[dict[str, Any]] = field(default_factory=list)
    activity_events: list[str] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    interruptions: int = 0
    handles_issued: list[str] = field(default_factory=list)
    closed_codes: list[int] = field(default_factory=list)
    tool_calls_sent: list[dict[str, Any]] = field(default_factory=list)
    connection_log: list[ConnectionRecord] = field(default_factory=list)
    # Async (NON_BLOCKING) calls still open, and what happened to each result that came in:
    # {"id", "name", "scheduling", "will_continue", "spoken", "interrupted_reply"}.
    async_calls: dict[str, str] = field(default_factory=dict)
    async_results: list[dict[str, Any]] = field(default_factory=list)

    # runtime, not for tests
    ws: ServerConnection | None = field(default=None, repr=False)
    vad: EnergyVad | None = field(default=None, repr=False)
    reply_task: asyncio.Task[None] | None = field(default=None, repr=False)
    pending_calls: set[str] = field(default_factory=set, repr=False)
    responses_arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    manual_speech_seconds: float = 0.0
    manual_speaking: bool = False
    stalled_until: float = 0.0
    turn_audio: TurnAudio = field(default_factory=TurnAudio, repr=False)
    _counter: Any = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_id(self, kind: str) -> str:
        return f"{kind}-{self.id}-{next(self._counter)}"

    @property
    def system_instruction(self) -> str:
        parts = (self.setup.get("system_instruction") or {}).get("parts") or []
        return " ".join(p.get("text", "") for p in parts if isinstance(p, dict))

    def non_blocking(self, name: str) -> bool:
        """Declared ``behavior: NON_BLOCKING`` in the current tools."""
        return any(
            function.get("name") == name and function.get("behavior") == "NON_BLOCKING"
            for tool in self.setup.get("tools") or []
            for function in tool.get("function_declarations") or []
        )


def _resume_reading(transport: Any) -> None:
    if not transport.is_closing():
        transport.resume_reading()


class LiveEmulator:
    """A Live API server for tests, demos and offline development. See the module docstring."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        pace: float = 0.0,
        output_chunk_ms: int = 40,
        output_mode: str = "steady",
        connection_lifetime: float | None = None,
        go_away_lead: float = 60.0,
        known_models: set[str] | None = None,
        record: bool = True,
    ) -> None:
        self.api_key = api_key
        self.tls = tls
        self.host = host
        self.port = port
        self.responder: Responder = responder or DefaultResponder()
        self.pace = pace
        self.output_chunk_ms = output_chunk_ms
        self.connection_lifetime = connection_lifetime
        self.go_away_lead = go_away_lead
        self.known_models = known_models
        self.record = record  # False: counters only, so a long soak's memory stays flat
        self.latency = 0.0
        self.refused: list[tuple[int, str]] = []  # connections refused before a session attached
        if output_mode not in ("steady", "bursty"):
            raise ValueError(f"output_mode must be 'steady' or 'bursty', got {output_mode!r}")
        self.output_mode = output_mode
        self.sessions: list[EmulatedSession] = []
        self.cert_path: Path | None = None
        self._handles: dict[str, EmulatedSession] = {}
        self._server: Server | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._session_ids = itertools.count(1)
        self.tokens = EphemeralTokens()
        self.rest = RestServer(self.tokens, lambda: self.api_key)
        self._timers: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> LiveEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        ssl_context = self._make_tls() if self.tls else None
        self._server = await serve(
            self._serve_connection,
            self.host,
            self.port,
            ssl=ssl_context,
            process_request=self._check_request,
            max_size=None,
            compression=None,
            ping_interval=None,
        )
        socket = next(iter(self._server.sockets))
        self.port = socket.getsockname()[1]
        await self.rest.start(self.host, ssl_context)

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        for session in self.sessions:
            if session.reply_task is not None:
                session.reply_task.cancel()
        await self.rest.stop()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3)
            self._server = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    @property
    def base_url(self) -> str:
        """``ws://host:port``, or ``https://host:port`` with TLS (as google-genai takes it)."""
        return f"{'https' if self.tls else 'ws'}://{self.host}:{self.port}"

    @property
    def rest_base_url(self) -> str:
        """The REST side (``POST /v1alpha/auth_tokens``), for ``genai.Client(http_options=
        HttpOptions(base_url=...))`` or :func:`pipecat_gemini_live.create_ephemeral_token`."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.rest.port}"

    def create_ephemeral_token(self, *, uses: int = 1) -> str:
        """Issue a token directly (what the REST endpoint does for a key holder)."""
        return self.tokens.issue(uses=uses)

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.tls else "ws"
        return (
            f"{scheme}://{self.host}:{self.port}/ws/google.ai.generativelanguage.v1beta."
            "GenerativeService.BidiGenerateContent"
        )

    # ------------------------------------------------------------------ test helpers

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the emulator did not reach the expected state in time")
            await asyncio.sleep(0.005)

    async def wait_for_session(self, timeout: float = 5.0, index: int = 0) -> EmulatedSession:
        await self.wait_until(lambda: len(self.sessions) > index, timeout)
        return self.sessions[index]

    # ------------------------------------------------------------------ faults

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
            await self._send(target, wire.encode({"goAway": {"timeLeft": f"{time_left:g}s"}}))
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

    def expire_handles(self, session: EmulatedSession | None = None) -> None:
        """The server forgets the conversation (handles last 2 h after a session ends): a resume
        with any handle issued so far is refused with 1008 "session not found"."""
        for handle, owner in list(self._handles.items()):
            if session is None or owner is session:
                del self._handles[handle]

    async def send_raw(self, data: str | bytes, session: EmulatedSession | None = None) -> None:
        for target in self._targets(session):
            if target.ws is not None:
                await target.ws.send(data)

    # ------------------------------------------------------------------ connection

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if wire.match_path(request.path) is None:
            return connection.respond(404, "Not Found: not a Live API endpoint.\n")
        return None

    async def _serve_connection(self, ws: ServerConnection) -> None:
        session: EmulatedSession | None = None
        lifetime: asyncio.Task[None] | None = None
        record: ConnectionRecord | None = None
        try:
            key = wire.credential(
                ws.request.path if ws.request else "",
                ws.request.headers if ws.request else Headers(),
            )
            first = wire.parse_client_message(await ws.recv())
            if key and key.startswith("auth_tokens/"):
                setup = first.get("setup") or {}
                self.tokens.admit(
                    key,
                    constrained="Constrained" in (ws.request.path if ws.request else ""),
                    resuming=bool((setup.get("session_resumption") or {}).get("handle")),
                )
            elif not key or (self.api_key is not None and key != self.api_key):
                raise ClientError(1007, "API key not valid. Please pass a valid API key.")
            if "setup" not in first:
                raise ClientError(1007, "Request contains an invalid argument.")
            session = self._attach(ws, first["setup"])
            record = session.connection_log[-1]
            await ws.send(wire.encode({"setupComplete": {}}))
            if "session_resumption" in session.setup and session.connections == 1:
                await self._issue_handle(session)
            if self.connection_lifetime is not None:
                lifetime = asyncio.create_task(self._enforce_lifetime(session, ws))
            async for raw in ws:
                await self._wait_if_stalled(session)
                message = wire.parse_client_message(raw)
                if self.record:
                    session.received.append(wire.without_media(message))
                before = session.audio_bytes_received
                await self._handle(session, message)
                record.audio_bytes_received += session.audio_bytes_received - before
        except ClientError as error:
            if session is not None:
                session.closed_codes.append(error.code)
            else:
                self.refused.append((error.code, error.reason))
            if record is not None and not record.ended_by:
                record.ended_by = f"close {error.code}"
            with contextlib.suppress(Exception):
                await ws.close(error.code, error.reason)
        except ConnectionClosed:
            pass
        finally:
            if lifetime is not None:
                lifetime.cancel()
            if record is not None and not record.ended_by:
                record.ended_by = "client"
            if session is not None and session.ws is ws:
                session.ws = None
                # A reply waiting for tool responses waits on: they may come on the resumed
                # connection. Anything else the model was saying is lost with this connection.
                task = session.reply_task
                if task is not None and not session.pending_calls:
                    task.cancel()

    def _attach(self, ws: ServerConnection, setup: dict[str, Any]) -> EmulatedSession:
        self._validate_setup(setup)
        handle = (setup.get("session_resumption") or {}).get("handle")
        if handle:
            session = self._handles.get(handle)
            if session is None:
                raise ClientError(1008, "BidiGenerateContent session not found")
            if session.ws is not None:
                raise ClientError(1011, "The session is still active on another connection.")
            session.setup = {**session.setup, **{k: v for k, v in setup.items() if k != "model"}}
        else:
            model = str(setup["model"]).rsplit("/", 1)[-1]
            session = EmulatedSession(id=str(next(self._session_ids)), setup=setup, model=model)
            self.sessions.append(session)
        session.ws = ws
        session.connections += 1
        session.connection_log.append(ConnectionRecord(session.connections))
        session.vad = EnergyVad(VadSettings.from_setup(session.setup))
        return session

    def _validate_setup(self, setup: dict[str, Any]) -> None:
        model = setup.get("model")
        if not isinstance(model, str) or not model:
            raise ClientError(1007, "Request contains an invalid argument.")
        model_id = model.rsplit("/", 1)[-1]
        if self.known_models is not None and model_id not in self.known_models:
            raise ClientError(
                1008,
                f"models/{model_id} is not found for API version v1beta, or is not supported "
                "for bidiGenerateContent. Call ListModels to see the list of available models "
                "and their supported methods.",
            )
        generation = setup.get("generation_config") or {}
        modalities = generation.get("response_modalities") or ["AUDIO"]
        if len(modalities) != 1 or modalities[0] not in ("AUDIO", "TEXT"):
            raise ClientError(1007, "Request contains an invalid argument.")
        detection = (setup.get("realtime_input_config") or {}).get(
            "automatic_activity_detection"
        ) or {}
        for name, valid in _VALID_SENSITIVITY.items():
            if name in detection and detection[name] not in valid:
                raise ClientError(1007, "Request contains an invalid argument.")

    async def _enforce_lifetime(self, session: EmulatedSession, ws: ServerConnection) -> None:
        assert self.connection_lifetime is not None
        lead = min(self.go_away_lead, self.connection_lifetime)
        await asyncio.sleep(self.connection_lifetime - lead)
        if session.ws is ws:
            await self._send(session, wire.encode({"goAway": {"timeLeft": f"{lead:g}s"}}))
        await self._close_if_current(session, ws, lead, "lifetime")

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

    async def _wait_if_stalled(self, session: EmulatedSession) -> None:
        remaining = session.stalled_until - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _send(self, session: EmulatedSession, data: bytes) -> bool:
        """Send on the session's current connection; False if there is none (or it just
        closed): what the model says while the client is away is lost, as on the real service."""
        if self.latency:
            await asyncio.sleep(self.latency)
        await self._wait_if_stalled(session)
        ws = session.ws
        if ws is None:
            return False
        try:
            await ws.send(data)
        except ConnectionClosed:
            return False
        return True

    # ------------------------------------------------------------------ client messages

    async def _handle(self, session: EmulatedSession, message: dict[str, Any]) -> None:
        if "setup" in message:
            raise ClientError(1007, "Request contains an invalid argument.")
        if (realtime := message.get("realtime_input")) is not None:
            await self._on_realtime_input(session, realtime)
        if (content := message.get("client_content")) is not None:
            session.client_content.append(content)
            if content.get("turn_complete"):
                texts = [
                    part.get("text", "")
                    for turn in content.get("turns") or []
                    if turn.get("role") == "user"
                    for part in turn.get("parts") or []
                ]
                await self._user_turn_ended(
                    session, UserTurn("content", text=" ".join(t for t in texts if t))
                )
        if (response := message.get("tool_response")) is not None:
            for item in response.get("function_responses") or []:
                call_id = str(item.get("id") or "") or self._call_by_name(session, item)
                session.tool_responses.setdefault(call_id, []).append(item)
                session.pending_calls.discard(call_id)
                if call_id in session.async_calls:
                    await self._on_async_result(session, call_id, item)
            if not session.pending_calls:
                session.responses_arrived.set()
        if (update := message.get("context_update")) is not None:
            session.context_updates.append(update)
            if "system_instruction" in update:
                session.setup["system_instruction"] = update["system_instruction"]
            if "tools" in update:
                session.setup["tools"] = (update["tools"] or {}).get("tools", [])

    async def _on_realtime_input(self, session: EmulatedSession, realtime: dict[str, Any]) -> None:
        blobs = []
        if realtime.get("audio"):
            blobs.append(realtime["audio"])
        blobs.extend(realtime.get("media_chunks") or [])
        if realtime.get("video"):
            blobs.append(realtime["video"])
        for blob in blobs:
            mime = str(blob.get("mime_type") or "")
            data = wire.decode_bytes(str(blob.get("data") or ""))
            if mime.startswith("image/"):
                session.video_frames_received += 1
                session.video_frame_sizes.append(_image_size(data))
            else:
                await self._on_audio(session, data, mime)
        if realtime.get("text"):
            session.texts_received.append(realtime["text"])
            await self._user_turn_ended(session, UserTurn("text", text=realtime["text"]))
        if realtime.get("audio_stream_end") and session.vad is not None and session.vad.force_end():
            await self._user_turn_ended(session, UserTurn("speech", session.vad.speech_seconds))
        if realtime.get("activity_start") is not None:
            session.activity_events.append("start")
            session.manual_speaking, session.manual_speech_seconds = True, 0.0
            session.turn_audio.clear()  # the turn's audio starts here, without a pre-roll
            await self._user_started(session)
        if realtime.get("activity_end") is not None:
            session.activity_events.append("end")
            session.manual_speaking = False
            await self._user_turn_ended(session, UserTurn("speech", session.manual_speech_seconds))

    async def _on_audio(self, session: EmulatedSession, pcm: bytes, mime: str) -> None:
        rate = wire.mime_rate(mime)
        session.audio_mime_types.add(mime)
        if self.record:
            session.audio_chunks.append((rate, len(pcm)))
        session.audio_bytes_received += len(pcm)
        session.audio_seconds_received += len(pcm) / 2 / rate
        vad = session.vad
        if vad is None:
            return
        speaking = session.manual_speaking if vad.settings.disabled else vad.speaking
        session.turn_audio.add(pcm, rate, in_turn=speaking)
        if vad.settings.disabled:
            if session.manual_speaking:
                session.manual_speech_seconds += len(pcm) / 2 / rate
            return
        change = vad.feed(pcm, rate)
        if change == "start":
            await self._user_started(session)
        elif change == "end":
            await self._user_turn_ended(session, UserTurn("speech", vad.speech_seconds))

    # ------------------------------------------------------------------ the model

    async def _user_started(self, session: EmulatedSession, *, force: bool = False) -> None:
        """Barge-in: speech during a reply interrupts it (unless configured not to)."""
        handling = (session.setup.get("realtime_input_config") or {}).get("activity_handling")
        task = session.reply_task
        if task is None or task.done() or (handling == "NO_INTERRUPTION" and not force):
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        session.reply_task = None
        session.interruptions += 1
        await self._send(session, wire.server_content(interrupted=True))
        if session.pending_calls:
            ids = sorted(session.pending_calls)
            session.pending_calls.clear()
            await self._send(session, wire.encode({"toolCallCancellation": {"ids": ids}}))
        await self._send(session, wire.server_content(turnComplete=True))

    async def _user_turn_ended(self, session: EmulatedSession, turn: UserTurn) -> None:
        if turn.kind == "speech":  # what was said, for responders that listen to the words
            heard = session.turn_audio
            turn = replace(turn, audio=heard.take(), audio_rate=heard.rate)
        if session.reply_task is not None and not session.reply_task.done():
            if (session.setup.get("realtime_input_config") or {}).get(
                "activity_handling"
            ) == "NO_INTERRUPTION":
                return
            await self._user_started(session)
        reply = self.responder.reply(turn, session.setup)
        if not isinstance(reply, Reply):  # decided asynchronously: starts now, awaited below
            reply = asyncio.ensure_future(reply)
        session.reply_task = asyncio.create_task(self._reply(session, turn, reply))

    async def _reply(
        self, session: EmulatedSession, turn: UserTurn, reply: Reply | Awaitable[Reply]
    ) -> None:
        if not isinstance(reply, Reply):  # barge-in while the responder thinks cancels it
            reply = await reply
        record: dict[str, Any] = {"kind": turn.kind, "reply": reply.text, "audio_bytes_sent": 0}
        session.turns.append(record)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        transcript = reply.input_transcript
        if transcript is None and turn.kind == "speech":
            transcript = placeholder_transcript(turn)
        record["input_transcript"] = transcript
        if transcript and "input_audio_transcription" in session.setup and turn.kind == "speech":
            words = transcript.split(" ")
            for index in range(0, len(words), 3):
                piece = " ".join(words[index : index + 3])
                await self._send(
                    session, wire.server_content(inputTranscription={"text": " " + piece})
                )
        thinking = (session.setup.get("generation_config") or {}).get("thinking_config") or {}
        if reply.thought and thinking.get("include_thoughts"):
            part = {"text": reply.thought, "thought": True}
            await self._send(session, wire.server_content(modelTurn={"parts": [part]}))
        spoken_seconds = await self._speak(session, reply.text, record, speech=reply.audio)
        if reply.grounding is not None:  # Google Search results the answer rests on
            await self._send(session, wire.server_content(groundingMetadata=reply.grounding))
        if reply.tool_calls:
            answered = await self._call_tools(session, reply)
            if not answered:
                await self._finish_turn(session, turn, spoken_seconds, generation_complete=False)
                return
            after = reply.after_tool
            if after is not None and not isinstance(after, Reply):  # built from the results
                calls = session.tool_calls_sent[-len(reply.tool_calls) :]
                made = after([r[-1] for c in calls if (r := session.tool_responses.get(c["id"]))])
                after = made if isinstance(made, Reply) else await made
            if after is not None:
                spoken_seconds += await self._speak(
                    session, after.text, record, continuing=bool(reply.text), speech=after.audio
                )
                record["reply"] = f"{reply.text} {after.text}".strip()
        await self._finish_turn(session, turn, spoken_seconds, generation_complete=True)

    async def _speak(
        self,
        session: EmulatedSession,
        text: str,
        record: dict[str, Any],
        continuing: bool = False,
        speech: Speech | None = None,
    ) -> float:
        """``continuing``: more of a reply already under way (its transcript starts with a
        space, as Google's transcription chunks do). ``speech``: ``text`` in a real voice."""
        if not text:
            return 0.0
        audio, words = speech if speech is not None else synthesize(text)
        chunk = OUTPUT_RATE * 2 * self.output_chunk_ms // 1000
        text_mode = (session.setup.get("generation_config") or {}).get("response_modalities") == [
            "TEXT"
        ]
        if text_mode:
            await self._send(session, wire.server_content(modelTurn={"parts": [{"text": text}]}))
            return 0.0
        transcribe = "output_audio_transcription" in session.setup
        next_word = 0
        lead = " " if continuing else ""
        for offset in range(0, len(audio), chunk):
            piece = audio[offset : offset + chunk]
            if transcribe:
                spoken = ""
                while next_word < len(words) and words[next_word][1] < offset + len(piece):
                    spoken += words[next_word][0]
                    next_word += 1
                if spoken:
                    spoken, lead = lead + spoken, ""
                    await self._send(
                        session, wire.server_content(outputTranscription={"text": spoken})
                    )
            if await self._send(session, wire.audio_message(piece)) and session.connection_log:
                connection = session.connection_log[-1]
                connection.audio_bytes_sent += len(piece)
                if self.record:
                    connection.output_audio.extend(piece)
                record["audio_bytes_sent"] += len(piece)
            await self._pace(len(piece) / 2 / OUTPUT_RATE, chunk_index=offset // chunk)
        return len(audio) / 2 / OUTPUT_RATE

    async def _pace(self, seconds: float, chunk_index: int) -> None:
        """Steady: one chunk per chunk duration. Bursty: ``BURST`` chunks at once, then a pause
        as long as they last (the real service sometimes delivers audio like that)."""
        if self.pace <= 0:
            await asyncio.sleep(0)
        elif self.output_mode == "bursty":
            if (chunk_index + 1) % BURST == 0:
                await asyncio.sleep(BURST * seconds / self.pace)
            else:
                await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds / self.pace)

    async def _call_tools(self, session: EmulatedSession, reply: Reply) -> bool:
        """Blocking calls hold the reply until answered; NON_BLOCKING ones do not (the model
        goes on talking, and their results come back as new model turns)."""
        calls: list[dict[str, Any]] = []
        ids: set[str] = set()
        for spec in reply.tool_calls:
            call_id = spec.id or session.next_id("fc")
            if session.non_blocking(spec.name):
                session.async_calls[call_id] = spec.name
            else:
                ids.add(call_id)
            calls.append({"id": call_id, "name": spec.name, "args": spec.args})
        session.pending_calls = ids
        session.responses_arrived = asyncio.Event()
        session.tool_calls_sent.extend(calls)
        message = wire.encode({"toolCall": {"functionCalls": calls}})
        await self._send(session, message)
        if reply.duplicate_tool_call:
            await self._send(session, message)
        if not ids:
            return True
        try:
            await asyncio.wait_for(session.responses_arrived.wait(), reply.cancel_tool_calls_after)
        except asyncio.TimeoutError:
            unanswered = sorted(session.pending_calls)
            session.pending_calls.clear()
            await self._send(session, wire.encode({"toolCallCancellation": {"ids": unanswered}}))
            return False
        return True

    @staticmethod
    def _call_by_name(session: EmulatedSession, item: dict[str, Any]) -> str:
        """Vertex sends function responses without ids: they answer the open call of that
        name (the oldest, if several)."""
        name = item.get("name")
        for call in session.tool_calls_sent:
            open_call = call["id"] in session.pending_calls or call["id"] in session.async_calls
            if call["name"] == name and open_call:
                return str(call["id"])
        return ""

    async def _on_async_result(
        self, session: EmulatedSession, call_id: str, item: dict[str, Any]
    ) -> None:
        """A NON_BLOCKING call's result, handled as its ``scheduling`` says: INTERRUPT (the
        default) cuts a reply short and speaks now, WHEN_IDLE speaks once the reply is over,
        SILENT is taken in without a word."""
        name = session.async_calls[call_id]
        will_continue = bool(item.get("will_continue"))
        if not will_continue:
            del session.async_calls[call_id]
        scheduling = str(item.get("scheduling") or "INTERRUPT")
        record: dict[str, Any] = {
            "id": call_id,
            "name": name,
            "scheduling": scheduling,
            "will_continue": will_continue,
            "spoken": False,
            "interrupted_reply": False,
        }
        session.async_results.append(record)
        if scheduling == "SILENT":
            return
        busy = session.reply_task is not None and not session.reply_task.done()
        previous = session.reply_task
        if busy and scheduling == "INTERRUPT":
            record["interrupted_reply"] = True
            await self._user_started(session, force=True)
            previous = None
        text = f"Update on {name}." if will_continue else f"The {name} result is in."

        async def speak_result() -> None:
            if previous is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await previous
            record["spoken"] = True
            await self._reply(session, UserTurn("tool_result"), Reply(text=text))

        session.reply_task = asyncio.create_task(speak_result())

    async def _finish_turn(
        self,
        session: EmulatedSession,
        turn: UserTurn,
        spoken_seconds: float,
        *,
        generation_complete: bool,
    ) -> None:
        if generation_complete:
            await self._send(session, wire.server_content(generationComplete=True))
        prompt_text = len(session.system_instruction) // 4 + len(turn.text) // 4
        prompt_audio = round(turn.speech_seconds * AUDIO_TOKENS_PER_SECOND)
        usage = wire.usage_message(
            {"TEXT": prompt_text, "AUDIO": prompt_audio},
            {"AUDIO": round(spoken_seconds * AUDIO_TOKENS_PER_SECOND)},
        )
        if await self._send(
            session, wire.encode({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
        ):
            session.connection_log[-1].turns_completed += 1
        session.turns[-1]["usage"] = usage
        if "session_resumption" in session.setup:
            await self._issue_handle(session)

    async def _issue_handle(self, session: EmulatedSession) -> None:
        handle = session.next_id("handle")
        self._handles[handle] = session
        session.handles_issued.append(handle)
        await self._send(
            session,
            wire.encode({"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}),
        )

    # ------------------------------------------------------------------ TLS

    def _make_tls(self) -> ssl.SSLContext:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._tempdir = tempfile.TemporaryDirectory(prefix="gemini-live-emulator-")
        folder = Path(self._tempdir.name)
        self.cert_path = folder / "cert.pem"
        key_path = folder / "key.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this emulator's certificate (for wss clients)."""
        if self.cert_path is None:
            raise RuntimeError("The emulator was started without tls=True.")
        return ssl.create_default_context(cafile=str(self.cert_path))


def _image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an image the client sent, or (0, 0) when it is not one."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return (0, 0)
