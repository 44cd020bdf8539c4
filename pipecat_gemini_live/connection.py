"""One WebSocket to the Live API: open it, set it up, send, receive, and say why it ended.

No retries and no conversation state: :class:`~pipecat_gemini_live.session.LiveSession`
decides what to do about an ending. Every way a connection can fail is turned into a
:class:`~pipecat_gemini_live.errors.ConnectionClosed` that says whether a retry can help and
what the failure likely means, so the supervisor has one kind of error to act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import ssl
import struct
from typing import Any

import websockets
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed as WebSocketClosed
from websockets.exceptions import InvalidStatus
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

from pipecat_gemini_live import protocol
from pipecat_gemini_live.errors import ConnectionClosed, ProtocolError
from pipecat_gemini_live.events import ServerEvent, SetupComplete
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.recording import RecordingWriter
from pipecat_gemini_live.tls import untrusted_hint

# Close codes that a retry cannot fix: the same request would be refused again.
_FATAL_CODES = {1007: "The request was invalid; check the settings named in the reason."}
_POLICY_HINTS = (
    ("not found for api version", "The model is not available for this API version or key."),
    ("session not found", "The resumption handle expired or belongs to another session."),
    ("not implemented", "This model or API version does not support a feature in the setup."),
)
# Worded without "key: ..." or "key=...": Pipecat redacts anything that looks like a credential.
_KEY_HINT = "Check the API key you passed as api_key, or set GOOGLE_API_KEY (or GEMINI_API_KEY)."
# websockets 14+ sends UTF-8 bytes as a text frame as they are (``text=True``); older versions
# take a string, which they encode again.
_SENDS_TEXT_BYTES = "text" in inspect.signature(ClientConnection.send).parameters


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


class MaskKeys:
    """Masking keys for client frames (RFC 6455 5.3), drawn from the OS's CSPRNG 256 at a time:
    websockets draws each with a system call of its own, a cost per audio chunk."""

    def __init__(self) -> None:
        self._keys = b""
        self._next = 0

    def take(self) -> bytes:
        if self._next >= len(self._keys):
            self._keys, self._next = os.urandom(4 * 256), 0
        key = self._keys[self._next : self._next + 4]
        self._next += 4
        return key


def text_frame(payload: bytes, mask: bytes) -> bytes:
    """A whole, final, masked client text frame (RFC 6455 5.2), as websockets writes it."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    return b"".join((header, mask, apply_mask(payload, mask)))


class Connection:
    """An open, set-up WebSocket. Make one with :meth:`open`."""

    def __init__(self, ws: ClientConnection, recorder: RecordingWriter | None) -> None:
        self._ws = ws
        self._recorder = recorder
        self._masks = MaskKeys()

    @classmethod
    async def open(
        cls,
        url: str,
        headers: dict[str, str],
        *,
        open_timeout: float,
        ping_interval: float | None,
        ping_timeout: float | None,
        recorder: RecordingWriter | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Connection:
        """Connect; a refusal or a failure to connect is a :class:`ConnectionClosed`."""
        tls: dict[str, Any] = {"ssl": ssl_context} if ssl_context is not None else {}
        try:
            ws = await connect(
                url,
                **tls,
                additional_headers=headers,
                open_timeout=open_timeout,
                max_size=None,
                compression=None,
                # A connection whose path silently died (no FIN, no RST) is only noticed by
                # keepalive. Gemini's pongs can take 8-30 s, so the timeout is generous: a 20 s
                # one kills live connections, and none at all lets a dead one hang the call.
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
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
        except ssl.SSLCertVerificationError as error:
            # The same certificate would be refused again: one clear error, no retries.
            raise ConnectionClosed(
                1015, "TLS handshake failed", retryable=False, hint=untrusted_hint(error)
            ) from None
        except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as error:
            raise ConnectionClosed(
                1006,
                f"could not connect to {url.split('?', 1)[0]}: {error}",
                retryable=True,
                hint="Check base_url, and that this machine can reach it.",
            ) from None
        if recorder is not None:
            recorder.connection_opened()
        return cls(ws, recorder)

    async def set_up(self, setup: ClientMessage, timeout: float) -> list[ServerEvent]:
        """Send ``setup`` and wait for ``setupComplete``; returns what else that message held.

        A server that accepted the socket but does not finish setup in time is treated like
        one that could not be reached: a retryable failure that says so.
        """
        await self.send(setup)
        try:
            raw = await asyncio.wait_for(self._ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise ConnectionClosed(
                1006,
                f"no setupComplete within {timeout:g}s of the setup message",
                retryable=True,
                hint="The server accepted the connection but did not finish setting it up.",
            ) from None
        except WebSocketClosed as closed:
            raise self.closed_error(closed) from None
        if self._recorder is not None:
            self._recorder.received(raw)
        events = protocol.parse_server_message(raw)
        if not events or not isinstance(events[0], SetupComplete):
            raise ProtocolError(f"Expected setupComplete as the first message, got {events!r}")
        return events[1:]

    async def send(self, message: ClientMessage) -> None:
        """Raises websockets' ``ConnectionClosed`` if the socket is gone (the caller keeps the
        message for the next connection)."""
        text = message.encode()  # the one place a message becomes text
        ws = self._ws
        if isinstance(text, str):
            await ws.send(text)
        elif (
            ws.protocol.state is State.OPEN
            and not ws.transport.is_closing()
            and not ws.transport.get_write_buffer_size()
        ):
            # Audio, 20 times a second: one frame built in one buffer and written at once.
            # websockets' send would frame the same bytes through several layers and a system
            # call for its mask; anything unusual (closing, a backlog to drain) goes there.
            ws.transport.write(text_frame(text, self._masks.take()))
        elif _SENDS_TEXT_BYTES:
            await ws.send(text, text=True)
        else:
            await ws.send(text.decode())
        if self._recorder is not None:
            self._recorder.sent(text)

    async def receive(self) -> list[ServerEvent]:
        """The next server message as events; raises :class:`ConnectionClosed` when the
        connection ends. ``recv`` is safe to cancel: a message it had not returned stays
        unread."""
        try:
            raw = await self._ws.recv()
        except WebSocketClosed as closed:
            raise self.closed_error(closed) from None
        if self._recorder is not None:
            self._recorder.received(raw)
        try:
            return protocol.parse_server_message(raw)
        except ProtocolError as error:
            logger.error(f"Gemini Live: {error}")
            return []

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), 2.0)

    @staticmethod
    def closed_error(closed: WebSocketClosed) -> ConnectionClosed:
        if closed.rcvd is None:  # no close frame from the server: the connection just died
            return classify_close(1006, "connection lost without a close frame")
        return classify_close(closed.rcvd.code, closed.rcvd.reason)

    def __repr__(self) -> str:
        return f"Connection({self._ws.remote_address!r})"

    @property
    def raw(self) -> Any:
        """The websockets connection (for tests that need the transport)."""
        return self._ws
