"""LiveEmulator: a local server that speaks the Gemini Live (BidiGenerateContent) wire protocol.

The server's rooms: this module takes connections (the path, the key, the ``setup``, resuming
a session) and moves messages; :mod:`.model` is the emulated model of each session, playing by
the model family's :mod:`.profiles` (what Google's servers were recorded doing) and
:mod:`.rules` (what they refuse); :mod:`.faults` injects goAway, closes, resets and stalls;
:mod:`.replay` plays a recorded call back instead of a model.

Choices where Google's behaviour is not documented (each mirrors what users report):
- a wrong or missing key: the upgrade is accepted and the socket closed with 1007
  "API key not valid. Please pass a valid API key." (the text Google's REST API uses for an
  INVALID_ARGUMENT key error, which the Live endpoint reports as 1007);
- a first message that is not ``setup``: 1007 "Request contains an invalid argument.";
- a model Google does not serve on the endpoint: 1008 "models/X is not found for API version
  ..." (``allow_unknown_models=True`` serves it with the 2.5 profile);
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
import functools
import itertools
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from loguru import logger
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.behaviour import DefaultResponder, Responder
from pipecat_gemini_live.emulator.faults import FaultInjection
from pipecat_gemini_live.emulator.model import EmulatedModel
from pipecat_gemini_live.emulator.profiles import (
    NATIVE_AUDIO_25,
    Endpoint,
    ServerProfile,
    profile_for,
)
from pipecat_gemini_live.emulator.records import ConnectionRecord, EmulatedSession
from pipecat_gemini_live.emulator.replay import ClientProgress, ReplayPlayer, replay_steps
from pipecat_gemini_live.emulator.rules import INVALID, check_setup, unknown_model
from pipecat_gemini_live.emulator.tls import SelfSignedCertificate
from pipecat_gemini_live.emulator.tokens import EphemeralTokens, RestServer
from pipecat_gemini_live.emulator.wire import ClientError
from pipecat_gemini_live.recording import Recording

DEFAULT_API_KEY = "test-key"
"""The key an emulator takes unless told otherwise (the class, the CLI and the pytest fixtures)."""
INVALID_KEY = "API key not valid. Please pass a valid API key."


class _SessionOutbox:
    """A session's way out: its current connection, whichever that is."""

    def __init__(self, emulator: LiveEmulator, session: EmulatedSession) -> None:
        self._emulator = emulator
        self._session = session

    async def send(self, data: bytes) -> bool:
        return await self._emulator.send_to(self._session, data)


class LiveEmulator(FaultInjection):
    """A Live API server for tests, demos and offline development. See the module docstring.

    Args:
        api_key: the key clients must send (default ``"test-key"``; ``None``: any non-empty
            key).
        tls: serve ``wss`` with a self-signed certificate (``cert_path``).
        responder: decides each reply (default: one short sentence per turn).
        pace: speed of the emulator's clock against real time (1.0 = real time; 0 = no waiting:
            replies, holds and pauses take no time).
        output_chunk_ms / output_mode: reply audio in chunks of this length, ``"steady"`` or
            ``"bursty"``.
        connection_lifetime / go_away_lead: end each connection after this long, with a
            ``goAway`` this long before.
        profile: use this server profile for every session instead of the one for its model.
        peer_reports: also apply the server rules known only from the peers' code comments
            (see :mod:`.profiles`); ``False`` keeps only what recordings and docs show.
        allow_unknown_models: serve models Google does not (with the 2.5 profile).
        known_models: serve only these model ids (on top of the profiles' own list).
        record: keep what crossed each session (``False``: counters only, for long soaks).
        on_refused: called with ``(code, reason)`` for each connection refused before a session
            attached (also kept in ``refused``) and with 404 for a path that is not a Live
            endpoint, instead of logging it (the CLI prints them).
    """

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        pace: float = 0.0,
        output_chunk_ms: int = 40,
        output_mode: str = "steady",
        connection_lifetime: float | None = None,
        go_away_lead: float = 60.0,
        profile: ServerProfile | None = None,
        peer_reports: bool = True,
        allow_unknown_models: bool = False,
        known_models: set[str] | None = None,
        record: bool = True,
        replay: Recording | None = None,
        replay_wait_timeout: float = 10.0,
        on_refused: Callable[[int, str], None] | None = None,
    ) -> None:
        if output_mode not in ("steady", "bursty"):
            raise ValueError(f"output_mode must be 'steady' or 'bursty', got {output_mode!r}")
        self.api_key = api_key
        self.tls = tls
        self.host = host
        self.port = port
        self.responder: Responder = responder or DefaultResponder()
        self.pace = pace
        self.output_chunk_ms = output_chunk_ms
        self.output_mode = output_mode
        self.connection_lifetime = connection_lifetime
        self.go_away_lead = go_away_lead
        self.profile = profile
        self.peer_reports = peer_reports
        self.allow_unknown_models = allow_unknown_models
        self.known_models = known_models
        self.record = record
        self.recording = replay
        self.replay_wait_timeout = replay_wait_timeout
        self.on_refused = on_refused
        self.latency = 0.0
        self.refused: list[tuple[int, str]] = []  # connections refused before a session attached
        self.setup_delays: list[float] = []  # see delay_setup()
        self.sessions: list[EmulatedSession] = []
        self.cert_path: Path | None = None
        self._certificate: SelfSignedCertificate | None = None
        self._handles: dict[str, EmulatedSession] = {}
        self._server: Server | None = None
        self._session_ids = itertools.count(1)
        self._progress: dict[str, ClientProgress] = {}
        self.tokens = EphemeralTokens()
        self.rest = RestServer(self.tokens, lambda: self.api_key)
        self._timers: set[asyncio.Task[None]] = set()

    @classmethod
    def replay(cls, recording: str | Path | Recording, **kwargs: Any) -> LiveEmulator:
        """An emulator that plays a recorded call back to whoever connects (any key unless
        ``api_key=`` is given). See :mod:`pipecat_gemini_live.emulator.replay`."""
        if not isinstance(recording, Recording):
            recording = Recording.load(recording)
        kwargs.setdefault("api_key", None)
        return cls(replay=recording, **kwargs)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> LiveEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        ssl_context = None
        if self.tls:
            self._certificate = SelfSignedCertificate()
            self.cert_path = self._certificate.cert_path
            ssl_context = self._certificate.server_context()
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
            if session.model_runtime is not None:
                session.model_runtime.stop()
        await self.rest.stop()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3)
            self._server = None
        if self._certificate is not None:
            self._certificate.cleanup()
            self._certificate = None

    @property
    def base_url(self) -> str:
        """``ws://host:port``, or ``https://host:port`` with TLS (as google-genai takes it)."""
        return f"{'https' if self.tls else 'ws'}://{self.host}:{self.port}"

    @property
    def rest_base_url(self) -> str:
        """The REST side (``POST /v1alpha/auth_tokens``), for ``genai.Client(http_options=
        HttpOptions(base_url=...))`` or :func:`pipecat_gemini_live.create_ephemeral_token`."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.rest.port}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.tls else "ws"
        return (
            f"{scheme}://{self.host}:{self.port}/ws/google.ai.generativelanguage.v1beta."
            "GenerativeService.BidiGenerateContent"
        )

    def create_ephemeral_token(self, *, uses: int = 1) -> str:
        """Issue a token directly (what the REST endpoint does for a key holder)."""
        return self.tokens.issue(uses=uses)

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this emulator's certificate (for wss clients)."""
        if self._certificate is None:
            raise RuntimeError("The emulator was started without tls=True.")
        return self._certificate.client_context()

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

    # ------------------------------------------------------------------ connections

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if wire.match_path(request.path) is None:
            path = request.path.split("?", 1)[0]  # never the key (?key=...)
            self._report_refused(404, f"Not Found: {path} is not a Live API endpoint")
            return connection.respond(404, "Not Found: not a Live API endpoint.\n")
        return None

    def _report_refused(self, code: int, reason: str) -> None:
        if self.on_refused is not None:
            self.on_refused(code, reason)
        elif code != 404:
            logger.info(f"Gemini Live emulator: refused a connection: {code} {reason}")

    async def _serve_connection(self, ws: ServerConnection) -> None:
        session: EmulatedSession | None = None
        lifetime: asyncio.Task[None] | None = None
        player: asyncio.Task[None] | None = None
        record: ConnectionRecord | None = None
        path = ws.request.path if ws.request else ""
        try:
            first = wire.parse_client_message(await ws.recv())
            self._check_credentials(path, ws.request.headers if ws.request else Headers(), first)
            if "setup" not in first:
                raise ClientError(1007, INVALID)
            session = self._attach(ws, first["setup"], path)
            record = session.connection_log[-1]
            if self.recording is not None:
                player = asyncio.create_task(self._play(session))
            else:
                await self._complete_setup(session)
            if self.connection_lifetime is not None:
                lifetime = asyncio.create_task(self._enforce_lifetime(session, ws))
            async for raw in ws:
                await self._wait_if_stalled(session)
                message = wire.parse_client_message(raw)
                if self.record:
                    session.received.append(wire.without_media(message))
                before = session.audio_bytes_received
                await self._on_client_message(session, message)
                record.audio_bytes_received += session.audio_bytes_received - before
        except ClientError as error:
            if session is not None:
                session.closed_codes.append(error.code)
            else:
                self.refused.append((error.code, error.reason))
                self._report_refused(error.code, error.reason)
            if record is not None and not record.ended_by:
                record.ended_by = f"close {error.code}"
            with contextlib.suppress(Exception):
                await ws.close(error.code, error.reason)
        except ConnectionClosed:
            pass
        finally:
            for task in (lifetime, player):
                if task is not None:
                    task.cancel()
            if record is not None and not record.ended_by:
                record.ended_by = "client"
            if session is not None and session.ws is ws:
                session.ws = None
                if session.model_runtime is not None:
                    session.model_runtime.connection_lost()

    def _check_credentials(self, path: str, headers: Headers, first: dict[str, Any]) -> None:
        key = wire.credential(path, headers)
        if key and key.startswith("auth_tokens/"):
            setup = first.get("setup") or {}
            self.tokens.admit(
                key,
                constrained="Constrained" in path,
                resuming=bool((setup.get("session_resumption") or {}).get("handle")),
            )
        elif not key or (self.api_key is not None and key != self.api_key):
            raise ClientError(1007, INVALID_KEY)

    def _attach(self, ws: ServerConnection, setup: dict[str, Any], path: str) -> EmulatedSession:
        """The session this connection belongs to: a new one, or the one its handle resumes."""
        version = wire.match_path(path) or "v1beta"
        endpoint: Endpoint = "vertex" if version.startswith("vertex") else "gemini-api"
        handle = (setup.get("session_resumption") or {}).get("handle")
        if handle:
            session = self._handles.get(handle)
            if session is None:
                session = self._replayed_session()
            if session is None:
                raise ClientError(1008, "BidiGenerateContent session not found")
            if session.ws is not None:
                raise ClientError(1011, "The session is still active on another connection.")
            updated = {k: v for k, v in setup.items() if k != "model"}
            if self.recording is None:
                check_setup({**session.setup, **updated}, session.profile.rules)
            session.setup = {**session.setup, **updated}
        else:
            profile = self._profile(str(setup.get("model") or ""), endpoint, version)
            if self.recording is None:
                check_setup(setup, profile.rules)
            session = EmulatedSession(
                id=str(next(self._session_ids)),
                setup=setup,
                model=str(setup.get("model") or "").rsplit("/", 1)[-1],
                profile=profile,
                endpoint=endpoint,
            )
            self._check_replayed_model(session)
            self.sessions.append(session)
            if self.recording is None:
                session.model_runtime = EmulatedModel(
                    session,
                    _SessionOutbox(self, session),
                    self.responder,
                    pace=self.pace,
                    output_chunk_ms=self.output_chunk_ms,
                    output_mode=self.output_mode,
                    record=self.record,
                    on_handle=functools.partial(self._remember_handle, session),
                )
        session.ws = ws
        session.connections += 1
        session.connection_log.append(ConnectionRecord(session.connections))
        return session

    def _remember_handle(self, session: EmulatedSession, handle: str) -> None:
        self._handles[handle] = session

    def _profile(self, model: str, endpoint: Endpoint, version: str) -> ServerProfile:
        model_id = model.rsplit("/", 1)[-1]
        if not model_id:
            raise ClientError(1007, INVALID)
        if self.known_models is not None and model_id not in self.known_models:
            raise unknown_model(model_id, version)
        profile = self.profile or profile_for(model_id, endpoint)
        if profile is None:
            if not (self.allow_unknown_models or self.recording is not None):
                raise unknown_model(model_id, version)
            profile = NATIVE_AUDIO_25
        if not self.peer_reports:
            profile = replace(profile, rules=profile.rules.without_peer_reports())
        return profile

    async def _complete_setup(self, session: EmulatedSession) -> None:
        if self.setup_delays:
            await asyncio.sleep(self.setup_delays.pop(0))
        complete: dict[str, Any] = {}
        if session.profile.session_id:
            complete["sessionId"] = str(uuid.uuid4())
        await self.send_to(session, wire.encode({"setupComplete": complete}))
        assert session.model_runtime is not None
        await session.model_runtime.connection_ready(first=session.connections == 1)

    async def _on_client_message(self, session: EmulatedSession, message: dict[str, Any]) -> None:
        if "setup" in message:
            raise ClientError(1007, INVALID)
        if self.recording is not None:
            self._progress_of(session).observe(message)
            _note_tool_responses(session, message)
        elif session.model_runtime is not None:
            await session.model_runtime.on_message(message)

    # ------------------------------------------------------------------ replay

    def _progress_of(self, session: EmulatedSession) -> ClientProgress:
        return self._progress.setdefault(session.id, ClientProgress())

    def _replayed_session(self) -> EmulatedSession | None:
        """In a replay, a resuming client continues the recorded call, whatever its handle."""
        if self.recording is None or not self.sessions:
            return None
        return self.sessions[-1]

    def _check_replayed_model(self, session: EmulatedSession) -> None:
        if self.recording is not None and session.model != self.recording.model_id:
            session.replay_errors.append(
                f"the client asked for model {session.model!r}; the recording is of "
                f"{self.recording.model_id!r}"
            )

    async def _play(self, session: EmulatedSession) -> None:
        assert self.recording is not None
        connections = self.recording.connections()
        number = session.connections
        if number > len(connections):
            session.replay_errors.append(
                f"the client opened connection {number}; the recording has {len(connections)}"
            )
            return
        player = ReplayPlayer(
            replay_steps(connections[number - 1]),
            session,
            _SessionOutbox(self, session),
            self._progress_of(session),
            connection=number,
            pace=self.pace,
            wait_timeout=self.replay_wait_timeout,
        )
        await player.run()
        session.replay_finished = number == len(connections)

    # ------------------------------------------------------------------ sending

    async def send_to(self, session: EmulatedSession, data: bytes) -> bool:
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
        if self.record:
            session.server_messages.append(wire.server_message_record(data))
        return True

    async def _wait_if_stalled(self, session: EmulatedSession) -> None:
        remaining = session.stalled_until - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _enforce_lifetime(self, session: EmulatedSession, ws: ServerConnection) -> None:
        assert self.connection_lifetime is not None
        lead = min(self.go_away_lead, self.connection_lifetime)
        await asyncio.sleep(self.connection_lifetime - lead)
        if session.ws is ws:
            await self.send_to(session, wire.encode({"goAway": {"timeLeft": wire.duration(lead)}}))
        await self._close_if_current(session, ws, lead, "lifetime")


def _note_tool_responses(session: EmulatedSession, message: dict[str, Any]) -> None:
    """In a replay, what the client answered, by call id (for tests), as the model would."""
    for item in (message.get("tool_response") or {}).get("function_responses") or []:
        session.tool_responses.setdefault(str(item.get("id") or ""), []).append(item)
