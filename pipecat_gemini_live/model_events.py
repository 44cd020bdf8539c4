"""What the model and the session say, as frames: each server or session event goes through
the turn tracker (who is speaking) to the room that makes its frames (the reply, the user's
turn, the context, the tool calls). Two tables: events in, the tracker's effects out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger
from pipecat.frames.frames import InterruptionFrame

from pipecat_gemini_live.events import (
    AudioChunk,
    CodeExecution,
    FunctionCall,
    GenerationComplete,
    GroundingMetadata,
    InputTranscript,
    InterimInputTranscript,
    Interrupted,
    ModelText,
    OutputTranscript,
    ServerEvent,
    ToolCall,
    ToolCallCancellation,
    TurnComplete,
    UnknownMessage,
    Usage,
    VadSignal,
    VoiceActivity,
)
from pipecat_gemini_live.session import Connected, Disconnected, Failed, InputOverflow, SessionEvent
from pipecat_gemini_live.turns import (
    Effect,
    ReplyEnded,
    ReplyStarted,
    TurnTracker,
    UserSentence,
    UserStarted,
    UserStopped,
)

if TYPE_CHECKING:
    from pipecat_gemini_live.context_sync import ContextSync
    from pipecat_gemini_live.function_calls import FunctionCalls
    from pipecat_gemini_live.reply import ReplyEmitter
    from pipecat_gemini_live.service import GeminiLiveService
    from pipecat_gemini_live.user_turns import UserTurnFrames

NOTABLE_TURN_ENDS = {
    "MALFORMED_FUNCTION_CALL": "the model made a function call it could not express",
    "RESPONSE_REJECTED": "the model's response was rejected",
    "PROHIBITED_INPUT_CONTENT": "the input was refused as prohibited content",
    "IMAGE_PROHIBITED_INPUT_CONTENT": "an image was refused as prohibited content",
}


class ModelEvents:
    def __init__(
        self,
        service: GeminiLiveService,
        turns: TurnTracker,
        *,
        reply: ReplyEmitter,
        user: UserTurnFrames,
        context: ContextSync,
        function_calls: FunctionCalls,
    ) -> None:
        self._service = service
        self._turns = turns
        self._reply = reply
        self._user = user
        self._context = context
        self._function_calls = function_calls
        self._unknown_reported: set[tuple[str, ...]] = set()

    async def on_event(self, event: ServerEvent | SessionEvent) -> None:
        """Map one server or session event to frames. Reads as a table."""
        if isinstance(event, AudioChunk):
            if await self._deliver():
                await self._reply.audio(event)
        elif isinstance(event, OutputTranscript):
            if event.text and await self._deliver():
                await self._reply.words(event)
        elif isinstance(event, ModelText):
            if event.thought:
                await self._reply.thought(event)
            elif await self._deliver():
                await self._reply.text(event)
        elif isinstance(event, InputTranscript):
            await self.apply(self._turns.on_input_transcript(event.text, event.finished))
        elif isinstance(event, InterimInputTranscript):
            await self._user.interim(event.text)
        elif isinstance(event, (VoiceActivity, VadSignal)):
            await self.apply(self._turns.on_voice_activity(event.started))
        elif isinstance(event, Interrupted):
            await self._on_interrupted()
        elif isinstance(event, GenerationComplete):
            await self.apply(self._turns.on_generation_complete())
        elif isinstance(event, TurnComplete):
            await self._on_turn_complete(event)
        elif isinstance(event, ToolCall):
            await self._on_tool_call(event.calls)
        elif isinstance(event, ToolCallCancellation):
            await self._function_calls.cancelled_by_server(event.ids)
        elif isinstance(event, Usage):
            self._reply.usage_seen(event)
        elif isinstance(event, GroundingMetadata):
            self._reply.grounding(event)
        elif isinstance(event, (CodeExecution, UnknownMessage, InputOverflow)):
            self._log(event)  # nothing to do but say so: nothing is dropped unseen
        elif isinstance(event, Connected):
            self._log(event)
            if not event.resumed and event.connection_number > 1:
                await self._context.reseed()
        elif isinstance(event, Disconnected):
            await self.apply(self._turns.reset())
        elif isinstance(event, Failed):
            await self._service.fail(event.error)
        # setupComplete, sessionResumptionUpdate, goAway and interactionStatus: the session
        # acts on them (its conversation state says whether the model is still working).

    async def apply(self, effects: list[Effect]) -> None:
        """What the turn tracker says happened, as frames. Reads as a table."""
        for effect in effects:
            if isinstance(effect, UserStarted):
                await self._user.started()
            elif isinstance(effect, UserStopped):
                await self._user.stopped()
            elif isinstance(effect, UserSentence):
                self._context.heard(effect.text)
                await self._user.sentence(effect.text)
            elif isinstance(effect, ReplyStarted):
                await self._reply.started()
            elif isinstance(effect, ReplyEnded):
                await self._reply.ended()

    async def _deliver(self) -> bool:
        """Model output arrived: open the reply if it is the first, or drop it if it belongs
        to a generation the user interrupted."""
        deliver, effects = self._turns.on_model_output()
        if deliver:
            await self.apply(effects)
        return deliver

    async def _on_interrupted(self) -> None:
        """Barge-in, as the server saw it: Pipecat's interruption first (the output transport
        flushes queued audio; the service's queue is reset), then interruptible tools are
        cancelled, then the reply closes."""
        await self._reply.interrupted()
        await self._service.broadcast_interruption()
        await self._service._handle_interruptions(InterruptionFrame())
        await self.apply(self._turns.on_interrupted())

    async def _on_turn_complete(self, event: TurnComplete) -> None:
        await self.apply(self._turns.on_turn_complete())
        await self._reply.turn_complete()
        if event.reason in NOTABLE_TURN_ENDS:
            logger.warning(f"{self._service}: turn ended early: {NOTABLE_TURN_ENDS[event.reason]}")

    async def _on_tool_call(self, calls: tuple[FunctionCall, ...]) -> None:
        effects = self._turns.on_tool_call()
        await self.apply(effects)
        opened = any(isinstance(e, ReplyStarted) for e in effects)
        self._function_calls.run(calls, after_question=opened)

    def _log(self, event: CodeExecution | UnknownMessage | InputOverflow | Connected) -> None:
        who = self._service
        if isinstance(event, CodeExecution):  # the model speaks about it itself
            ran = f"ran {event.language or 'code'}:\n{event.code}"
            result = f"'s code {event.outcome}: {event.output}"
            logger.info(f"{who}: the model{' ' + ran if event.code else result}")
        elif isinstance(event, UnknownMessage) and event.keys not in self._unknown_reported:
            self._unknown_reported.add(event.keys)
            logger.warning(f"{who}: server sent a message this client does not know: {event.keys}")
        elif isinstance(event, InputOverflow):
            logger.warning(f"{who}: dropped {event.dropped_audio_bytes} bytes of buffered audio")
        elif isinstance(event, Connected):
            kind = "resumed" if event.resumed else "new session"
            number, seconds = event.connection_number, event.connect_seconds
            logger.info(f"{who}: connected (#{number}, {kind}, {seconds:.2f}s)")
