"""GeminiLiveService: the Gemini Live API as one native-audio stage of a Pipecat pipeline.

The class maps frames to actions and events to frames, and little else; each concern has a
room of its own:

========================  ============================================================
:mod:`.settings`          Pipecat settings, defaults, the validated session config
:mod:`.access`            endpoint, credentials, the call's recorder
:mod:`.session`           the connections: rotation, resumption, backoff, input buffer
:mod:`.user_input`        microphone, camera, local-VAD turns -> the model
:mod:`.user_turns`        the user's VAD, turn and transcript frames
:mod:`.reply`             the bot's reply frames: brackets, audio, words, TTFB, usage
:mod:`.context_sync`      the ``LLMContext`` and what the model has heard
:mod:`.function_calls`    tool handlers and their answers
:mod:`.turns`             who is speaking (a pure state machine)
========================  ============================================================
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.adapters.llm.services.gemini_live_adapter import GeminiLiveLLMAdapter
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    EndWorkerFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    InputImageRawFrame,
    InputTextRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMServiceMetadataFrame,
    LLMSetToolsFrame,
    StartFrame,
    STTMetadataFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

from pipecat_gemini_live import protocol, spellings
from pipecat_gemini_live.access import Access
from pipecat_gemini_live.config import SessionConfig, ToolResponseScheduling, VertexSettings
from pipecat_gemini_live.connector import Connector
from pipecat_gemini_live.context_sync import ContextSync
from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.function_calls import FunctionCalls
from pipecat_gemini_live.limits import SessionLimit, SessionLimitReached
from pipecat_gemini_live.model_events import ModelEvents
from pipecat_gemini_live.models import ModelCapabilities
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.pricing import CostLedger, TokenPrices, prices_for
from pipecat_gemini_live.recording import AudioMode
from pipecat_gemini_live.reply import ReplyEmitter
from pipecat_gemini_live.session import (
    LiveSession,
    RetryPolicy,
)
from pipecat_gemini_live.settings import GeminiLiveSettings, LiveConfig, default_settings, given
from pipecat_gemini_live.tls import TrustedCertificates
from pipecat_gemini_live.turns import (
    Effect,
    TurnTracker,
    UserPhase,
)
from pipecat_gemini_live.user_input import UserInput
from pipecat_gemini_live.user_turns import UserTurnFrames
from pipecat_gemini_live.vision import VideoSettings
from pipecat_gemini_live.voices import DEFAULT_VOICE

__all__ = ["GeminiLiveService", "GeminiLiveSettings"]

# The user's transcript goes out before the reply starts (see TurnTracker), so the user
# aggregator need not hold the user message back for late transcripts (1 s by default).
TRANSCRIPT_SETTLE_SECONDS = 0.05


class GeminiLiveService(LLMService):
    """Gemini Live (native audio over WebSocket) as a Pipecat LLM service.

    Replaces an STT -> LLM -> TTS chain: takes ``InputAudioRawFrame`` at any rate and channel
    count, emits 24 kHz ``TTSAudioRawFrame`` replies with transcripts, barge-in, user-turn,
    tool-call and metrics frames. Works with ``LLMContextAggregatorPair`` and in a bare
    ``[transport.input(), llm, transport.output()]`` pipeline.
    """

    Settings = GeminiLiveSettings
    adapter_class = GeminiLiveLLMAdapter
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
        headers: Mapping[str, str] | None = None,
        ssl: TrustedCertificates = None,
        live_connect_config: Any = None,
        inference_on_context_initialization: bool = True,
        end_on_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        """Create the service; every setting is validated here, before any connection.

        Args:
            api_key: Gemini API key; defaults to ``GOOGLE_API_KEY`` then ``GEMINI_API_KEY``.
            base_url: ``ws://127.0.0.1:8765`` for the local emulator, or a ``wss://``/``https://``
                endpoint or proxy. Defaults to Google's.
            model: a Live model id (default: the current stable native-audio model).
            voice: one of the 30 prebuilt voices.
            system_instruction: the system prompt; it wins over a system message in the context.
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
                models that support it): ``WHEN_IDLE`` by default (never cutting the bot off
                mid-sentence), ``INTERRUPT`` or ``SILENT``, for all or per function name. A
                result reported with ``run_llm=False`` is always ``SILENT``.
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
            headers: extra headers for the WebSocket handshake (a proxy's, say).
            ssl: the CA certificate(s) to trust for a private ``wss://`` endpoint: the path
                of a PEM file or an ``ssl.SSLContext`` (the system's CAs otherwise).
            live_connect_config: google-genai's ``types.LiveConnectConfig`` (or its dict) for
                setup fields this service does not model; merged into its setup, and an error
                for a field it does model (it names the setting to use instead).
            inference_on_context_initialization: whether the model answers the first context
                (the bot speaks first); ``False`` seeds it as history only.
            end_on_failure: after a fatal error (a wrong key, an exhausted retry budget), end
                the pipeline (``EndWorkerFrame``); ``False`` leaves that to the app
                (``on_pipeline_error``, or the worker's ``processor_unusable_policy``).
        """
        defaults = default_settings(model=model, system_instruction=system_instruction, voice=voice)
        if settings is not None:
            defaults.apply_update(spellings.translate(settings))
        super().__init__(settings=defaults, **kwargs)
        if not 10 <= input_chunk_ms <= 1000:
            raise ConfigurationError(
                f"input_chunk_ms must be between 10 and 1000 (20-100 recommended), "
                f"got {input_chunk_ms}."
            )
        if record_audio not in ("full", "cut"):
            raise ConfigurationError(f"record_audio must be 'full' or 'cut', got {record_audio!r}.")
        self._access = Access(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            vertex=vertex,
            headers=headers,
            ssl=ssl,
        )
        self._live = LiveConfig(
            model_capabilities=model_capabilities,
            vertex=vertex,
            tools=tools,
            live_connect_config=live_connect_config,
        )
        self._config = self._live.build(self._settings, self._functions)  # validates
        self._end_grace_seconds = end_grace_seconds
        self._end_on_failure = end_on_failure
        self._connector = Connector(
            self._access,
            retry=retry,
            resumption_handle=resumption_handle,
            session_limit=session_limit,
            record_to=record_to,
            record_audio=record_audio,
            name=self.name,
        )
        self._turns = TurnTracker()
        self._failed = False
        self._closed = False
        self._register_event_handler("on_usage")
        self._input = UserInput(
            self,
            chunk_ms=input_chunk_ms,
            local_vad_preroll_ms=local_vad_preroll_ms,
            video=video,
            on_chunk=self._on_chunk_sent,
        )
        self._user = UserTurnFrames(self, self._turns, self._input.chunk_seconds)
        self._reply = ReplyEmitter(
            self,
            self._input.speech,
            model=self._config.model,
            prices=prices if prices is not None else prices_for(self._config.model),
        )
        self._context = ContextSync(self, answer_first_context=inference_on_context_initialization)
        self._function_calls = FunctionCalls(self, async_tool_scheduling)
        self._events = ModelEvents(
            self,
            self._turns,
            reply=self._reply,
            user=self._user,
            context=self._context,
            function_calls=self._function_calls,
        )

    def __repr__(self) -> str:
        return f"{self.name}(model={self._config.model!r}, url={self._access.url!r})"

    # ------------------------------------------------------------------ what others read

    @property
    def url(self) -> str:
        """The WebSocket endpoint this service connects to (no credentials in it)."""
        return self._access.url

    @property
    def session_config(self) -> SessionConfig:
        """The configuration the next ``setup`` message is built from."""
        return self._config

    @property
    def resumption_handle(self) -> str | None:
        """The latest resumption handle (an app can store it to resume the call elsewhere)."""
        return self._connector.session.handle if self._connector.session else None

    @property
    def usage(self) -> CostLedger:
        """Token usage and estimated cost of this call so far (all connections)."""
        return self._reply.ledger

    @property
    def live_session(self) -> LiveSession | None:
        """The session with the Live API, once the first input or context opened it."""
        return self._connector.session

    @property
    def context(self) -> LLMContext:
        return self._context.context

    @property
    def local_turns(self) -> bool:
        """The server's VAD is off: Pipecat's VAD decides turns, and this service follows."""
        return self._config.vad.disabled

    @property
    def open_for_input(self) -> bool:
        return not (self._failed or self._closed)

    @property
    def conversation_started(self) -> bool:
        return self._turns.conversation_started

    @property
    def configured_instruction(self) -> str | None:
        """The instruction Pipecat composed for this service (the base prompt and what it
        appends, such as the async-tool guidance)."""
        composed = self._settings.system_instruction
        return composed if isinstance(composed, str) and composed else None

    @property
    def language(self) -> Any:
        return given(self._settings.language)

    @property
    def accepts_intermediate_function_call_results(self) -> bool:
        """Intermediate results go out as ``willContinue`` responses on models with async
        tools; elsewhere Pipecat drops them with a warning."""
        return self._config.async_tools

    def can_generate_metrics(self) -> bool:
        return True

    def service_metadata_frame(self) -> LLMServiceMetadataFrame:
        """A realtime service that announces user turns itself (from server events), unless
        turns are decided locally."""
        return LLMServiceMetadataFrame(
            service_name=self.name,
            is_realtime_service=True,
            user_turn_strategies=None if self.local_turns else ExternalUserTurnStrategies(),
        )

    # ------------------------------------------------------------------ settings and tools

    def _service_tools(self) -> ToolsSchema | list[Any] | None:
        """The ``tools=`` given at construction: Pipecat registers the handlers they carry
        (direct functions, ``FunctionSchema(handler=...)``) when no context advertises tools."""
        return self._live.tools_given

    async def _update_settings(self, delta: LLMSettings) -> dict[str, Any]:  # type: ignore[override]
        """Validate and store new settings; an invalid update is refused, not half-applied.
        A new instruction applies in place (``contextUpdate``); anything else by switching to
        a new connection of the same conversation at the next safe point."""
        try:
            delta = spellings.translate(delta)  # type: ignore[arg-type]
        except ConfigurationError as error:
            await self.push_error(error_msg=f"{self}: settings update refused: {error}")
            return {}
        changed = await super()._update_settings(delta)
        if not changed:
            return changed
        try:
            config = self._live.build(self._settings, self._functions)
        except ConfigurationError as error:
            for name, old in changed.items():
                setattr(self._settings, name, old)
            await self.push_error(error_msg=f"{self}: settings update refused: {error}")
            return {}
        if "system_instruction" not in changed:
            config.system_instruction = self._config.system_instruction
        self._config = config
        await self._connector.follow(set(changed), self._config)
        return changed

    async def set_instruction(self, instruction: str | None) -> None:
        """The instruction the context's rule chose (see :mod:`.context_sync`)."""
        self._config.system_instruction = instruction
        if self._connector.session is not None:
            update = protocol.context_update(system_instruction=instruction or "")
            await self.send_to_model(update)

    async def _set_tools(self, tools: ToolsSchema | list[Any] | None) -> None:
        """New tools reach the model in place (contextUpdate); their handlers register."""
        self._live.set_tools(tools)
        self._sync_registered_tool_handlers(tools)
        self._declare_tools()
        if self._connector.session is not None:
            declared = protocol.declared_tools(self._config)
            await self.send_to_model(protocol.context_update(tools=declared))

    def _declare_tools(self) -> None:
        builtin = list(self._adapter.builtin_tools.values())
        self._live.declare(self._config, self._functions, builtin)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, frame: StartFrame) -> None:
        # The connection opens with the first input or context, so a system instruction that
        # arrives in the initial context goes into ``setup`` (no second connect).
        await super().start(frame)
        await self.broadcast_frame(
            STTMetadataFrame, service_name=self.name, ttfs_p99_latency=TRANSCRIPT_SETTLE_SECONDS
        )

    async def stop(self, frame: EndFrame) -> None:
        # A reply the model is still producing (or still working on, for thinking models)
        # finishes first, within bounds, so the call does not end mid-sentence.
        deadline = time.monotonic() + self._end_grace_seconds
        while self._busy and self._connector.session and not self._failed:
            if time.monotonic() > deadline:
                logger.warning(f"{self}: ending with a reply still in progress")
                break
            await asyncio.sleep(0.02)
        await super().stop(frame)
        await self._close_session()

    @property
    def _busy(self) -> bool:
        session = self._connector.session
        return self._turns.replying or (session is not None and session.conversation.working)

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._close_session()

    async def connect(self) -> LiveSession | None:
        """The session, opened on first use; None once the call has failed or ended."""
        if not self.open_for_input:
            return None
        if self._connector.session is None:
            # Handlers are usually registered after construction: declare them as they are
            # now, with the instruction Pipecat composed for them, unless the context chose one.
            self._declare_tools()
            if self._config.system_instruction is None:
                self._config.system_instruction = self.configured_instruction
            self._live.warn_of_async_only_calls(self._config, str(self))
        try:
            return await self._connector.open(
                self._config, self._setup_message, self._events.on_event
            )
        except SessionLimitReached as error:
            await self.fail(error)  # one fatal error; nothing opened, nothing to retry
            return None

    def _setup_message(self, handle: str | None) -> ClientMessage:
        return protocol.setup(
            self._config,
            resume_handle=handle,
            history_in_client_content=self._context.history_in_setup(handle),
        )

    async def send_to_model(self, message: ClientMessage) -> None:
        session = await self.connect()
        if session is not None:
            await session.send(message)

    async def _close_session(self) -> None:
        self._closed = True  # input arriving after EndFrame/CancelFrame must not reconnect
        self._user.close()
        await self._connector.close()

    async def fail(self, error: Exception) -> None:
        """The call cannot go on (a fatal close, a spent retry budget, a full session limit)."""
        self._failed = True
        self._connector.release()
        await self.apply(self._turns.reset())
        await self.push_error(
            error_msg=f"{self}: {error}", exception=error, force_treat_as_permanent=True
        )
        if self._end_on_failure:
            # Pipecat's worker leaves an unusable processor to the app by default; a call
            # that cannot reach the model is over, so it ends (cleanly, queued frames first).
            end = EndWorkerFrame(reason=f"{self}: {error}")
            await self.push_frame(end, FrameDirection.UPSTREAM)

    # ------------------------------------------------------------------ frames in

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if type(frame) is InputAudioRawFrame:
            # The microphone, 50 frames a second: only the base processor's part (observers)
            # runs in and out. Pipecat's LLM service layers act on none of a system frame that
            # is not theirs (their checks cost more than converting it), and push_frame's
            # overrides (here, LLMService's, its mixin's) look at tool, text and response
            # frames; the speculation gate lets system frames through. Subclasses (a
            # transport's UserAudioRawFrame) take the whole chain, below.
            await FrameProcessor.process_frame(self, frame, direction)
            await self._input.audio(frame)
            await FrameProcessor.push_frame(self, frame, direction)
            return
        await super().process_frame(frame, direction)

        if isinstance(frame, InputAudioRawFrame):
            await self._input.audio(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, InputImageRawFrame):
            self._input.image(frame, user_speaking=self._turns.user is UserPhase.SPEAKING)
            await self.push_frame(frame, direction)
        elif isinstance(frame, InputTextRawFrame):
            await self._context.typed_text(frame.text)
            frame.append_to_context = False  # the user's words, not the bot's
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMContextFrame):
            await self._on_context(frame.context)
        elif isinstance(frame, LLMMessagesAppendFrame):
            await self._context.on_append(frame.messages, run_llm=bool(frame.run_llm))
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMSetToolsFrame):
            tools = frame.tools if isinstance(frame.tools, (ToolsSchema, list)) else None
            await self._set_tools(tools)
        elif isinstance(frame, InterruptionFrame):
            await self.push_frame(frame, direction)  # before the reply closes (see reply.py)
            await self.apply(self._turns.on_local_interruption())
        elif isinstance(frame, UserStartedSpeakingFrame):
            if self.local_turns:
                await self._input.local_user_started()
            await self.push_frame(frame, direction)
        elif isinstance(frame, UserStoppedSpeakingFrame):
            if self.local_turns:
                await self._input.local_user_stopped()
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

    async def _on_context(self, context: LLMContext) -> None:
        if isinstance(context.tools, ToolsSchema) and not self._live.declares(context.tools):
            await self._set_tools(context.tools)
        await self._context.on_context(context)

    async def _on_chunk_sent(self, voiced: bool, sent_at: float) -> None:
        await self._user.chunk_sent(voiced, sent_at)

    # ------------------------------------------------------------------ events out

    async def apply(self, effects: list[Effect]) -> None:
        """What the turn tracker says happened, as frames (see :mod:`.model_events`)."""
        await self._events.apply(effects)

    # ------------------------------------------------------------------ inputs paused

    def set_audio_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending the microphone to the model, e.g. while on hold; the
        frames still flow down the pipeline."""
        self._input.audio_paused = paused

    def set_video_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending camera/screen images to the model."""
        self._input.video_paused = paused
