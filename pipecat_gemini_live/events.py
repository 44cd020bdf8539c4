"""Typed events parsed from Live API server messages.

One server message can carry several facts (Gemini 3.x puts several parts and transcriptions
in one ``serverContent``; usage can ride on any message), so parsing yields a list of these small
immutable events, in the order a client should act on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SetupComplete:
    session_id: str | None = None


@dataclass(frozen=True)
class AudioChunk:
    """Model speech: mono PCM16 at ``sample_rate`` (24 kHz on every current model)."""

    data: bytes
    sample_rate: int = 24000


@dataclass(frozen=True)
class ModelText:
    """Text from the model: a reply in TEXT modality, or a thought summary."""

    text: str
    thought: bool = False


@dataclass(frozen=True)
class CodeExecution:
    """Code the model ran with the code-execution tool (``code``), or its result (``output``)."""

    language: str = ""
    code: str = ""
    outcome: str = ""
    output: str = ""


@dataclass(frozen=True)
class InputTranscript:
    """A piece of the transcript of what the user said (pieces arrive word by word)."""

    text: str
    finished: bool = False


@dataclass(frozen=True)
class OutputTranscript:
    """A piece of the transcript of what the model is saying."""

    text: str
    finished: bool = False


@dataclass(frozen=True)
class Interrupted:
    """The server heard the user barge in; the current reply is abandoned."""


@dataclass(frozen=True)
class GenerationComplete:
    """The model has produced all of this reply (``turnComplete`` can lag seconds behind)."""


@dataclass(frozen=True)
class TurnComplete:
    reason: str | None = None
    waiting_for_input: bool = False


@dataclass(frozen=True)
class FunctionCall:
    id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCall:
    calls: tuple[FunctionCall, ...]


@dataclass(frozen=True)
class ToolCallCancellation:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class GoAway:
    """The server will close this connection in ``time_left`` seconds."""

    time_left: float


@dataclass(frozen=True)
class ResumptionUpdate:
    handle: str | None
    resumable: bool
    last_consumed_client_message_index: int | None = None


@dataclass(frozen=True)
class ModalityTokens:
    modality: str
    tokens: int


@dataclass(frozen=True)
class Usage:
    """Token usage as reported by the server (per turn on the current service)."""

    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    thoughts_tokens: int = 0
    prompt_details: tuple[ModalityTokens, ...] = ()
    response_details: tuple[ModalityTokens, ...] = ()

    def prompt_tokens_for(self, modality: str) -> int:
        return sum(d.tokens for d in self.prompt_details if d.modality == modality)

    def response_tokens_for(self, modality: str) -> int:
        return sum(d.tokens for d in self.response_details if d.modality == modality)


@dataclass(frozen=True)
class VoiceActivity:
    """Server-side voice activity, where the server sends it (``ACTIVITY_START``/``_END``, 3.8).

    ``audio_offset``: where in the audio this connection sent the server placed it, in
    seconds (the recordings show the point of detection: about 0.2 s into speech for the start,
    about 1 s of silence after it for the end)."""

    started: bool
    audio_offset: float | None = None


@dataclass(frozen=True)
class VadSignal:
    """``voiceActivityDetectionSignal``: the server's start (SOS) or end (EOS) of a sentence."""

    started: bool


@dataclass(frozen=True)
class InterimInputTranscript:
    """A provisional transcript of what the user is saying, which later pieces may revise."""

    text: str


@dataclass(frozen=True)
class InteractionStatus:
    """Extended-thinking models: whether the model is still working on the user's request
    (``IN_PROGRESS``: a ``turnComplete`` is not the end of it) or done (``IDLE``)."""

    idle: bool


@dataclass(frozen=True)
class GroundingSource:
    """A web page the answer draws on (``groundingChunks[].web``)."""

    uri: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class GroundingSupport:
    """A part of the answer and the sources (indices into ``sources``) it rests on."""

    text: str
    source_indices: tuple[int, ...] = ()
    confidence: tuple[float, ...] = ()


@dataclass(frozen=True)
class GroundingMetadata:
    """Google Search grounding of the current turn."""

    sources: tuple[GroundingSource, ...] = ()
    supports: tuple[GroundingSupport, ...] = ()
    rendered_content: str | None = None
    queries: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnknownMessage:
    """A message with no field this client knows; kept so nothing is dropped silently."""

    keys: tuple[str, ...]


ServerEvent = (
    SetupComplete
    | AudioChunk
    | ModelText
    | CodeExecution
    | InputTranscript
    | OutputTranscript
    | Interrupted
    | GenerationComplete
    | TurnComplete
    | ToolCall
    | ToolCallCancellation
    | GoAway
    | ResumptionUpdate
    | Usage
    | VoiceActivity
    | VadSignal
    | InterimInputTranscript
    | InteractionStatus
    | GroundingMetadata
    | UnknownMessage
)
