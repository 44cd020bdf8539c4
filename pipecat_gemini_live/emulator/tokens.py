"""Ephemeral tokens, as the Gemini API issues and enforces them, and the REST endpoint that
creates them (``POST /v1alpha/auth_tokens``), so the server-side half of a browser app (create
a token with the key) and the client half (connect with the token) both run offline.

Enforced as documented: a token opens at most ``uses`` new sessions (resuming a session does
not count), new sessions only until ``newSessionExpireTime``, and nothing after ``expireTime``;
it works only on the constrained endpoint (``BidiGenerateContentConstrained``, v1alpha).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import secrets
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipecat_gemini_live.emulator.wire import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_EXPIRE = datetime.timedelta(minutes=30)
DEFAULT_NEW_SESSION_EXPIRE = datetime.timedelta(minutes=1)


@dataclass
class Token:
    name: str
    uses_left: int
    expire_time: datetime.datetime
    new_session_expire_time: datetime.datetime
    sessions_opened: int = 0


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _parse_time(value: Any, default: datetime.timedelta) -> datetime.datetime:
    if not value:
        return _now() + default
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


class EphemeralTokens:
    """The tokens an emulator has issued."""

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}

    def issue(
        self,
        *,
        uses: int = 1,
        expire_time: datetime.datetime | None = None,
        new_session_expire_time: datetime.datetime | None = None,
    ) -> str:
        name = f"auth_tokens/{secrets.token_urlsafe(12)}"
        self.tokens[name] = Token(
            name=name,
            uses_left=uses,
            expire_time=expire_time or _now() + DEFAULT_EXPIRE,
            new_session_expire_time=new_session_expire_time or _now() + DEFAULT_NEW_SESSION_EXPIRE,
        )
        return name

    def issue_from_request(self, body: dict[str, Any]) -> dict[str, Any]:
        """The REST call's JSON body -> the ``AuthToken`` resource the API returns."""
        uses = body.get("uses", 1)
        if not isinstance(uses, int) or uses < 0:
            raise ValueError(f"uses must be a non-negative integer, got {uses!r}")
        expire = _parse_time(body.get("expireTime"), DEFAULT_EXPIRE)
        new_session = _parse_time(body.get("newSessionExpireTime"), DEFAULT_NEW_SESSION_EXPIRE)
        name = self.issue(uses=uses, expire_time=expire, new_session_expire_time=new_session)
        return {"name": name}

    def admit(self, name: str, *, constrained: bool, resuming: bool) -> None:
        """Raise the ClientError the real service would close with, or take one use."""
        token = self.tokens.get(name)
        if token is None:
            raise ClientError(1008, "Auth token is not valid.")
        if not constrained:
            raise ClientError(
                1008, "Ephemeral tokens are only accepted by BidiGenerateContentConstrained."
            )
        now = _now()
        if now >= token.expire_time:
            raise ClientError(1008, "Auth token has expired.")
        if resuming:
            return  # resuming a session is not a new use
        if now >= token.new_session_expire_time:
            raise ClientError(1008, "Auth token can no longer start new sessions.")
        if token.uses_left <= 0:
            raise ClientError(1011, "Token has been used too many times.")
        token.uses_left -= 1
        token.sessions_opened += 1


class RestServer:
    """A tiny HTTP/1.1 server for ``POST /v1alpha/auth_tokens`` (what the SDK's
    ``client.auth_tokens.create`` calls)."""

    def __init__(self, tokens: EphemeralTokens, api_key: Callable[[], str | None]) -> None:
        self._tokens = tokens
        self._api_key = api_key
        self._server: asyncio.Server | None = None
        self.port = 0
        self.requests: list[dict[str, Any]] = []

    async def start(self, host: str, ssl_context: ssl.SSLContext | None) -> None:
        self._server = await asyncio.start_server(self._handle, host, 0, ssl=ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, payload = await self._respond(reader)
        except Exception as error:  # a malformed request: answer it, never crash the server
            status, payload = 400, {"error": {"code": 400, "message": str(error)}}
        body = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(Exception):
            await writer.drain()
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
        request_line = (await reader.readline()).decode("latin-1").split()
        headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        raw = await reader.readexactly(length) if length else b"{}"
        method, path = request_line[0], request_line[1].split("?")[0]
        if method != "POST" or path.rstrip("/") != "/v1alpha/auth_tokens":
            return 404, {"error": {"code": 404, "message": f"{method} {path} is not served here"}}
        expected = self._api_key()
        if expected is not None and headers.get("x-goog-api-key") != expected:
            return 401, {"error": {"code": 401, "message": "API key not valid."}}
        body = json.loads(raw or b"{}")
        self.requests.append(body)
        return 200, self._tokens.issue_from_request(body)
