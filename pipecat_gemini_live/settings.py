"""The service's settings: Pipecat's Settings dataclass, its defaults, and the validated
:class:`~pipecat_gemini_live.config.SessionConfig` a connection is set up from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from loguru import logger
from pipecat.services.settings import LLMSettings
from pipecat.utils.types import NOT_GIVEN, NotGiven, is_given

from pipecat_gemini_live.config import (
    ActivityHandling,
    ContextCompression,
    MediaResolution,
    SessionConfig,
    TranslationSettings,
    TurnCoverage,
    VADSettings,
    VertexSettings,
)
from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.genai_config import setup_fields
from pipecat_gemini_live.models import DEFAULT_MODEL, Backend, ModelCapabilities, capabilities_for
from pipecat_gemini_live.tools import declarations_from


@dataclass
class GeminiLiveSettings(LLMSettings):
    """Runtime settings of :class:`GeminiLiveService` (Pipecat's Settings pattern).

    Parameters:
        voice: one of the 30 prebuilt voices (see :mod:`pipecat_gemini_live.voices`).
        language: BCP-47 code such as ``"en-US"``; ``None`` lets the model choose.
        vad: the server's voice activity detection; ``VADSettings(disabled=True)`` hands
            turn-taking to Pipecat's local VAD.
        activity_handling: whether user speech interrupts the bot.
        turn_coverage: which input a user turn includes.
        input_transcription / output_transcription: transcripts of each side.
        context_compression: sliding-window compression (on by default), or ``None``.
        thinking_budget / thinking_level: thinking, for the models that take it.
        affective_dialog / proactive_audio: for the models that support them.
        media_resolution: resolution of images sent to the model.
        translation: ``TranslationSettings(target_language="es")`` for live speech translation.
        include_thoughts: ask thinking models for thought summaries (``LLMThought*Frame``s).
        text_output: answer in text instead of audio (half-cascade models only).

    The built-in ``GeminiLiveLLMService``'s spellings are accepted too, so its bots run
    unchanged: ``modalities``, ``context_window_compression``, ``thinking``,
    ``enable_affective_dialog``, ``proactivity``, ``voice_id``, and its value types
    (``GeminiVADParams``, ``Language``, ``GeminiMediaResolution``, google-genai's configs).
    They are translated on the way in (:mod:`.spellings`), so the stored settings hold
    ours only, and read ``None``.
    """

    _aliases: ClassVar[dict[str, str]] = {"voice_id": "voice"}

    voice: str | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    language: str | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    vad: VADSettings | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    activity_handling: ActivityHandling | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    turn_coverage: TurnCoverage | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    input_transcription: bool | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    output_transcription: bool | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    context_compression: ContextCompression | NotGiven | None = field(
        default_factory=lambda: NOT_GIVEN
    )
    thinking_budget: int | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    thinking_level: str | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    affective_dialog: bool | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    proactive_audio: bool | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    media_resolution: MediaResolution | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    translation: TranslationSettings | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)
    include_thoughts: bool | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    text_output: bool | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    # The built-in's spellings (see :mod:`.spellings`).
    modalities: Any = field(default_factory=lambda: NOT_GIVEN)
    context_window_compression: Any = field(default_factory=lambda: NOT_GIVEN)
    thinking: Any = field(default_factory=lambda: NOT_GIVEN)
    enable_affective_dialog: Any = field(default_factory=lambda: NOT_GIVEN)
    proactivity: Any = field(default_factory=lambda: NOT_GIVEN)


def default_settings(
    *, model: str | None, system_instruction: str | None, voice: str
) -> GeminiLiveSettings:
    """Every setting given, so an update (``LLMUpdateSettingsFrame``) always has a before."""
    return GeminiLiveSettings(
        model=model or DEFAULT_MODEL,
        system_instruction=system_instruction,
        temperature=None,
        max_tokens=None,
        top_p=None,
        top_k=None,
        frequency_penalty=None,
        presence_penalty=None,
        seed=None,
        filter_incomplete_user_turns=False,
        user_turn_completion_config=None,
        voice=voice,
        language=None,
        vad=VADSettings(),
        activity_handling=None,
        turn_coverage=None,
        input_transcription=True,
        output_transcription=True,
        context_compression=ContextCompression(),
        thinking_budget=None,
        thinking_level=None,
        affective_dialog=None,
        proactive_audio=None,
        media_resolution=None,
        translation=None,
        include_thoughts=False,
        text_output=False,
        modalities=None,
        context_window_compression=None,
        thinking=None,
        enable_affective_dialog=None,
        proactivity=None,
    )


def given(value: Any, default: Any = None) -> Any:
    return value if is_given(value) and value is not None else default


def session_config(
    settings: GeminiLiveSettings,
    *,
    model_capabilities: ModelCapabilities | None,
    vertex: VertexSettings | None,
    tools: list[dict[str, Any]],
    non_blocking_tools: frozenset[str],
) -> SessionConfig:
    """The validated configuration of a connection; raises :class:`ConfigurationError`."""
    s = settings
    model = str(s.model or DEFAULT_MODEL)
    caps = capabilities_for(model, model_capabilities)
    config = SessionConfig(
        model=caps.model if model_capabilities is None else model,
        capabilities=caps,
        backend=Backend.VERTEX if vertex is not None else Backend.GEMINI_API,
        vertex_project=vertex.project if vertex else None,
        vertex_location=vertex.location if vertex else "us-central1",
        voice=str(s.voice),
        language=given(s.language),
        system_instruction=given(s.system_instruction),
        input_transcription=bool(given(s.input_transcription, True)),
        output_transcription=bool(given(s.output_transcription, True)),
        vad=given(s.vad) or VADSettings(),
        activity_handling=given(s.activity_handling),
        turn_coverage=given(s.turn_coverage),
        context_compression=given(s.context_compression),
        temperature=given(s.temperature),
        top_p=given(s.top_p),
        top_k=given(s.top_k),
        max_output_tokens=given(s.max_tokens),
        seed=given(s.seed),
        frequency_penalty=given(s.frequency_penalty),
        presence_penalty=given(s.presence_penalty),
        text_output=bool(given(s.text_output, False)),
        thinking_budget=given(s.thinking_budget),
        thinking_level=given(s.thinking_level),
        affective_dialog=given(s.affective_dialog),
        proactive_audio=given(s.proactive_audio),
        media_resolution=given(s.media_resolution),
        translation=given(s.translation),
        include_thoughts=bool(given(s.include_thoughts, False)),
        tools=tools,
        non_blocking_tools=non_blocking_tools,
    )
    config.validate()
    return config


def resolve_api_key(api_key: str | None) -> str:
    """The key from the argument, else ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY``."""
    key = api_key or os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY")
    if not key:
        raise ConfigurationError(
            "No Gemini API key: pass api_key=... or set GOOGLE_API_KEY (or GEMINI_API_KEY). "
            "For the bundled emulator, use the key it was started with."
        )
    return key


class LiveConfig:
    """Builds the session configuration from the service's settings, its tools and the
    handlers registered for them; the one place tools turn into declarations."""

    def __init__(
        self,
        *,
        model_capabilities: ModelCapabilities | None,
        vertex: VertexSettings | None,
        tools: Any,
        live_connect_config: Any = None,
    ) -> None:
        self._model_capabilities = model_capabilities
        self._vertex = vertex
        self.tools_given = tools  # handlers register from it at start (Pipecat's way)
        self._tools = declarations_from(tools)
        backend = Backend.VERTEX if vertex is not None else Backend.GEMINI_API
        self._extra_setup = setup_fields(live_connect_config, backend)

    def build(self, settings: GeminiLiveSettings, functions: dict[Any, Any]) -> SessionConfig:
        """Raises :class:`ConfigurationError` for anything the model would refuse."""
        config = session_config(
            settings,
            model_capabilities=self._model_capabilities,
            vertex=self._vertex,
            tools=self._tools,
            non_blocking_tools=non_blocking_names(functions),
        )
        config.extra_setup = self._extra_setup
        return config

    def set_tools(self, tools: Any) -> None:
        self.tools_given, self._tools = tools, declarations_from(tools)

    def declares(self, tools: Any) -> bool:
        return declarations_from(tools) == self._tools

    def declare(self, config: SessionConfig, functions: dict[Any, Any], builtin: list[Any]) -> None:
        """The tools as they stand on ``config``: the given ones, plus the cancel tools
        Pipecat adds for handlers registered ``cancellable_by_llm``."""
        config.tools = self._tools + declarations_from(builtin)
        config.non_blocking_tools = non_blocking_names(functions)

    @staticmethod
    def warn_of_async_only_calls(config: SessionConfig, who: str) -> None:
        caps = config.capabilities
        if config.tools and caps.calls_async_by_default and config.backend is Backend.VERTEX:
            logger.warning(
                f"{who}: on Vertex, {caps.model} runs every function call NON_BLOCKING (Vertex "
                "takes no `behavior` to say otherwise): the model talks on while a handler "
                "runs, and hears the result when it comes"
            )


def non_blocking_names(functions: dict[Any, Any]) -> frozenset[str]:
    """Functions whose handlers outlive barge-in are async tools (Pipecat's convention:
    ``register_function(..., cancel_on_interruption=False)``); ``"*"`` for a catch-all."""
    return frozenset(
        "*" if name is None else name
        for name, item in functions.items()
        if not item.cancel_on_interruption
    )
