"""Client messages as typed values: what each is, its content, and the tool calls it answers.

The session buffers, counts, filters and replays these without looking inside a JSON string:
an answer to a call of a lost conversation is taken out by its call id, audio is told apart by
its kind. JSON messages are encoded once, when made, so a tool result JSON cannot hold fails
where it is produced rather than at the socket; audio (the hot path, about 20 a second) is
kept as PCM and encoded as it goes out, straight to UTF-8 bytes around one base64 call (base64
needs no escaping, and the socket takes the bytes as a text frame without re-encoding them).
"""

from __future__ import annotations

import binascii
import functools
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class MessageKind(str, Enum):
    SETUP = "setup"
    AUDIO = "audio"
    VIDEO = "video"
    TEXT = "text"
    ACTIVITY = "activity"  # activityStart / activityEnd / audioStreamEnd
    CONTENT = "content"  # clientContent
    TOOL_RESPONSE = "tool_response"
    CONTEXT_UPDATE = "context_update"


def encode_json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=16)
def _audio_head(sample_rate: int) -> bytes:
    return b'{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=%d","data":"' % sample_rate


_AUDIO_TAIL = b'"}}}'


@dataclass(frozen=True)
class ClientMessage:
    """One message for the server.

    ``data`` is the PCM (16 kHz mono PCM16) of an ``AUDIO`` message, else the JSON object.
    ``call_ids`` are the calls a ``TOOL_RESPONSE`` answers, one per function response, in order.
    """

    kind: MessageKind
    data: Any
    call_ids: tuple[str, ...] = ()
    sample_rate: int = 16000
    _text: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind is not MessageKind.AUDIO:
            object.__setattr__(self, "_text", encode_json(self.data))

    @property
    def is_audio(self) -> bool:
        return self.kind is MessageKind.AUDIO

    @property
    def size(self) -> int:
        """About how many bytes it takes on the wire (what the input buffer bounds)."""
        if self.kind is MessageKind.AUDIO:
            return len(self.data) * 4 // 3 + 72
        return len(self._text)

    def encode(self) -> str | bytes:
        """The message as sent: UTF-8 bytes for audio, a string for the rest (both go out as
        text frames)."""
        if self.kind is MessageKind.AUDIO:
            data = binascii.b2a_base64(self.data, newline=False)
            return b"".join((_audio_head(self.sample_rate), data, _AUDIO_TAIL))
        return self._text

    def without_calls(self, void: set[str]) -> ClientMessage | None:
        """A tool response minus its answers to ``void`` calls; None if nothing is left."""
        if self.kind is not MessageKind.TOOL_RESPONSE or not void.intersection(self.call_ids):
            return self
        kept = [
            (call_id, response)
            for call_id, response in zip(
                self.call_ids, self.data["toolResponse"]["functionResponses"], strict=True
            )
            if call_id not in void
        ]
        if not kept:
            return None
        return ClientMessage(
            MessageKind.TOOL_RESPONSE,
            {"toolResponse": {"functionResponses": [response for _, response in kept]}},
            call_ids=tuple(call_id for call_id, _ in kept),
        )
