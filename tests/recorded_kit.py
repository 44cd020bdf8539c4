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


def shape(message: dict[str, Any]) -> str:
    """What kind of message this is, as far as a client's handling goes: the fields present,
    not their values (``audio+out`` is audio with its transcript riding along)."""
    if not message:
        return "{}"
    if "setupComplete" in message:
        return "setupComplete" + ("+sessionId" if message["setupComplete"] else "")
    if "sessionResumptionUpdate" in message:
        return "handle"
    if "voiceActivity" in message:
        return "voiceActivity." + message["voiceActivity"]["type"].removeprefix("ACTIVITY_")
    if "toolCall" in message:
        return "toolCall"
    if "toolCallCancellation" in message:
        return "toolCallCancellation"
    if "goAway" in message:
        return "goAway"
    content = message.get("serverContent")
    if content is None:
        return "+".join(sorted(message))
    if not content:
        return "serverContent{}"
    kinds: list[str] = []
    for part in (content.get("modelTurn") or {}).get("parts") or []:
        if part.get("thought"):
            kinds.append("thought")
        elif "inlineData" in part:
            mime = part["inlineData"].get("mimeType", "")
            kinds.append("audio" if "rate=" in mime else "audio(no rate)")
        elif "text" in part:
            kinds.append("text")
    if (content.get("modelTurn") or {}).get("role"):
        kinds.append("role")
    if "inputTranscription" in content:
        kinds.append("in")
    if "outputTranscription" in content:
        out = content["outputTranscription"]
        kinds.append(
            "out" if out.get("text") else "out.finished" if out.get("finished") else "out{}"
        )
    for flag in ("interrupted", "generationComplete", "turnComplete"):
        if content.get(flag):
            kinds.append(flag)
    if "groundingMetadata" in content:
        kinds.append("grounding" if content["groundingMetadata"] else "grounding{}")
    if "interactionStatus" in content:
        kinds.append("status")
    usage = message.get("usageMetadata")
    if usage is not None:
        kinds.append("usage:candidates" if "candidatesTokenCount" in usage else "usage")
    return "+".join(kinds)


BODY = ("{}", "audio", "out")  # shapes whose count depends on how long the reply is


def landmarks(messages: list[dict[str, Any]]) -> list[str | frozenset[str]]:
    """A call's server messages as a sequence that does not depend on lengths: each message
    that is not audio, transcript or a bare ``{}`` in order (repeats collapsed), and between
    them the set of body shapes that came."""
    sequence: list[str | frozenset[str]] = []
    body: set[str] = set()
    for message in messages:
        kind = shape(message)
        if kind.split("+")[0] in BODY or kind.startswith("audio"):
            body.add(kind)
            continue
        if body:
            sequence.append(frozenset(body))
            body = set()
        if not sequence or sequence[-1] != kind:
            sequence.append(kind)
    if body:
        sequence.append(frozenset(body))
    return sequence


def script_from(recording: Recording, *, split_tool_turns: bool) -> list[Any]:
    """The replies a recorded server gave, as an emulator script (what it said, thought and
    called), so the emulator can be made to say the same and its frames compared."""
    from pipecat_gemini_live.emulator import Reply, ToolCallSpec

    replies: list[Any] = []
    spec: dict[str, Any] | None = None

    def current() -> dict[str, Any]:
        nonlocal spec
        if spec is None:
            spec = {"in": None, "thought": "", "text": "", "calls": [], "after": ""}
        return spec

    for item in recording.interactions:
        if item.direction != "received":
            continue
        content = item.data.get("serverContent") or {}
        if "inputTranscription" in content:
            piece = content["inputTranscription"].get("text", "")
            current()["in"] = (current()["in"] or "") + piece
        for part in (content.get("modelTurn") or {}).get("parts") or []:
            if part.get("thought") and not current()["thought"]:
                current()["thought"] = part["text"]
        text = (content.get("outputTranscription") or {}).get("text", "")
        if text:
            current()["after" if current()["calls"] else "text"] += text
        for call in (item.data.get("toolCall") or {}).get("functionCalls") or []:
            current()["calls"].append(ToolCallSpec(call["name"], call.get("args") or {}))
        if content.get("turnComplete") and spec is not None:
            if spec["calls"] and not spec["after"] and split_tool_turns:
                continue  # the answer to the call is the next turn (Vertex live)
            after = Reply(text=spec["after"].strip(), thought="") if spec["calls"] else None
            replies.append(
                Reply(
                    text=spec["text"].strip(),
                    input_transcript=spec["in"].strip() if spec["in"] else None,
                    thought=spec["thought"],
                    tool_calls=spec["calls"],
                    after_tool=after,
                )
            )
            spec = None
    return replies
