"""What a recorded call says a client must have got: read straight off the recording's frames.

Every expectation here is computed from Google's own messages (``tests/recorded/``), never
from the service or the emulator, so a test that compares against it checks the service
against the real server.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipecat_gemini_live.recording import Recording

RECORDED = Path(__file__).parent / "recorded"


def recordings() -> list[Path]:
    return sorted(RECORDED.glob("*.json"))


def b64(data: str) -> bytes:
    data = data.replace("-", "+").replace("_", "/")
    return binascii.a2b_base64(data + "=" * (-len(data) % 4))


def _get(obj: dict[str, Any], camel: str) -> Any:
    """A field by its camelCase name or the snake_case one (sent frames use snake_case)."""
    if camel in obj:
        return obj[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return obj.get(snake)


@dataclass
class Expected:
    """What the recorded server sent, as a client should take it in."""

    replies_audio: list[bytes] = field(default_factory=list)  # each reply's audio, in order
    input_transcript: str = ""
    output_transcript: str = ""
    thoughts: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "args"}
    tool_results: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> response
    interruptions: int = 0
    turns_completed: int = 0
    usage: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "response": 0, "total": 0})

    @property
    def delivered_audio(self) -> bytes:
        """Every audio byte, each reply cut to whole PCM16 samples (the recorder cut payloads
        to 33 bytes, so a reply can end in half a sample, which no speaker can play)."""
        return b"".join(audio[: len(audio) - len(audio) % 2] for audio in self.replies_audio)


def expected_from(recording: Recording) -> Expected:
    expected = Expected()
    reply: bytearray | None = None

    def end_reply() -> None:
        nonlocal reply
        if reply is not None:
            expected.replies_audio.append(bytes(reply))
            reply = None

    for item in recording.interactions:
        data = item.data
        if item.direction == "sent":
            response = _get(data, "toolResponse")
            for answer in (response or {}).get("functionResponses") or []:
                expected.tool_results[answer["name"]] = answer["response"]
            continue
        content = _get(data, "serverContent") or {}
        for part in (content.get("modelTurn") or {}).get("parts") or []:
            if part.get("thought"):
                expected.thoughts.append(part["text"])
            elif "inlineData" in part:
                reply = reply if reply is not None else bytearray()
                reply += b64(part["inlineData"]["data"])
        expected.input_transcript += (content.get("inputTranscription") or {}).get("text", "")
        expected.output_transcript += (content.get("outputTranscription") or {}).get("text", "")
        if content.get("interrupted"):
            expected.interruptions += 1
            end_reply()
        if content.get("generationComplete"):
            end_reply()
        if content.get("turnComplete"):
            end_reply()
            expected.turns_completed += 1
        usage = data.get("usageMetadata")
        if usage:
            expected.usage["prompt"] += usage.get("promptTokenCount", 0)
            expected.usage["response"] += usage.get(
                "responseTokenCount", usage.get("candidatesTokenCount", 0)
            )
            expected.usage["total"] += usage.get("totalTokenCount", 0)
        for call in (data.get("toolCall") or {}).get("functionCalls") or []:
            expected.tool_calls.append(
                {"id": call.get("id", ""), "name": call["name"], "args": call.get("args", {})}
            )
    end_reply()
    return expected


def sent(recording: Recording) -> list[dict[str, Any]]:
    """What the recorded client sent, in order (setup excluded)."""
    return [
        i.data for i in recording.interactions if i.direction == "sent" and "setup" not in i.data
    ]


def setup_of(recording: Recording) -> dict[str, Any]:
    return recording.interactions[0].data["setup"]


def text_of(turn: dict[str, Any]) -> str:
    return " ".join(part["text"] for part in turn.get("parts") or [] if "text" in part)


def normalised(text: str) -> str:
    return " ".join(text.split())
