"""What each Live model accepts, in one table.

Model churn is the Live API's main source of breakage (2.5 vs 3.1 vs 3.8 differ in thinking,
async tools, proactive audio, affective dialog and mid-session ``clientContent``). Every
model-specific rule in this package reads this table; nothing else compares model names.
A model that is not listed is an error at construction, unless the caller describes it with a
:class:`ModelCapabilities` of their own (for a model released after this package).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum

from pipecat_gemini_live.errors import ConfigurationError


class Backend(str, Enum):
    """Which Google endpoint serves a model."""

    GEMINI_API = "gemini"
    VERTEX = "vertex"


class Thinking(str, Enum):
    """How a model takes its thinking configuration, if at all."""

    NONE = "none"
    BUDGET = "budget"  # thinkingConfig.thinkingBudget (tokens)
    LEVEL = "level"  # thinkingConfig.thinkingLevel (minimal/low/medium/high)


class ProactiveAudio(str, Enum):
    """Whether ``proactivity.proactive_audio`` may be set."""

    UNSUPPORTED = "unsupported"
    OPTIONAL = "optional"
    ALWAYS_ON = "always_on"  # the model rejects proactive_audio=false


@dataclass(frozen=True)
class ModelCapabilities:
    """The rules one Live model plays by.

    Attributes:
        model: the model id without the ``models/`` prefix.
        backends: the endpoints that serve it.
        native_audio: speaks itself (24 kHz native audio) rather than a half-cascade TTS.
        text_output: accepts ``responseModalities: ["TEXT"]``.
        thinking: how thinking is configured; ``thinking_levels`` lists the accepted levels.
        affective_dialog: accepts ``enableAffectiveDialog``.
        proactive_audio: whether proactive audio can be set, and how.
        async_function_calls: accepts ``behavior: NON_BLOCKING`` tools and response scheduling.
        mid_session_client_content: accepts ``clientContent`` after the first model turn
            (3.1 takes it only as initial history and closes with 1007 otherwise).
        content_needs_realtime_input: a ``clientContent`` with ``turnComplete`` starts no reply
            until some realtime input arrives (3.8; Pipecat's built-in sends a blank realtime
            text after it for that reason; the 3.1 recordings show 3.1 answering without one).
        history_function_parts: accepts ``functionCall``/``functionResponse`` parts in
            clientContent history (3.x closes with 1007, so tool history goes as text there, as
            Pipecat's Gemini Live adapter does).
        seed_ends_with_user: a completed ``clientContent`` must end with the user's turn (2.5,
            per Pipecat's built-in; the 2.5 recordings show an incomplete one accepted).
        required_thinking_level: the level sent when none is set (3.8 extended thinking needs
            one in its setup; the lowest it takes keeps replies quick, as Pipecat's built-in
            does).
        blocking_declarations: accepts ``behavior: BLOCKING`` (3.8 extended thinking runs every
            call NON_BLOCKING and refuses it, per Pipecat's built-in).
        calls_async_by_default: a function declared without ``behavior`` runs NON_BLOCKING
            (3.8): where ``behavior`` cannot be sent (Vertex), every handler is async.
        stable: generally available (not a preview).
        note: one line shown in errors and the README.
    """

    model: str
    backends: frozenset[Backend] = frozenset({Backend.GEMINI_API})
    native_audio: bool = True
    text_output: bool = False
    thinking: Thinking = Thinking.NONE
    thinking_levels: tuple[str, ...] = ()
    affective_dialog: bool = False
    proactive_audio: ProactiveAudio = ProactiveAudio.UNSUPPORTED
    async_function_calls: bool = False
    mid_session_client_content: bool = True
    content_needs_realtime_input: bool = False
    history_function_parts: bool = True
    seed_ends_with_user: bool = False
    required_thinking_level: str | None = None
    blocking_declarations: bool = True
    calls_async_by_default: bool = False
    stable: bool = False
    note: str = ""

    def async_tools_on(self, backend: Backend) -> bool:
        """NON_BLOCKING tools with response scheduling: a Gemini API feature (Vertex rejects
        ``scheduling`` in function responses, livekit/agents#3853)."""
        return self.async_function_calls and backend is Backend.GEMINI_API


_GEMINI = frozenset({Backend.GEMINI_API})
_VERTEX = frozenset({Backend.VERTEX})
_BOTH = frozenset({Backend.GEMINI_API, Backend.VERTEX})

_NATIVE_25 = {
    "thinking": Thinking.BUDGET,
    "affective_dialog": True,
    "proactive_audio": ProactiveAudio.OPTIONAL,
    "async_function_calls": True,
    "seed_ends_with_user": True,
}

MODELS: dict[str, ModelCapabilities] = {
    m.model: m
    for m in (
        ModelCapabilities(
            "gemini-3.8-live",
            backends=_BOTH,
            proactive_audio=ProactiveAudio.ALWAYS_ON,
            async_function_calls=True,
            content_needs_realtime_input=True,
            history_function_parts=False,
            calls_async_by_default=True,
            stable=True,
            note="stable default; async tools by default; proactive audio always on",
        ),
        ModelCapabilities(
            "gemini-3.8-live-extended-thinking",
            thinking=Thinking.LEVEL,
            thinking_levels=("low", "medium", "high"),
            proactive_audio=ProactiveAudio.ALWAYS_ON,
            async_function_calls=True,
            content_needs_realtime_input=True,
            history_function_parts=False,
            required_thinking_level="low",
            blocking_declarations=False,
            calls_async_by_default=True,
            note="3.8 with a thinking level; every call async",
        ),
        ModelCapabilities(
            "gemini-3.1-flash-live-preview",
            thinking=Thinking.LEVEL,
            thinking_levels=("minimal", "low", "medium", "high"),
            mid_session_client_content=False,
            history_function_parts=False,
            note="legacy preview; clientContent only as initial history; no async tools",
        ),
        ModelCapabilities(
            "gemini-2.5-flash-native-audio-preview-12-2025",
            note="2.5 native audio (Dec 2025); affective dialog and proactive audio",
            **_NATIVE_25,  # type: ignore[arg-type]
        ),
        ModelCapabilities(
            "gemini-2.5-flash-native-audio-preview-09-2025",
            note="2.5 native audio (Sep 2025)",
            **_NATIVE_25,  # type: ignore[arg-type]
        ),
        ModelCapabilities(
            "gemini-2.5-flash-native-audio-latest",
            note="2.5 native audio, the latest preview (an alias Google keeps current)",
            **_NATIVE_25,  # type: ignore[arg-type]
        ),
        ModelCapabilities(
            "gemini-live-2.5-flash-native-audio",
            backends=_VERTEX,
            stable=True,
            note="Vertex AI GA 2.5 native audio",
            **_NATIVE_25,  # type: ignore[arg-type]
        ),
        ModelCapabilities(
            "gemini-live-2.5-flash-preview-native-audio-09-2025",
            backends=_VERTEX,
            note="Vertex AI preview 2.5 native audio",
            **_NATIVE_25,  # type: ignore[arg-type]
        ),
        ModelCapabilities(
            "gemini-live-2.5-flash",
            backends=_VERTEX,
            stable=True,
            note="Vertex AI 2.5 Live (as recorded: audio replies, transcript before the audio)",
        ),
        ModelCapabilities(
            "gemini-live-2.5-flash-preview",
            native_audio=False,
            text_output=True,
            note="older half-cascade model (text or TTS audio)",
        ),
        ModelCapabilities(
            "gemini-2.0-flash-live-001",
            native_audio=False,
            text_output=True,
            note="older half-cascade model; retired by Google in places",
        ),
    )
}

DEFAULT_MODEL = "gemini-3.8-live"


def bare_model_id(model: str) -> str:
    """``models/x``, ``publishers/google/models/x`` or ``projects/…/models/x`` -> ``x``."""
    return model.rsplit("/", 1)[-1].strip()


def capabilities_for(
    model: str | None, override: ModelCapabilities | None = None
) -> ModelCapabilities:
    """Look a model up in the table, or fail with the known ids and what to do.

    ``override`` describes a model this package does not know yet; it wins over the table.
    """
    if override is not None:
        return override
    model_id = bare_model_id(model or DEFAULT_MODEL)
    if model_id in MODELS:
        return MODELS[model_id]
    close = difflib.get_close_matches(model_id, list(MODELS), n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ConfigurationError(
        f"Unknown Live model {model!r}.{hint} Known models: {', '.join(MODELS)}. "
        "For a model released after this package, pass "
        "model_capabilities=ModelCapabilities(model=..., ...) describing what it accepts."
    )
