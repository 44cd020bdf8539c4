"""Named errors that carry the facts and say what to do."""

from __future__ import annotations


class GeminiLiveError(Exception):
    """Base class for every error this package raises."""


class ConfigurationError(GeminiLiveError, ValueError):
    """A setting is invalid; raised at construction, before any connection is made."""


class ProtocolError(GeminiLiveError):
    """The server sent something that is not a valid Live API message."""


class ConnectionClosed(GeminiLiveError):
    """The Live API closed the connection.

    Carries the WebSocket close ``code`` and the server's ``reason``, plus whether retrying can
    help (1011 and 1006 can; 1007 cannot, it would replay the same invalid request).
    """

    def __init__(self, code: int, reason: str, *, retryable: bool, hint: str = "") -> None:
        self.code = code
        self.reason = reason
        self.retryable = retryable
        self.hint = hint
        text = f"Gemini Live closed the connection ({code}): {reason or 'no reason given'}"
        super().__init__(f"{text.rstrip('.')}. {hint}" if hint else text)
