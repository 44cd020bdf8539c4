"""GeminiLiveService: the Gemini Live API as one native-audio stage of a Pipecat pipeline.

The class maps frames to actions and events to frames, and little else: wire formats live in
:mod:`~pipecat_gemini_live.protocol`, the socket in :mod:`~pipecat_gemini_live.session`, audio
conversion in :mod:`~pipecat_gemini_live.audio`, turn-taking in :mod:`~pipecat_gemini_live.turns`
and model rules in :mod:`~pipecat_gemini_live.models`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    InputImageRawFrame,
    InputTextRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMServiceMetadataFrame,
    LLMSetToolsFrame,
    LLMTextFrame,
    LLMThoughtEndFrame,
    LLMThoughtStartFrame,
    LLMThoughtTextFrame,
    MetricsFrame,
    StartFrame,
    STTMetadataFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData, MetricsData, TTFBMetricsData
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.google.frames import LLMSearchOrigin, LLMSearchResponseFrame, LLMSearchResult
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.utils.time import time_now_iso8601
from pipecat.utils.types import NOT_GIVEN, NotGiven, is_given

from pipecat_gemini_live import history, protocol
from pipecat_gemini_live.audio import AudioFormatError, InputAudioConverter, pcm16_rms
from pipecat_gemini_live.config import (
    ActivityHandling,
    ContextCompression,
    MediaResolution,
    SessionConfig,
    ToolResponseScheduling,
    TranslationSettings,
    TurnCoverage,
    VADSettings,
    VertexSettings,
)
from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.events import (
    AudioChunk,
    CodeExecution,
    FunctionCall,
    GenerationComplete,
    GoAway,
    GroundingMetadata,
    InputTranscript,
    Interrupted,
    ModelText,
    OutputTranscript,
    ResumptionUpdate,
    ServerEvent,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    TurnComplete,
    UnknownMessage,
    Usage,
    VoiceActivity,
)
from pipecat_gemini_live.function_calls import FunctionCalls
from pipecat_gemini_live.limits import SessionLimit, SessionLimitReached, process_session_limit
from pipecat_gemini_live.metrics import SpeechClock, UsageTracker, to_token_usage
from pipecat_gemini_live.models import DEFAULT_MODEL, Backend, ModelCapabilities, capabilities_for
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.pricing import CostLedger, CostMetricsData, TokenPrices, prices_for
from pipecat_gemini_live.recording import AudioMode, RecordingWriter
from pipecat_gemini_live.session import (
    Connected,
    Disconnected,
    Failed,
    InputOverflow,
    LiveSession,
    RetryPolicy,
    SessionEvent,
)
from pipecat_gemini_live.turns import (
    Effect,
    ReplyEnded,
    ReplyStarted,
    TurnTracker,
    UserPhase,
    UserSentence,
    UserStarted,
    UserStopped,
)
from pipecat_gemini_live.vision import FramePacer, ImageFormatError, VideoSettings, encode_jpeg
from pipecat_gemini_live.voices import DEFAULT_VOICE

OUTPUT_SAMPLE_RATE = 24000
TRANSCRIPT_SETTLE_SECONDS = 0.05


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
    """

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


def resolve_api_key(api_key: str | None) -> str:
    """The key from the argument, else ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY``."""
    key = api_key or os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY")
    if not key:
        raise ConfigurationError(
            "No Gemini API key: pass api_key=... or set GOOGLE_API_KEY (or GEMINI_API_KEY). "
            "For the bundled emulator, use the key it was started with."
        )
    return key


class GeminiLiveService(LLMService):
    """Gemini Live (native audio over WebSocket) as a Pipecat LLM service.

    Replaces an STT -> LLM -> TTS chain: takes ``InputAudioRawFrame`` at any rate and channel
    count, emits 24 kHz ``TTSAudioRawFrame`` replies with transcripts, barge-in, user-turn,
    tool-call and metrics frames. Works with ``LLMContextAggregatorPair`` and in a bare
    ``[transport.input(), llm, transport.output()]`` pipeline.
    """

    Settings = GeminiLiveSettings
    _settings: GeminiLiveSettings

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        voice: str = DEFAULT_VOICE,
        system_instruction: str | None = None,
        tools: ToolsSchema | list[Any] | None = None,
        settings: GeminiLiveSettings | None = None,
        api_version: str | None = None,
        model_capabilities: ModelCapabilities | None = None,
        input_chunk_ms: int = 50,
        local_vad_preroll_ms: int = 500,
        retry: RetryPolicy | None = None,
        resumption_handle: str | None = None,
        end_grace_seconds: float = 10.0,
        async_tool_scheduling: ToolResponseScheduling
        | Mapping[str, ToolResponseScheduling] = ToolResponseScheduling.WHEN_IDLE,
        video: VideoSettings | None = None,
        prices: TokenPrices | None = None,
        session_limit: SessionLimit | None = None,
        vertex: VertexSettings | None = None,
        record_to: str | os.PathLike[str] | None = None,
        record_audio: AudioMode = "full",
        **kwargs: Any,
    ) -> None:
        """Create the service; every setting is validated here, before any connection.

        Args:
            api_key: Gemini API key; defaults to ``GOOGLE_API_KEY`` then ``GEMINI_API_KEY``.
            base_url: ``ws://127.0.0.1:8765`` for the local emulator, or a ``wss://``/``https://``
                endpoint or proxy. Defaults to Google's.
            model: a Live model id (default: the current stable native-audio model).
            voice: one of the 30 prebuilt voices.
            system_instruction: the system prompt.
            tools: a ``ToolsSchema``, or a list of ``FunctionSchema``/direct functions/dicts.
            settings: ``GeminiLiveService.Settings(...)`` for everything else.
            api_version: the Live API version, always sent explicitly: ``v1beta`` by default,
                ``v1alpha`` for ephemeral tokens (``api_key="auth_tokens/..."``).
            model_capabilities: describe a model this package does not know yet.
            input_chunk_ms: duration of each audio chunk sent (20-100 ms recommended).
            local_vad_preroll_ms: with the server's VAD disabled, how much audio from before
                Pipecat's VAD fired is re-sent after ``activityStart``, so the first syllable
                is not clipped.
            retry: reconnect policy after unplanned drops.
            resumption_handle: resume a conversation another process started (its
                ``resumption_handle`` property); unknown or expired handles start afresh.
            end_grace_seconds: on ``EndFrame``, how long a reply in progress may take to finish
                before the connection closes (``CancelFrame`` closes at once).
            async_tool_scheduling: when the model speaks about an async tool's result (tools
                registered with ``cancel_on_interruption=False`` are declared NON_BLOCKING on
                models that support it): one value for all, or per function name. A result
                reported with ``run_llm=False`` is always ``SILENT``.
            video: how camera/screen frames (``InputImageRawFrame``) are paced, resized and
                encoded; the defaults send up to 1 image/s while the user speaks, 0.3 when idle.
            prices: token prices for the cost estimate (``on_usage`` event, ``usage`` property,
                ``CostMetricsData``); defaults to the model's list prices where known.
            session_limit: a cap on open Live sessions shared with other services; defaults
                to the process-wide one (``set_session_limit``), if set.
            vertex: ``VertexSettings(project=..., location=...)`` to use Vertex AI (Google
                credentials; no API key needed) instead of the Gemini API.
            record_to: write every frame of the call, sent and received, with its time, to this
                JSON file (the format ``LiveEmulator.replay`` plays back); never the key.
            record_audio: ``"full"``, or ``"cut"`` to keep only the start of each audio and
                image payload (small files; a replay then plays clicks, not speech).
        """
        defaults = GeminiLiveSettings(
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
        )
        if settings is not None:
            defaults.apply_update(settings)
        super().__init__(settings=defaults, **kwargs)

        self._vertex = vertex
        # Name-mangled, so never in vars() dumps. Vertex with a project uses credentials instead.
        self.__api_key = (
            (api_key or "") if vertex is not None and vertex.project else resolve_api_key(api_key)
        )
        ephemeral = self.__api_key.startswith("auth_tokens/")
        if api_version is None:
            api_version = "v1alpha" if ephemeral else protocol.DEFAULT_API_VERSION
        if not 10 <= input_chunk_ms <= 1000:
            raise ConfigurationError(
                f"input_chunk_ms must be between 10 and 1000 (20-100 recommended), "
                f"got {input_chunk_ms}."
            )
        self._base_url = base_url
        self._api_version = api_version
        self._model_capabilities = model_capabilities
        self._async_tool_scheduling = async_tool_scheduling
        self._service_tools_given = tools  # handlers register from it at start (Pipecat's way)
        self._tools = _declarations_from(tools)
        self._config = self._build_config()  # validates; raises ConfigurationError
        self._url = (
            protocol.vertex_endpoint_url(vertex.location, base_url)
            if vertex is not None
            else protocol.endpoint_url(base_url, api_version=api_version, ephemeral_token=ephemeral)
        )
        self._retry = retry
        self._initial_handle = resumption_handle
        self._end_grace_seconds = end_grace_seconds
        self._input = InputAudioConverter(chunk_ms=input_chunk_ms)
        self._preroll: deque[bytes] = deque(maxlen=max(1, local_vad_preroll_ms // input_chunk_ms))
        self._session: LiveSession | None = None
        self._turns = TurnTracker()
        self._speech = SpeechClock()
        self._usage = UsageTracker()
        self._ledger = CostLedger(
            self._config.model, prices if prices is not None else prices_for(self._config.model)
        )
        self._register_event_handler("on_usage")
        self._context: LLMContext = LLMContext()
        self._seeded = False
        self._seed_queued = False  # the first context's history is on its way to the model
        self._context_seen = 0  # context messages already heard by (or sent to) the model
        self._transcribed: deque[str] = deque(maxlen=64)  # user sentences not yet recorded
        self._instruction_from_context = False
        self._function_calls = FunctionCalls(self, async_tool_scheduling)
        self._odd_output_byte = b""
        self._ttfb_pending = False
        self._grounding: GroundingMetadata | None = None
        self._reply_text = ""
        self._unknown_reported: set[tuple[str, ...]] = set()
        self._failed = False
        self._closed = False
        self._reported_input_errors: set[str] = set()
        self._session_limit = session_limit
        self._record_to = record_to
        self._record_audio: AudioMode = record_audio
        if record_audio not in ("full", "cut"):
            raise ConfigurationError(f"record_audio must be 'full' or 'cut', got {record_audio!r}.")
        self._holding_slot: SessionLimit | None = None
        self._video = FramePacer(video or VideoSettings())
        self._video_task: asyncio.Task[None] | None = None
        self._audio_paused = False
        self._video_paused = False

    def __repr__(self) -> str:
        return f"{self.name}(model={self._config.model!r}, url={self._url!r})"

    # ------------------------------------------------------------------ configuration

    def _build_config(self) -> SessionConfig:
        s = self._settings
        model = str(s.model or DEFAULT_MODEL)
        caps = capabilities_for(model, self._model_capabilities)
        config = SessionConfig(
            model=caps.model if self._model_capabilities is None else model,
            capabilities=caps,
            backend=Backend.VERTEX if self._vertex is not None else Backend.GEMINI_API,
            vertex_project=self._vertex.project if self._vertex else None,
            vertex_location=self._vertex.location if self._vertex else "us-central1",
            voice=str(s.voice),
            language=_given(s.language),
            system_instruction=_given(s.system_instruction),
            input_transcription=bool(_given(s.input_transcription, True)),
            output_transcription=bool(_given(s.output_transcription, True)),
            vad=_given(s.vad) or VADSettings(),
            activity_handling=_given(s.activity_handling),
            turn_coverage=_given(s.turn_coverage),
            context_compression=_given(s.context_compression),
            temperature=_given(s.temperature),
            top_p=_given(s.top_p),
            top_k=_given(s.top_k),
            max_output_tokens=_given(s.max_tokens),
            thinking_budget=_given(s.thinking_budget),
            thinking_level=_given(s.thinking_level),
            affective_dialog=_given(s.affective_dialog),
            proactive_audio=_given(s.proactive_audio),
            media_resolution=_given(s.media_resolution),
            translation=_given(s.translation),
            include_thoughts=bool(_given(s.include_thoughts, False)),
            tools=self._tools,
            non_blocking_tools=self._non_blocking_tools(),
        )
        config.validate()
        return config

    def _non_blocking_tools(self) -> frozenset[str]:
        """Functions whose handlers outlive barge-in are async tools (Pipecat's convention:
        ``register_function(..., cancel_on_interruption=False)``); ``"*"`` for a catch-all."""
        return frozenset(
            "*" if name is None else name
            for name, item in self._functions.items()
            if not item.cancel_on_interruption
        )

    def _service_tools(self) -> ToolsSchema | list[Any] | None:
        """The ``tools=`` given at construction: Pipecat registers the handlers they carry
        (direct functions, ``FunctionSchema(handler=...)``) when no context advertises tools."""
        return self._service_tools_given

    @property
    def accepts_intermediate_function_call_results(self) -> bool:
        """Intermediate results go out as ``willContinue`` responses on models with async
        tools; elsewhere Pipecat drops them with a warning."""
        return self._config.async_tools

    @property
    def session_config(self) -> SessionConfig:
        """The configuration the next ``setup`` message is built from."""
        return self._config

    @property
    def resumption_handle(self) -> str | None:
        """The latest resumption handle (an app can store it to resume the call elsewhere)."""
        return self._session.handle if self._session else None

    def can_generate_metrics(self) -> bool:
        return True

    @property
    def _local_turns(self) -> bool:
        """The server's VAD is off: Pipecat's VAD decides turns, and this service follows."""
        return self._config.vad.disabled

    def service_metadata_frame(self) -> LLMServiceMetadataFrame:
        """A realtime service that announces user turns itself (from server events), unless
        turns are decided locally."""
        return LLMServiceMetadataFrame(
            service_name=self.name,
            is_realtime_service=True,
            user_turn_strategies=None if self._local_turns else ExternalUserTurnStrategies(),
        )

    async def _update_settings(self, delta: LLMSettings) -> dict[str, Any]:  # type: ignore[override]
        """Validate and store new settings; an invalid update is refused, not half-applied."""
        changed = await super()._update_settings(delta)
        if not changed:
            return changed
        try:
            config = self._build_config()
        except ConfigurationError as error:
            for name, old in changed.items():
                setattr(self._settings, name, old)
            await self.push_error(error_msg=f"{self}: settings update refused: {error}")
            return {}
        if "system_instruction" not in changed:
            # Keep an instruction that came from the context rather than the settings.
            config.system_instruction = self._config.system_instruction
        self._config = config
        await self._apply_live(set(changed))
        return changed

    async def _apply_live(self, changed: set[str]) -> None:
        """Apply changed settings to the live call: the instruction in place (contextUpdate),
        anything else by switching to a new connection of the same conversation at the next
        safe point (between replies, no tool call pending)."""
        session = self._session
        if session is None:
            return  # not connected yet: the first setup carries everything
        if "system_instruction" in changed:
            await self._send(
                protocol.context_update(system_instruction=self._config.system_instruction or "")
            )
            changed.discard("system_instruction")
        if not changed:
            return
        if "model" in changed:
            logger.warning(
                f"{self}: the model changed to {self._config.model}; a Live session cannot "
                "change model, so a new one starts (the old conversation is not carried over)"
            )
            session.handle = None
        logger.info(f"{self}: applying {sorted(changed)} by switching connection at a safe point")
        session.request_rotation()

    async def _set_tools(self, tools: ToolsSchema | list[Any] | None) -> None:
        """New tools reach the model in place (contextUpdate); their handlers register."""
        self._service_tools_given = tools
        self._tools = _declarations_from(tools)
        self._sync_registered_tool_handlers(tools)
        self._config.tools = self._tools
        self._config.non_blocking_tools = self._non_blocking_tools()
        if self._session is not None:
            await self._send(protocol.context_update(tools=protocol.declared_tools(self._config)))

    # ------------------------------------------------------------------ lifecycle

    async def start(self, frame: StartFrame) -> None:
        # The connection opens with the first input or context, so a system instruction that
        # arrives in the initial context goes into ``setup`` (no second connect).
        await super().start(frame)
        # The user's transcript goes out before the reply starts (see TurnTracker), so the user
        # aggregator need not hold the user message back for late transcripts (1 s by default),
        # and it lands in the context before any tool call of the reply.
        await self.broadcast_frame(
            STTMetadataFrame, service_name=self.name, ttfs_p99_latency=TRANSCRIPT_SETTLE_SECONDS
        )

    async def stop(self, frame: EndFrame) -> None:
        # A reply the model is still producing finishes first (bounded), so the call does not
        # end mid-sentence; the output transport plays what was pushed before this EndFrame.
        deadline = time.monotonic() + self._end_grace_seconds
        while self._turns.replying and self._session is not None and not self._failed:
            if time.monotonic() > deadline:
                logger.warning(f"{self}: ending with a reply still in progress")
                break
            await asyncio.sleep(0.02)
        await super().stop(frame)
        await self._close_session()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._close_session()

    async def _ensure_session(self) -> LiveSession:
        if self._session is None:
            limit = self._session_limit or process_session_limit()
            if limit is not None and self._holding_slot is None:
                await limit.acquire()  # SessionLimitReached: reported by _send
                self._holding_slot = limit
            # Handlers are usually registered after construction: declare them as they are now,
            # with the instruction Pipecat composed for them (async-tool guidance).
            self._config.non_blocking_tools = self._non_blocking_tools()
            composed = self._settings.system_instruction
            if not self._instruction_from_context and isinstance(composed, str) and composed:
                self._config.system_instruction = composed
            self._session = LiveSession(
                url=self._url,
                headers=self._connection_headers,
                build_setup=lambda handle: protocol.setup(
                    self._config,
                    resume_handle=handle,
                    history_in_client_content=self._history_in_setup(handle),
                ),
                on_event=self._on_event,
                retry=self._retry,
                recorder=self._recorder(),
            )
            self._session.handle = self._initial_handle
            self._session.conversation.uses_resumption = self._config.session_resumption
            await self._session.start()
        return self._session

    def _recorder(self) -> RecordingWriter | None:
        if self._record_to is None:
            return None
        backend = self._config.backend
        return RecordingWriter(
            self._record_to,
            model=protocol.model_resource(
                self._config.model,
                backend,
                project=self._config.vertex_project,
                location=self._config.vertex_location,
            ),
            endpoint="vertex" if backend is Backend.VERTEX else "gemini-api",
            audio=self._record_audio,
            secrets=[self.__api_key],
            source=f"pipecat-gemini-live {self.name}",
        )

    async def _connection_headers(self) -> dict[str, str]:
        """Credentials for one connection attempt. Vertex access tokens are refreshed in a
        thread (google-auth blocks on HTTP) when they are missing or about to expire."""
        if self._vertex is not None and self._vertex.project:
            credentials = await asyncio.to_thread(_fresh_google_credentials, self._vertex)
            headers = {"Authorization": f"Bearer {credentials.token}"}
            quota_project = getattr(credentials, "quota_project_id", None)
            if quota_project:
                headers["x-goog-user-project"] = str(quota_project)
            return headers
        if self.__api_key.startswith("auth_tokens/"):
            return {"Authorization": f"Token {self.__api_key}"}
        return {"x-goog-api-key": self.__api_key}

    async def _close_session(self) -> None:
        self._closed = True  # input arriving after EndFrame/CancelFrame must not reconnect
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        self._release_slot()

    def _release_slot(self) -> None:
        if self._holding_slot is not None:
            self._holding_slot.release()
            self._holding_slot = None

    async def _send(self, message: ClientMessage) -> None:
        session = await self._connect()
        if session is not None:
            await session.send(message)

    send_to_model = _send  # for the service's own rooms (function calls)

    @property
    def live_session(self) -> LiveSession | None:
        """The session with the Live API, once the first input or context opened it."""
        return self._session

    @property
    def context(self) -> LLMContext:
        return self._context

    async def _connect(self) -> LiveSession | None:
        """The session, opened on first use; None once the call has failed or ended."""
        if self._failed or self._closed:
            return None
        try:
            return await self._ensure_session()
        except SessionLimitReached as error:
            await self._on_failed(error)  # one fatal error; nothing opened, nothing to retry
            return None

    # ------------------------------------------------------------------ frames in

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)

        if isinstance(frame, InputAudioRawFrame):
            if not self._audio_paused:
                await self._send_user_audio(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, InputImageRawFrame):
            self._maybe_send_image(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, InputTextRawFrame):
            await self._send(protocol.realtime_text(frame.text))
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMContextFrame):
            await self._handle_context(frame.context)
        elif isinstance(frame, LLMMessagesAppendFrame):
            await self._append_messages(frame.messages, run_llm=bool(frame.run_llm))
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMSetToolsFrame):
            await self._set_tools(
                frame.tools if isinstance(frame.tools, (ToolsSchema, list)) else None
            )
        elif isinstance(frame, InterruptionFrame):
            await self._apply(self._turns.on_local_interruption())
            await self.push_frame(frame, direction)
        elif isinstance(frame, UserStartedSpeakingFrame):
            await self._on_local_user_started()
            await self.push_frame(frame, direction)
        elif isinstance(frame, UserStoppedSpeakingFrame):
            await self._on_local_user_stopped()
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Tool results are broadcast by the base class; the downstream copy is sent here."""
        if direction is FrameDirection.DOWNSTREAM and isinstance(frame, FunctionCallResultFrame):
            await self._function_calls.result(frame)
        elif direction is FrameDirection.DOWNSTREAM and isinstance(frame, FunctionCallCancelFrame):
            await self._function_calls.cancelled_locally(frame)
        await super().push_frame(frame, direction)

    async def _send_user_audio(self, frame: InputAudioRawFrame) -> None:
        try:
            chunks = self._input.push(frame.audio, frame.sample_rate, frame.num_channels)
        except AudioFormatError as error:
            # A frame that cannot be audio (no rate, no channels): reported, once per kind,
            # and the conversation goes on with the frames that are.
            await self._report_unusable_input("input audio frame", error)
            return
        for issue in self._input.take_issues():
            logger.warning(f"{self}: input audio: {issue.message}")
        if not chunks:
            return  # most frames only top up the next chunk
        now = time.time()
        for chunk in chunks:
            voiced = self._speech.on_chunk_sent(pcm16_rms(chunk), now)
            await self._send(protocol.realtime_audio(chunk))
            if voiced and self._session is not None:
                self._session.note_user_speech()  # no connection switch mid-turn
            if self._local_turns:
                self._preroll.append(chunk)

    async def _report_unusable_input(self, what: str, error: Exception) -> None:
        """One ErrorFrame per kind of bad input frame, not one per frame (a camera or a
        transport sends the same bad frame many times a second)."""
        if str(error) not in self._reported_input_errors:
            self._reported_input_errors.add(str(error))
            await self.push_error(error_msg=f"{self}: unusable {what}: {error}")

    def set_audio_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending the microphone to the model, e.g. while on hold; the
        frames still flow down the pipeline."""
        self._audio_paused = paused

    def set_video_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending camera/screen images to the model."""
        self._video_paused = paused

    def _maybe_send_image(self, frame: InputImageRawFrame) -> None:
        """Paced, and one encode at a time: a frame arriving while the last one is still being
        encoded is skipped rather than queued (the newest picture is the useful one)."""
        if self._video_paused or self._failed or self._closed:
            return
        if self._video_task is not None and not self._video_task.done():
            return
        speaking = self._turns.user is UserPhase.SPEAKING
        if self._video.should_send(time.monotonic(), user_speaking=speaking):
            self._video_task = self.create_task(self._send_image(frame), name="encode_image")

    async def _send_image(self, frame: InputImageRawFrame) -> None:
        try:
            jpeg = await asyncio.to_thread(
                encode_jpeg, frame.image, frame.size, frame.format, self._video.settings
            )
        except ImageFormatError as error:
            await self._report_unusable_input("image frame", error)
            return
        await self._send(protocol.realtime_video(jpeg))

    async def _on_local_user_started(self) -> None:
        if self._local_turns:
            await self._send(protocol.activity_start())
            # Pipecat's VAD fires after the speech began; the server ignored that audio
            # (it came before activityStart), so it goes again inside the activity.
            while self._preroll:
                await self._send(protocol.realtime_audio(self._preroll.popleft()))

    async def _on_local_user_stopped(self) -> None:
        if self._local_turns:
            for chunk in self._input.flush():
                await self._send(protocol.realtime_audio(chunk))
            self._preroll.clear()
            await self._send(protocol.activity_end())

    async def _handle_context(self, context: LLMContext) -> None:
        """The first context seeds the conversation. Later ones are mostly the aggregators'
        record of what the model already heard, which is not sent again; what the app added
        itself (``LLMMessagesAppendFrame``, then ``LLMRunFrame``) is sent as new content."""
        self._context = context
        if isinstance(context.tools, ToolsSchema):
            declarations = _declarations_from(context.tools)
            if declarations != self._tools:
                await self._set_tools(context.tools)
        messages = context.get_messages()
        instruction = history.system_instruction(messages)
        if instruction and instruction != self._config.system_instruction:
            self._instruction_from_context = True
            self._config.system_instruction = instruction
            if self._session is not None:
                await self._send(protocol.context_update(system_instruction=instruction))
        if self._seeded:
            await self._send_unheard(messages)
            return
        self._seeded = True
        self._context_seen = len(messages)
        turns = self._conversation_turns(messages)
        if self._turns.conversation_started:
            # The aggregators' first record of a conversation the model is already having
            # (realtime mode writes the user message when the reply starts): sending it
            # would make the model answer the same words twice.
            return
        if not turns:
            await self._connect()  # nothing to seed: connect now, the user speaks first
            return
        self._seed_queued = True
        await self._send_content(turns, turn_complete=True)

    async def _send_unheard(self, messages: list[Any]) -> None:
        """Send the user messages added since the last context that the model has not heard.

        The user aggregator consumes ``LLMMessagesAppendFrame`` and ``LLMRunFrame`` and only
        passes the context on, so an app's message reaches this service as a new context entry
        beside the entries the aggregators recorded from this service's own transcripts, replies
        and tool calls. Those are skipped; the rest goes to the model. It is asked to answer
        unless the context also records a user turn it is answering already (the aggregator's
        hand-off of the user's speech, which a message appended without ``run_llm`` rides on).
        """
        fresh, self._context_seen = messages[self._context_seen :], len(messages)
        unheard, user_turn_recorded = [], False
        for message in fresh:
            if not isinstance(message, dict) or message.get("role") != "user":
                continue  # replies, tool calls and results, notices: the model made or got them
            if self._is_recorded_transcript(message):
                user_turn_recorded = True
            elif history.message_text(message).strip():
                unheard.append(message)  # (images reached the model as video already)
        if unheard:
            await self._append_messages(unheard, run_llm=not user_turn_recorded)

    def _is_recorded_transcript(self, message: dict[str, Any]) -> bool:
        """Whether this user message is the aggregator's record of sentences this service
        transcribed, in order. When it is, those sentences and any older ones (recorded in a
        context seen before) are forgotten."""
        text = history.message_text(message).strip()
        sentences = list(self._transcribed)
        for start in range(len(sentences)):
            rest, end = text, start
            while rest and end < len(sentences) and rest.startswith(sentences[end]):
                rest = rest[len(sentences[end]) :].strip()
                end += 1
            if end > start and not rest:
                for _ in range(end):
                    self._transcribed.popleft()
                return True
        return False

    async def _reseed(self) -> None:
        """A new session replaced a lost one (no usable handle): give the model the
        conversation so far, as recorded by the context aggregators, without asking it to reply."""
        turns = self._conversation_turns(self._context.get_messages())
        if turns:
            logger.warning(
                f"{self}: the session could not be resumed; re-seeding {len(turns)} turns"
            )
            await self._send_content(turns, turn_complete=False)

    def _conversation_turns(self, messages: list[Any]) -> list[dict[str, Any]]:
        function_parts = self._config.capabilities.history_function_parts
        return history.conversation_turns(messages, function_parts=function_parts)

    async def _send_content(self, turns: list[dict[str, Any]], *, turn_complete: bool) -> None:
        """History or a turn as ``clientContent``. A model that answers content only after
        realtime input (3.8) gets a blank realtime text after a completed turn."""
        await self._send(protocol.client_content(turns, turn_complete=turn_complete))
        if turn_complete and self._config.capabilities.content_needs_realtime_input:
            await self._send(protocol.realtime_text(" "))

    def _history_in_setup(self, handle: str | None) -> bool:
        """Whether a new connection's setup announces history in clientContent: only for a
        model that takes history so (3.1), only for a fresh session, and only when there is
        history to seed (the server does not listen until it arrives, so a bare pipeline
        would never be heard)."""
        if self._config.capabilities.mid_session_client_content or handle is not None:
            return False
        return self._seed_queued or bool(self._conversation_turns(self._context.get_messages()))

    async def _append_messages(self, messages: list[Any], *, run_llm: bool) -> None:
        turns = self._conversation_turns(messages)
        caps = self._config.capabilities
        if caps.mid_session_client_content or not self._turns.conversation_started:
            if turns or run_llm:
                await self._send_content(turns, turn_complete=run_llm)
            return
        # This model takes clientContent only as initial history (it closes the call with
        # 1007 otherwise): user text goes in as realtime text, which it does accept.
        for turn in turns:
            texts = [part["text"] for part in turn["parts"] if "text" in part]
            if turn["role"] == "user" and texts:
                await self._send(protocol.realtime_text(" ".join(texts)))
            else:
                logger.warning(
                    f"{self}: {caps.model} accepts no {turn['role']} messages mid-session; "
                    f"not sent: {texts}"
                )

    # ------------------------------------------------------------------ events out

    async def _on_event(self, event: ServerEvent | SessionEvent) -> None:
        """Map one server or session event to frames. Reads as a table."""
        if isinstance(event, AudioChunk):
            await self._on_audio(event)
        elif isinstance(event, OutputTranscript):
            await self._on_output_transcript(event)
        elif isinstance(event, ModelText):
            await self._on_model_text(event)
        elif isinstance(event, InputTranscript):
            await self._apply(self._turns.on_input_transcript(event.text, event.finished))
        elif isinstance(event, Interrupted):
            await self._on_interrupted()
        elif isinstance(event, GenerationComplete):
            await self._apply(self._turns.on_generation_complete())
        elif isinstance(event, TurnComplete):
            await self._apply(self._turns.on_turn_complete())
            await self._push_grounding()
            await self._report_usage()
        elif isinstance(event, ToolCall):
            await self._on_tool_call(event.calls)
        elif isinstance(event, ToolCallCancellation):
            await self._function_calls.cancelled_by_server(event.ids)
        elif isinstance(event, Usage):
            self._usage.observe(event)
        elif isinstance(event, VoiceActivity):
            await self._apply(self._turns.on_voice_activity(event.started))
        elif isinstance(event, (ResumptionUpdate, GoAway, SetupComplete)):
            pass  # the session acts on these
        elif isinstance(event, CodeExecution):
            # Spoken about by the model itself; kept in the log so nothing is dropped unseen.
            if event.code:
                logger.info(f"{self}: the model ran {event.language or 'code'}:\n{event.code}")
            else:
                logger.info(f"{self}: code execution {event.outcome}: {event.output}")
        elif isinstance(event, GroundingMetadata):
            self._grounding = event  # the latest is the fullest; sent with the turn
        elif isinstance(event, UnknownMessage):
            if event.keys not in self._unknown_reported:
                self._unknown_reported.add(event.keys)
                logger.warning(
                    f"{self}: server sent a message this client does not know: {event.keys}"
                )
        elif isinstance(event, Connected):
            logger.info(
                f"{self}: connected (#{event.connection_number}, "
                f"{'resumed' if event.resumed else 'new session'}, {event.connect_seconds:.2f}s)"
            )
            if not event.resumed and event.connection_number > 1:
                await self._reseed()
        elif isinstance(event, Disconnected):
            await self._apply(self._turns.reset())
        elif isinstance(event, InputOverflow):
            logger.warning(f"{self}: dropped {event.dropped_audio_bytes} bytes of buffered audio")
        elif isinstance(event, Failed):
            await self._on_failed(event.error)

    async def _on_audio(self, event: AudioChunk) -> None:
        deliver, effects = self._turns.on_model_output()
        if not deliver:
            return
        await self._apply(effects)
        if self._ttfb_pending:
            self._ttfb_pending = False
            await self._report_ttfb()
        audio = self._odd_output_byte + event.data
        self._odd_output_byte = audio[len(audio) - len(audio) % 2 :]
        audio = audio[: len(audio) - len(audio) % 2]
        if audio:
            await self.push_frame(
                TTSAudioRawFrame(audio=audio, sample_rate=event.sample_rate, num_channels=1)
            )

    async def _on_output_transcript(self, event: OutputTranscript) -> None:
        if not event.text:
            return
        deliver, effects = self._turns.on_model_output()
        if not deliver:
            return
        await self._apply(effects)
        # LLMTextFrame for RTVI's bot-llm-text (not appended: the TTSTextFrame is, once played).
        text_frame = LLMTextFrame(event.text)
        text_frame.append_to_context = False
        await self.push_frame(text_frame)
        self._reply_text += event.text
        spoken = TTSTextFrame(event.text, text_type="sentence")
        spoken.includes_inter_frame_spaces = True
        await self.push_frame(spoken)

    async def _on_model_text(self, event: ModelText) -> None:
        if event.thought:
            await self.push_frame(LLMThoughtStartFrame())
            await self.push_frame(LLMThoughtTextFrame(event.text))
            await self.push_frame(LLMThoughtEndFrame())
            return
        deliver, effects = self._turns.on_model_output()
        if deliver:
            await self._apply(effects)
            await self.push_frame(LLMTextFrame(event.text))

    async def _on_interrupted(self) -> None:
        # The InterruptionFrame goes out first: the output transport flushes queued audio now.
        await self.stop_all_metrics()
        await self.broadcast_frame(InterruptionFrame)
        await self._handle_interruptions(InterruptionFrame())  # cancels interruptible tools
        await self._apply(self._turns.on_interrupted())

    async def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, UserStarted):
                if not self._local_turns:
                    await self.broadcast_frame(UserStartedSpeakingFrame)
            elif isinstance(effect, UserStopped):
                if not self._local_turns:
                    await self.broadcast_frame(UserStoppedSpeakingFrame)
            elif isinstance(effect, UserSentence):
                await self._push_user_sentence(effect.text)
            elif isinstance(effect, ReplyStarted):
                await self._reply_started(effect.by_tool_call)
            elif isinstance(effect, ReplyEnded):
                await self._reply_ended(effect.interrupted)

    async def _push_user_sentence(self, text: str) -> None:
        self._transcribed.append(text)  # so the aggregators' record of it is not sent back
        for direction in (FrameDirection.UPSTREAM, FrameDirection.DOWNSTREAM):
            await self.push_frame(
                TranscriptionFrame(
                    text=text,
                    user_id="user",
                    timestamp=time_now_iso8601(),
                    language=_given(self._settings.language),
                    finalized=True,
                ),
                direction,
            )

    async def _reply_started(self, by_tool_call: bool = False) -> None:
        self._ttfb_pending = by_tool_call  # measured at the first audio, not at the call
        if not by_tool_call:
            await self._report_ttfb()
        if not self._config.text_output:
            await self.push_frame(TTSStartedFrame())
        await self.push_frame(LLMFullResponseStartFrame())

    async def _report_ttfb(self) -> None:
        speech_end = self._speech.ttfb_start()
        if speech_end is not None and self.metrics_enabled:
            ttfb = max(0.0, time.time() - speech_end)
            await self.push_frame(
                MetricsFrame(
                    data=[
                        TTFBMetricsData(processor=self.name, model=self._config.model, value=ttfb)
                    ]
                )
            )

    async def _reply_ended(self, interrupted: bool) -> None:
        self._odd_output_byte = b""
        if not self._config.text_output:
            await self.push_frame(TTSStoppedFrame())
        if not interrupted:
            # After an interruption the InterruptionFrame already closed the assistant turn.
            await self.push_frame(LLMFullResponseEndFrame())

    async def _push_grounding(self) -> None:
        """Google Search grounding as Pipecat's ``LLMSearchResponseFrame``, once per turn, with
        what the bot said and the sources each part of it rests on."""
        grounding, self._grounding = self._grounding, None
        text, self._reply_text = self._reply_text.strip(), ""
        if grounding is not None:
            await self.push_frame(search_response(grounding, text))

    async def _report_usage(self) -> None:
        """Per turn: Pipecat's usage metric, a cost metric, and the ``on_usage`` event."""
        usage = self._usage.end_turn()
        if usage is None:
            return
        report = self._ledger.add(usage)
        if self.usage_metrics_enabled:
            data: list[MetricsData] = [
                LLMUsageMetricsData(
                    processor=self.name, model=self._config.model, value=to_token_usage(usage)
                )
            ]
            if report.turn_cost_usd is not None and report.session_cost_usd is not None:
                data.append(
                    CostMetricsData(
                        processor=self.name,
                        model=self._config.model,
                        value=report.turn_cost_usd,
                        session_value=report.session_cost_usd,
                    )
                )
            await self.push_frame(MetricsFrame(data=data))
        await self._call_event_handler("on_usage", report)

    @property
    def usage(self) -> CostLedger:
        """Token usage and estimated cost of this call so far (all connections)."""
        return self._ledger

    async def _on_failed(self, error: Exception) -> None:
        self._failed = True
        self._release_slot()
        await self._apply(self._turns.reset())
        await self.push_error(
            error_msg=f"{self}: {error}", exception=error, force_treat_as_permanent=True
        )

    # ------------------------------------------------------------------ tools

    async def _on_tool_call(self, calls: tuple[FunctionCall, ...]) -> None:
        effects = self._turns.on_tool_call()
        await self._apply(effects)
        opened = any(isinstance(e, ReplyStarted) for e in effects)
        self._function_calls.run(calls, after_question=opened)


def _given(value: Any, default: Any = None) -> Any:
    return value if is_given(value) and value is not None else default


def _declarations_from(tools: ToolsSchema | list[Any] | None) -> list[dict[str, Any]]:
    """Pipecat tools -> Live API ``tools`` entries (function declarations + native tools)."""
    if tools is None:
        return []
    native: list[dict[str, Any]] = []
    if isinstance(tools, ToolsSchema):
        standard: list[Any] = list(tools.standard_tools)
        for key, value in (tools.custom_tools or {}).items():
            if key in (AdapterType.GEMINI, "gemini"):
                native.extend(value)
    else:
        standard = [t for t in tools if not isinstance(t, dict)]
        native = [t for t in tools if isinstance(t, dict)]
    declarations = []
    for tool in standard:
        schema = tool if isinstance(tool, FunctionSchema) else _direct_schema(tool)
        declarations.append(
            {
                "name": schema.name,
                "description": schema.description,
                "parametersJsonSchema": {
                    "type": "object",
                    "properties": schema.properties,
                    "required": schema.required,
                },
            }
        )
    entries: list[dict[str, Any]] = []
    if declarations:
        entries.append({"functionDeclarations": declarations})
    entries.extend(native)
    return entries


def _direct_schema(function: Any) -> FunctionSchema:
    from pipecat.adapters.llm.schemas.direct_function import DirectFunctionWrapper

    if not callable(function):
        raise ConfigurationError(
            f"tools entries must be FunctionSchema, direct functions or dicts, got {function!r}."
        )
    return DirectFunctionWrapper(function).to_function_schema()


def search_response(grounding: GroundingMetadata, reply_text: str) -> LLMSearchResponseFrame:
    """Grounding -> Pipecat's ``LLMSearchResponseFrame``: each source with the parts of the
    answer it supports."""
    origins = [LLMSearchOrigin(site_uri=s.uri, site_title=s.title) for s in grounding.sources]
    for support in grounding.supports:
        for index in support.source_indices:
            if 0 <= index < len(origins):
                origins[index].results.append(
                    LLMSearchResult(text=support.text, confidence=list(support.confidence))
                )
    return LLMSearchResponseFrame(
        search_result=reply_text or None,
        rendered_content=grounding.rendered_content,
        origins=origins,
    )


def _fresh_google_credentials(vertex: VertexSettings) -> Any:
    """The Vertex credentials, refreshed if needed (blocking: run in a thread)."""
    import google.auth
    import google.auth.transport.requests

    credentials = vertex.credentials
    if credentials is None:
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        # Cache the default credentials on this settings object's behalf for the next connect.
        object.__setattr__(vertex, "credentials", credentials)
    if not credentials.valid:
        credentials.refresh(google.auth.transport.requests.Request())
    return credentials
