"""Recorded Live API calls: every frame that crossed the socket, with its time, as JSON.

The format is the one the real-traffic recordings in ``tests/recorded/`` use, so a call recorded
with ``GeminiLiveService(record_to=...)`` and a recording of Google's servers replay the same way
(``LiveEmulator.replay``)::

    {"source": "...", "model": "models/gemini-3.8-live", "endpoint": "gemini-api",
     "interactions": [{"kind": "message", "direction": "sent", "at": 0.0, "connection": 1,
                       "data": {"setup": {...}}}, ...]}

``direction`` is the client's point of view; ``at`` is seconds since that connection opened;
``connection`` (1 when absent) numbers the connections of one call (rotations, reconnects).

The writer streams to the file as frames pass, so a long call costs no memory, and a file cut
off by a crash still loads. It never writes credentials: they travel in headers, which are not
recorded, and any secret the caller names is redacted wherever it appears.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

Direction = Literal["sent", "received"]
AudioMode = Literal["full", "cut"]

CUT_MEDIA_CHARS = 44  # what the real-traffic recorder kept of each payload (33 bytes)
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Interaction:
    """One frame: ``data`` is the JSON object as it was on the wire."""

    direction: Direction
    data: dict[str, Any]
    at: float | None = None
    connection: int = 1


@dataclass
class Recording:
    """A recorded call: the model it spoke to, on which endpoint, and its frames in order."""

    model: str
    endpoint: str = "gemini-api"  # or "vertex"
    interactions: list[Interaction] = field(default_factory=list)
    source: str = ""

    @property
    def model_id(self) -> str:
        """The bare model id (``models/x`` and Vertex paths stripped)."""
        return self.model.rsplit("/", 1)[-1]

    def connections(self) -> list[list[Interaction]]:
        """The frames of each connection, in the order the connections were opened."""
        numbers = sorted({i.connection for i in self.interactions})
        return [[i for i in self.interactions if i.connection == n] for n in numbers]

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording; a file whose writer never finished (a crash) loads up to its
        last whole frame."""
        text = Path(path).read_text(encoding="utf-8")
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = json.loads(_terminated(text))
        if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
            raise ValueError(
                f"{path} is not a Live API recording: expected a JSON object with "
                "'model' and an 'interactions' list."
            )
        return cls(
            model=str(document.get("model") or ""),
            endpoint=str(document.get("endpoint") or "gemini-api"),
            source=str(document.get("source") or ""),
            interactions=[
                Interaction(
                    direction="sent" if item.get("direction") == "sent" else "received",
                    data=_object(item.get("data")),
                    at=item.get("at"),
                    connection=int(item.get("connection") or 1),
                )
                for item in document["interactions"]
                if isinstance(item, dict)
            ],
        )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _terminated(text: str) -> str:
    """Close an interactions list the writer did not get to close."""
    body = text.rstrip().rstrip(",")
    if body.endswith("]}"):
        return body
    cut = body.rfind("}")  # the end of the last whole frame
    return body[: cut + 1] + "\n]}"


class RecordingWriter:
    """Streams a call's frames to ``path`` as they cross the socket.

    ``audio="cut"`` keeps only the first 44 base64 characters of every audio and image payload
    (as the real-traffic recordings do), for small files; ``"full"`` keeps everything, so a
    replay sounds like the call. ``secrets`` are redacted wherever they appear.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        endpoint: str = "gemini-api",
        audio: AudioMode = "full",
        secrets: Iterable[str] = (),
        source: str = "pipecat-gemini-live",
    ) -> None:
        if audio not in ("full", "cut"):
            raise ValueError(f"audio must be 'full' or 'cut', got {audio!r}.")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._audio = audio
        self._secrets = tuple(s for s in secrets if s)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        header = json.dumps({"source": source, "model": model, "endpoint": endpoint})
        self._file.write(header[:-1] + ', "interactions": [')
        self._first = True
        self._connection = 0
        self._opened_at = time.monotonic()

    @property
    def connection(self) -> int:
        return self._connection

    def connection_opened(self) -> None:
        """A new connection: its frames are numbered after the last one and timed from now."""
        self._connection += 1
        self._opened_at = time.monotonic()

    def sent(self, message: str | bytes) -> None:
        self._write("sent", message)

    def received(self, message: str | bytes) -> None:
        self._write("received", message)

    def close(self) -> None:
        if self._file is not None:
            self._file.write("\n]}\n")
            self._file.close()
            self._file = None

    def _write(self, direction: Direction, message: str | bytes) -> None:
        if self._file is None:
            return
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        try:
            data = json.loads(text)
        except ValueError:
            data = {"unparsed": text}  # kept as it came: a recording must not lose a frame
        if self._audio == "cut":
            data = _cut_media(data)
        line = json.dumps(
            {
                "kind": "message",
                "direction": direction,
                "at": round(time.monotonic() - self._opened_at, 3),
                "connection": max(1, self._connection),
                "data": data,
            },
            ensure_ascii=False,
        )
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        self._file.write(("\n" if self._first else ",\n") + line)
        self._first = False


def _cut_media(value: Any) -> Any:
    """Every ``inlineData``/``audio``/``video`` payload shortened to ``CUT_MEDIA_CHARS``."""
    if isinstance(value, dict):
        cut = {k: _cut_media(v) for k, v in value.items()}
        data = cut.get("data")
        if isinstance(data, str) and ("mimeType" in cut or "mime_type" in cut):
            cut["data"] = data[:CUT_MEDIA_CHARS]
        return cut
    if isinstance(value, list):
        return [_cut_media(v) for v in value]
    return value
