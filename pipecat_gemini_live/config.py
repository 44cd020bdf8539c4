"""Session configuration: what one Live session is set up with, validated against the model.

:class:`SessionConfig` is plain data, built by the service from its Pipecat settings and read by
:mod:`pipecat_gemini_live.protocol` to write the ``setup`` message. Validation happens here, at
construction, so a wrong value is an error that names the valid ones, not a 1007 close later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.models import Backend, ModelCapabilities, ProactiveAudio, Thinking
from pipecat_gemini_live.voices import validate_voice


class Sensitivity(str, Enum):
    """Start/end-of-speech sensitivity of the server's voice activity detection."""

    LOW = "LOW"
    HIGH = "HIGH"


class ActivityHandling(str, Enum):
    """What user speech does to a reply in progress."""

    INTERRUPTS = "START_OF_ACTIVITY_INTERRUPTS"
    NO_INTERRUPTION = "NO_INTERRUPTION"


class TurnCoverage(str, Enum):
    """Which realtime input a user turn includes."""

    ONLY_ACTIVITY = "TURN_INCLUDES_ONLY_ACTIVITY"
    ALL_INPUT = "TURN_INCLUDES_ALL_INPUT"
    AUDIO_ACTIVITY_AND_ALL_VIDEO = "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"


class ToolResponseScheduling(str, Enum):
    """What the model does with the result of an async (NON_BLOCKING) tool.

    ``INTERRUPT`` speaks about it at once (cutting its own reply short), ``WHEN_IDLE`` once it
    has finished speaking, ``SILENT`` takes it in without saying anything.
    """

    INTERRUPT = "INTERRUPT"
    WHEN_IDLE = "WHEN_IDLE"
    SILENT = "SILENT"


class MediaResolution(str, Enum):
    LOW = "MEDIA_RESOLUTION_LOW"
    MEDIUM = "MEDIA_RESOLUTION_MEDIUM"
    HIGH = "MEDIA_RESOLUTION_HIGH"


@dataclass(frozen=True)
class VertexSettings:
    """Use Vertex AI instead of the Gemini API.

    With ``project``, the service authenticates with Google credentials (``credentials``, or
    Application Default Credentials when ``None``), refreshed in a thread before each
    connection. Without ``project``, an API key is used (Vertex express mode).
    """

    project: str | None = None
    location: str = "us-central1"
    credentials: Any = field(default=None, repr=False)  # google.auth.credentials.Credentials


@dataclass(frozen=True)
class VADSettings:
    """The server's automatic activity detection (``realtimeInputConfig``).

    ``disabled=True`` hands turn-taking to the client: the service then sends
    ``activityStart``/``activityEnd`` from Pipecat's own VAD (``UserStarted/StoppedSpeakingFrame``),
    with a pre-roll so the first syllable is not clipped.
    """

    disabled: bool = False
    start_sensitivity: Sensitivity | None = None
    end_sensitivity: Sensitivity | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("prefix_padding_ms", "silence_duration_ms"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigurationError(
                    f"VADSettings.{name} must be a whole number of milliseconds >= 0, "
                    f"got {value!r}."
                )
        for name in ("start_sensitivity", "end_sensitivity"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Sensitivity):
                object.__setattr__(self, name, _sensitivity(value, f"VADSettings.{name}"))


def _sensitivity(value: Any, what: str) -> Sensitivity | None:
    """``"high"``, ``Sensitivity.HIGH``, or google-genai's ``START_SENSITIVITY_HIGH`` (the
    built-in service's spelling); ``*_UNSPECIFIED`` is the server's default."""
    text = str(getattr(value, "value", value)).upper()
    text = text.removeprefix("START_SENSITIVITY_").removeprefix("END_SENSITIVITY_")
    if text == "UNSPECIFIED":
        return None
    try:
        return Sensitivity(text)
    except ValueError:
        raise ConfigurationError(
            f"{what} must be Sensitivity.LOW or Sensitivity.HIGH, got {value!r}."
        ) from None


_LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def validate_language_code(code: str, what: str = "language") -> str:
    if not isinstance(code, str) or not _LANGUAGE_CODE.match(code):
        raise ConfigurationError(
            f"{what} must be a BCP-47 code such as 'en', 'es-US' or 'hi-IN', got {code!r}."
        )
    return code


@dataclass(frozen=True)
class TranslationSettings:
    """Live speech translation: the model answers by speaking the user's words in
    ``target_language``. ``echo_target_language=False`` keeps it silent when the user already
    speaks that language (``True`` repeats it)."""

    target_language: str
    echo_target_language: bool | None = None

    def __post_init__(self) -> None:
        validate_language_code(self.target_language, "TranslationSettings.target_language")


@dataclass(frozen=True)
class ContextCompression:
    """Sliding-window context compression; lets sessions outlive the 15-minute audio limit.

    ``trigger_tokens=None`` lets the server use its default (80 % of the context window);
    ``target_tokens=None`` its default (half the trigger). The server requires the sliding
    window object to be present, so it is always sent.
    """

    trigger_tokens: int | None = None
    target_tokens: int | None = None

    def __post_init__(self) -> None:
        trigger, target = self.trigger_tokens, self.target_tokens
        if trigger is not None and trigger <= 0:
            raise ConfigurationError(f"trigger_tokens must be > 0, got {trigger}.")
        if target is not None and target <= 0:
            raise ConfigurationError(f"target_tokens must be > 0, got {target}.")
        if trigger is not None and target is not None and target >= trigger:
            raise ConfigurationError(
                f"target_tokens ({target}) must be smaller than trigger_tokens ({trigger}): "
                "compression shrinks the context from the trigger down to the target."
            )


@dataclass
class SessionConfig:
    """Everything the ``setup`` message says, for one model on one backend."""

    model: str
    capabilities: ModelCapabilities
    backend: Backend = Backend.GEMINI_API
    vertex_project: str | None = None
    vertex_location: str = "us-central1"
    voice: str = "Puck"
    language: str | None = None
    system_instruction: str | None = None
    text_output: bool = False
    input_transcription: bool = True
    output_transcription: bool = True
    vad: VADSettings = field(default_factory=VADSettings)
    activity_handling: ActivityHandling | None = None
    turn_coverage: TurnCoverage | None = None
    context_compression: ContextCompression | None = field(default_factory=ContextCompression)
    session_resumption: bool = True
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None
    include_thoughts: bool = False
    affective_dialog: bool | None = None
    proactive_audio: bool | None = None
    media_resolution: MediaResolution | None = None
    translation: TranslationSettings | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    non_blocking_tools: frozenset[str] = frozenset()  # "*": every function (catch-all handler)
    extra_setup: dict[str, Any] = field(default_factory=dict)

    @property
    def async_tools(self) -> bool:
        """Whether this model and backend take NON_BLOCKING tools and response scheduling."""
        return self.capabilities.async_tools_on(self.backend)

    def is_non_blocking(self, function_name: str) -> bool:
        """Whether this function is declared NON_BLOCKING (and answered with scheduling): an
        async tool, or any function on a model that takes no BLOCKING declaration."""
        return self.async_tools and (
            not self.capabilities.blocking_declarations
            or "*" in self.non_blocking_tools
            or function_name in self.non_blocking_tools
        )

    def validate(self) -> None:
        """Raise :class:`ConfigurationError` for anything this model or backend would reject."""
        caps = self.capabilities
        self.voice = validate_voice(self.voice)
        if self.language is not None:
            validate_language_code(self.language)
        if self.backend not in caps.backends:
            served = " and ".join(b.value for b in caps.backends)
            raise ConfigurationError(
                f"Model {caps.model!r} is served by the {served} backend, "
                f"not {self.backend.value}. Pick a model for this backend "
                "(see pipecat_gemini_live.models.MODELS)."
            )
        if self.text_output and not caps.text_output:
            raise ConfigurationError(
                f"Model {caps.model!r} answers in audio only; TEXT output needs a half-cascade "
                f"model ({_models_where(lambda m: m.text_output)})."
            )
        _check_range("temperature", self.temperature, 0.0, 2.0)
        _check_range("top_p", self.top_p, 0.0, 1.0)
        _check_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        _check_range("presence_penalty", self.presence_penalty, -2.0, 2.0)
        if self.top_k is not None and self.top_k < 1:
            raise ConfigurationError(f"top_k must be >= 1, got {self.top_k}.")
        if self.max_output_tokens is not None and self.max_output_tokens < 1:
            raise ConfigurationError(
                f"max_output_tokens must be >= 1, got {self.max_output_tokens}."
            )
        self._validate_thinking(caps)
        if self.affective_dialog and not caps.affective_dialog:
            raise ConfigurationError(
                f"Model {caps.model!r} does not support affective dialog. Models that do: "
                f"{_models_where(lambda m: m.affective_dialog)}."
            )
        if self.proactive_audio is not None:
            if caps.proactive_audio is ProactiveAudio.UNSUPPORTED:
                supported = _models_where(
                    lambda m: m.proactive_audio is not ProactiveAudio.UNSUPPORTED
                )
                raise ConfigurationError(
                    f"Model {caps.model!r} does not support proactive audio. "
                    f"Models that do: {supported}."
                )
            if caps.proactive_audio is ProactiveAudio.ALWAYS_ON and not self.proactive_audio:
                raise ConfigurationError(
                    f"Model {caps.model!r} always uses proactive audio and rejects "
                    "proactive_audio=False; leave it unset."
                )

    def _validate_thinking(self, caps: ModelCapabilities) -> None:
        if self.include_thoughts and caps.thinking is Thinking.NONE:
            raise ConfigurationError(
                f"Model {caps.model!r} does not think, so it has no thoughts to include. Models "
                f"that do: {_models_where(lambda m: m.thinking is not Thinking.NONE)}."
            )
        if self.thinking_budget is not None and caps.thinking is not Thinking.BUDGET:
            raise ConfigurationError(
                f"Model {caps.model!r} does not take a thinking budget. Models that do: "
                f"{_models_where(lambda m: m.thinking is Thinking.BUDGET)}."
            )
        if self.thinking_level is None and caps.required_thinking_level:
            self.thinking_level = caps.required_thinking_level  # the model needs one
        if self.thinking_level is not None:
            if caps.thinking is not Thinking.LEVEL:
                raise ConfigurationError(
                    f"Model {caps.model!r} does not take a thinking level. Models that do: "
                    f"{_models_where(lambda m: m.thinking is Thinking.LEVEL)}."
                )
            level = self.thinking_level.lower()
            if level not in caps.thinking_levels:
                raise ConfigurationError(
                    f"thinking_level {self.thinking_level!r} is not accepted by {caps.model!r}; "
                    f"valid levels: {', '.join(caps.thinking_levels)}."
                )
            self.thinking_level = level


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not (low <= value <= high):
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}.")


def _models_where(predicate: Any) -> str:
    from pipecat_gemini_live.models import MODELS

    return ", ".join(m.model for m in MODELS.values() if predicate(m)) or "none"
