"""The ``LLMContext`` and what the model has heard: seeding, appends, typed text, re-seeding.

A Live session keeps its own conversation, so the context is not sent whole each turn: the
first context seeds the session (the bot speaks first if it ends with the user's turn); later
contexts are mostly the aggregators' record of what the model already heard (its own replies,
tool calls, the user's transcribed words), and only what the app added itself is sent. The
instruction follows Pipecat's rule (the configured one wins; developer messages are user
turns), and the per-model rules for history are the capability table's.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection

from pipecat_gemini_live import history, protocol

if TYPE_CHECKING:
    from pipecat_gemini_live.config import SessionConfig
    from pipecat_gemini_live.service import GeminiLiveService

BLANK_USER_TURN = {"role": "user", "parts": [{"text": " "}]}


class ContextSync:
    def __init__(self, service: GeminiLiveService, *, answer_first_context: bool = True) -> None:
        self._service = service
        self._answer_first_context = answer_first_context
        self.context = LLMContext()
        self._seeded = False
        self._seed_queued = False  # the first context's history is on its way to the model
        self._seen = 0  # context messages already heard by (or sent to) the model
        self._heard: deque[str] = deque(maxlen=64)  # user words the model heard, not recorded yet

    @property
    def _config(self) -> SessionConfig:
        return self._service.session_config

    # ------------------------------------------------------------------ frames

    async def on_context(self, context: LLMContext) -> None:
        """The first context seeds the conversation. Later ones are mostly the aggregators'
        record of what the model already heard, which is not sent again; what the app added
        itself (``LLMMessagesAppendFrame``, then ``LLMRunFrame``) is sent as new content."""
        self.context = context
        messages = context.get_messages()
        if self._seeded:
            await self._send_unheard(messages)
            return
        self._seeded = True
        self._seen = len(messages)
        instruction, conversation = history.split_instruction(
            messages, self._service.configured_instruction
        )
        if instruction != self._config.system_instruction:
            await self._service.set_instruction(instruction)
        turns = self._turns(conversation)
        if self._service.conversation_started:
            # The aggregators' first record of a conversation the model is already having
            # (realtime mode writes the user message when the reply starts): sending it
            # would make the model answer the same words twice.
            return
        if not turns:
            await self._service.connect()  # nothing to seed: connect now, the user speaks first
            return
        self._seed_queued = True
        await self._send_content(turns, turn_complete=self._answer_first_context)

    async def on_append(self, messages: list[Any], *, run_llm: bool) -> None:
        """Messages the app appended (``LLMMessagesAppendFrame``) with no aggregator between."""
        await self._append(messages, run_llm=run_llm)

    async def typed_text(self, text: str) -> None:
        """Typed text goes to the model as realtime text, and into the context as the user's
        message (the user aggregator passes ``InputTextRawFrame`` on without recording it)."""
        await self._service.send_to_model(protocol.realtime_text(text))
        self._heard.append(text.strip())
        message: Any = {"role": "user", "content": text}
        await self._service.push_frame(
            LLMMessagesAppendFrame([message], run_llm=False), FrameDirection.UPSTREAM
        )

    def heard(self, sentence: str) -> None:
        """The user said this (transcribed): its record in the context is not sent back."""
        self._heard.append(sentence)

    async def reseed(self) -> None:
        """A new session replaced a lost one (no usable handle): give the model the
        conversation so far, as recorded by the context aggregators, without asking it to reply."""
        _, conversation = history.split_instruction(
            self.context.get_messages(), self._config.system_instruction
        )
        turns = self._turns(conversation)
        if turns:
            logger.warning(
                f"{self._service}: the session could not be resumed; re-seeding {len(turns)} turns"
            )
            await self._send_content(turns, turn_complete=False)

    def history_in_setup(self, handle: str | None) -> bool:
        """Whether a new connection's setup announces history in clientContent: only for a
        model that takes history so (3.1), only for a fresh session, and only when there is
        history to seed (the server does not listen until it arrives, so a bare pipeline
        would never be heard)."""
        if self._config.capabilities.mid_session_client_content or handle is not None:
            return False
        return self._seed_queued or bool(self._turns(self.context.get_messages()))

    # ------------------------------------------------------------------ what is sent

    async def _send_unheard(self, messages: list[Any]) -> None:
        """Send the messages added since the last context that the model has not heard.

        The user aggregator consumes ``LLMMessagesAppendFrame`` and ``LLMRunFrame`` and only
        passes the context on, so an app's message reaches this service as a new context entry
        beside the entries the aggregators recorded from this service's own transcripts, replies
        and tool calls. Those are skipped; the rest goes to the model. It is asked to answer
        unless the context also records a user turn it is answering already (the aggregator's
        hand-off of the user's speech, which a message appended without ``run_llm`` rides on).
        """
        fresh, self._seen = messages[self._seen :], len(messages)
        unheard, user_turn_recorded = [], False
        for message in fresh:
            if not isinstance(message, dict) or message.get("role") not in (
                "user",
                *history.SYSTEM_ROLES,
            ):
                continue  # replies, tool calls and results: the model made or got them
            if message.get("role") == "user" and self._is_recorded(message):
                user_turn_recorded = True
            elif history.message_text(message).strip():
                unheard.append(message)  # (images reached the model as video already)
        if unheard:
            await self._append(unheard, run_llm=not user_turn_recorded)

    def _is_recorded(self, message: dict[str, Any]) -> bool:
        """Whether this user message is the aggregator's record of words the model heard, in
        order. When it is, those and any older ones (recorded in a context seen before) are
        forgotten."""
        text = history.message_text(message).strip()
        sentences = list(self._heard)
        for start in range(len(sentences)):
            rest, end = text, start
            while rest and end < len(sentences) and rest.startswith(sentences[end]):
                rest = rest[len(sentences[end]) :].strip()
                end += 1
            if end > start and not rest:
                for _ in range(end):
                    self._heard.popleft()
                return True
        return False

    async def _append(self, messages: list[Any], *, run_llm: bool) -> None:
        turns = self._turns(messages)
        caps = self._config.capabilities
        if caps.mid_session_client_content or not self._service.conversation_started:
            if turns or run_llm:
                await self._send_content(turns, turn_complete=run_llm)
            return
        # This model takes clientContent only as initial history (it closes the call with
        # 1007 otherwise): user text goes in as realtime text, which it does accept.
        for turn in turns:
            texts = [part["text"] for part in turn["parts"] if "text" in part]
            if turn["role"] == "user" and texts:
                await self._service.send_to_model(protocol.realtime_text(" ".join(texts)))
            else:
                logger.warning(
                    f"{self._service}: {caps.model} accepts no {turn['role']} messages "
                    f"mid-session; not sent: {texts}"
                )

    def _turns(self, messages: list[Any]) -> list[dict[str, Any]]:
        function_parts = self._config.capabilities.history_function_parts
        return history.conversation_turns(messages, function_parts=function_parts)

    async def _send_content(self, turns: list[dict[str, Any]], *, turn_complete: bool) -> None:
        """History or a turn as ``clientContent``, as the model wants it: a completed seed that
        ends with the model's turn gets a blank user turn after it (2.5 refuses it otherwise),
        and a model that answers content only after realtime input (3.8) gets a blank realtime
        text after a completed turn."""
        caps = self._config.capabilities
        if turn_complete and caps.seed_ends_with_user and turns and turns[-1]["role"] == "model":
            turns = [*turns, BLANK_USER_TURN]
        send = self._service.send_to_model
        await send(protocol.client_content(turns, turn_complete=turn_complete))
        if turn_complete and caps.content_needs_realtime_input:
            await send(protocol.realtime_text(" "))
