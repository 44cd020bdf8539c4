"""The emulated model: voice activity detection, a deterministic voice, and scripted replies.

All of it is plain computation on audio time (not wall-clock time), so a test that streams audio
faster than real time sees the same turns as one that streams it live.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

OUTPUT_RATE = 24000


# ----------------------------------------------------------------------------- VAD


@dataclass
class VadSettings:
    """``realtimeInputConfig.automaticActivityDetection`` as the emulator honours it.

    Defaults follow the API reference (HIGH sensitivities); the silence that ends a turn
    defaults to 500 ms with HIGH end sensitivity and 800 ms with LOW.
    """

    disabled: bool = False
    start_sensitivity: str = "START_SENSITIVITY_HIGH"
    end_sensitivity: str = "END_SENSITIVITY_HIGH"
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> VadSettings:
        detection = (setup.get("realtime_input_config") or {}).get(
            "automatic_activity_detection"
        ) or {}
        settings = cls(disabled=bool(detection.get("disabled", False)))
        for name in ("start_of_speech_sensitivity", "end_of_speech_sensitivity"):
            value = detection.get(name)
            if value and value.endswith("UNSPECIFIED"):
                value = None
            if value:
                setattr(settings, name.replace("_of_speech", ""), value)
        settings.prefix_padding_ms = detection.get("prefix_padding_ms")
        settings.silence_duration_ms = detection.get("silence_duration_ms")
        return settings

    @property
    def threshold(self) -> float:
        return 300.0 if self.start_sensitivity.endswith("HIGH") else 900.0

    @property
    def start_seconds(self) -> float:
        if self.prefix_padding_ms is not None:
            return max(0.02, self.prefix_padding_ms / 1000)
        return 0.04 if self.start_sensitivity.endswith("HIGH") else 0.12

    @property
    def end_seconds(self) -> float:
        if self.silence_duration_ms is not None:
            return self.silence_duration_ms / 1000
        return 0.5 if self.end_sensitivity.endswith("HIGH") else 0.8


class EnergyVad:
    """Speech start after ``start_seconds`` of voiced audio; end after ``end_seconds`` of quiet.

    Works per received blob (20-100 ms), on audio time. Cheap enough for 50 sessions a core.
    """

    def __init__(self, settings: VadSettings) -> None:
        self.settings = settings
        self.speaking = False
        self.speech_seconds = 0.0  # length of the current (or last) utterance
        self.last_voiced = False  # whether the last blob fed had speech in it
        self._voiced_run = 0.0
        self._quiet_run = 0.0

    def feed(self, pcm: bytes, rate: int) -> str | None:
        """Returns "start" or "end" when the state changes, else None."""
        if len(pcm) < 2:
            return None
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float32)
        rms = float(np.sqrt(np.mean(samples * samples)))
        seconds = len(samples) / rate
        voiced = rms >= self.settings.threshold
        self.last_voiced = voiced
        if not self.speaking:
            self._voiced_run = self._voiced_run + seconds if voiced else 0.0
            if self._voiced_run >= self.settings.start_seconds:
                self.speaking, self._quiet_run = True, 0.0
                self.speech_seconds = self._voiced_run
                return "start"
            return None
        self.speech_seconds += seconds
        self._quiet_run = 0.0 if voiced else self._quiet_run + seconds
        if self._quiet_run >= self.settings.end_seconds:
            self.speaking, self._voiced_run = False, 0.0
            self.speech_seconds -= self._quiet_run
            return "end"
        return None

    def force_end(self) -> bool:
        """``audioStreamEnd``: a pending utterance ends now."""
        if self.speaking:
            self.speaking, self._voiced_run = False, 0.0
            self.speech_seconds -= self._quiet_run
            return True
        return False


class TurnAudio:
    """The audio of the user's current turn, for responders that listen to the words.

    Between turns only a short pre-roll is kept (the VAD fires after some speech, and the first
    syllable must not be lost); during a turn at most ``max_seconds`` (the rest is not heard).
    So memory stays bounded however long a session runs.
    """

    def __init__(self, max_seconds: float = 60.0, preroll_seconds: float = 0.5) -> None:
        self.max_seconds = max_seconds
        self.preroll_seconds = preroll_seconds
        self.rate = 16000
        self._chunks: deque[bytes] = deque()
        self._bytes = 0

    def add(self, pcm: bytes, rate: int, *, in_turn: bool) -> None:
        """``in_turn``: the user is speaking (keep it all); else keep only the pre-roll."""
        if rate != self.rate:  # a new input format starts a new buffer
            self.clear()
            self.rate = rate
        limit = 2 * rate * (self.max_seconds if in_turn else self.preroll_seconds)
        if in_turn and self._bytes + len(pcm) > limit:
            return
        self._chunks.append(bytes(pcm))
        self._bytes += len(pcm)
        while self._bytes > limit and len(self._chunks) > 1:
            self._bytes -= len(self._chunks.popleft())

    def take(self) -> bytes:
        """The turn's audio (PCM16 at ``rate``); the buffer starts afresh."""
        audio = b"".join(self._chunks)
        self.clear()
        return audio

    def clear(self) -> None:
        self._chunks.clear()
        self._bytes = 0


# ----------------------------------------------------------------------------- voice


Speech = tuple[bytes, list[tuple[str, int]]]  # 24 kHz mono PCM16, [(word, first byte offset)]


class Synthesizer(Protocol):
    def __call__(self, text: str) -> Speech:
        """Text -> (24 kHz mono PCM16, [(word, first byte offset)])."""
        ...


CHARACTER_SECONDS = 1 / 14  # about 14 characters a second, like speech


@functools.lru_cache(maxsize=256)
def synthesize(text: str) -> tuple[bytes, list[tuple[str, int]]]:
    """A deterministic, clearly voiced stand-in for speech: one short pitched tone per letter.

    Returns the audio and the byte offset at which each word starts, so transcripts can be
    sent as their words begin to sound.
    """
    per_char = int(OUTPUT_RATE * CHARACTER_SECONDS)
    t = np.arange(per_char) / OUTPUT_RATE
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.008)
    pieces: list[np.ndarray] = []
    words: list[tuple[str, int]] = []
    position = 0
    for index, word in enumerate(text.split(" ")):
        if not word:
            continue
        words.append((word if index == 0 else " " + word, position * 2))
        for char in word + " ":
            if char == " ":
                piece = np.zeros(per_char // 2)
            else:
                pitch = 120.0 + (ord(char) % 16) * 9.0
                piece = sum(np.sin(2 * np.pi * k * pitch * t) / k for k in (1, 2, 3)) * ramp
            pieces.append(piece)
            position += len(piece)
    if not pieces:
        return b"", []
    audio = (np.concatenate(pieces) * 0.3 * 32767 / 1.84).astype("<i2")
    return audio.tobytes(), words


# ----------------------------------------------------------------------------- script


@dataclass
class ToolCallSpec:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    """What the emulated model does for one user turn.

    ``text`` is spoken first; then ``tool_calls`` go out in one ``toolCall`` message; once every
    call is answered, ``after_tool`` is spoken. ``cancel_tool_calls_after`` sends a
    ``toolCallCancellation`` if the calls are still unanswered after that many seconds.
    ``after_tool`` may be a function of the function responses (``[{"id", "name",
    "response"}]``), so a responder can speak the result. ``audio`` is ``text`` already spoken
    by a real voice; without it the tone voice (:func:`synthesize`) speaks it.
    """

    text: str = ""
    input_transcript: str | None = None
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    after_tool: Reply | AfterTool | None = None
    cancel_tool_calls_after: float | None = None
    delay: float = 0.0
    duplicate_tool_call: bool = False
    grounding: dict[str, Any] | None = None  # sent as serverContent.groundingMetadata
    thought: str | None = None  # a thought summary, sent when the client asks for them
    audio: Speech | None = None


AfterTool = Callable[[list[dict[str, Any]]], "Reply | Awaitable[Reply]"]


@dataclass(frozen=True)
class UserTurn:
    """What the emulated model heard: speech (with its length and, for responders that listen,
    its audio: PCM16 at ``audio_rate``), text, or a content turn. ``started_at``/``ended_at``
    are when the speech's first and last voiced audio arrived (``time.monotonic()``)."""

    kind: str  # "speech" | "text" | "content" | "tool_result" (an async result spoken)
    speech_seconds: float = 0.0
    text: str = ""
    audio: bytes = field(default=b"", repr=False)
    audio_rate: int = 16000
    started_at: float | None = None
    ended_at: float | None = None


class Responder(Protocol):
    """Decides the reply to a turn. It may return an awaitable (a responder that recognises
    speech takes a while); the server awaits it in the reply task, so barge-in cancels it."""

    def reply(self, turn: UserTurn, setup: dict[str, Any]) -> Reply | Awaitable[Reply]: ...


class DefaultResponder:
    """Answers every turn with one short deterministic sentence."""

    def reply(self, turn: UserTurn, setup: dict[str, Any]) -> Reply:
        if turn.kind == "speech":
            return Reply(text="I heard you.", input_transcript=placeholder_transcript(turn))
        if turn.text:
            return Reply(text=f"You said: {turn.text}")
        return Reply(text="Hello! How can I help?")


class ScriptedResponder:
    """One :class:`Reply` per user turn, in order; then ``default`` for any further turns."""

    def __init__(self, replies: list[Reply], default: Responder | None = None) -> None:
        self._replies = list(replies)
        self._next = itertools.count()
        self._default = default or DefaultResponder()

    def reply(self, turn: UserTurn, setup: dict[str, Any]) -> Reply | Awaitable[Reply]:
        index = next(self._next)
        if index < len(self._replies):
            return self._replies[index]
        return self._default.reply(turn, setup)


def placeholder_transcript(turn: UserTurn) -> str:
    return f"({turn.speech_seconds:.1f} s of speech)"
