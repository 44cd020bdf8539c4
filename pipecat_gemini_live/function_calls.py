"""The Pipecat side of tool calls: run the handlers, answer the model, honour cancellations.

Pipecat's ``LLMService`` runs the handlers (``register_function``, timeouts, parallel or not)
and reports back with ``FunctionCallResultFrame``/``FunctionCallCancelFrame``; this turns those
into function responses as the model expects them. Which calls exist and whether one may still
be answered is the :class:`~pipecat_gemini_live.tools.ToolLedger`'s to say (the session owns
it); this class only asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger
from pipecat.frames.frames import FunctionCallCancelFrame, FunctionCallResultFrame
from pipecat.services.llm_service import FunctionCallFromLLM

from pipecat_gemini_live import protocol
from pipecat_gemini_live.config import ToolResponseScheduling
from pipecat_gemini_live.events import FunctionCall
from pipecat_gemini_live.tools import ToolLedger

if TYPE_CHECKING:
    from pipecat_gemini_live.service import GeminiLiveService

# A reply that opens with a call: the user aggregator writes the user's words this long after
# the reply starts, while the call goes straight to the assistant aggregator. Running the call
# after that (plus the queues) keeps the question before the call in the context; the model is
# waiting for the result anyway.
QUESTION_FIRST_SECONDS = 0.1


class FunctionCalls:
    def __init__(
        self,
        service: GeminiLiveService,
        scheduling: ToolResponseScheduling | Mapping[str, ToolResponseScheduling],
    ) -> None:
        self._service = service
        self._scheduling = scheduling
        self._runs: set[asyncio.Task[None]] = set()
        self._previous: asyncio.Task[None] | None = None
        self._intermediate_sent: set[str] = set()

    @property
    def _ledger(self) -> ToolLedger | None:
        session = self._service.live_session
        return session.tools if session is not None else None

    def run(self, calls: tuple[FunctionCall, ...], *, after_question: bool) -> None:
        """Run the handlers of new calls, in order, without holding up the receive loop (a
        reply's audio keeps flowing while the question settles into the context)."""
        task = asyncio.get_running_loop().create_task(
            self._run(calls, self._previous, QUESTION_FIRST_SECONDS if after_question else 0.0)
        )
        self._previous = task
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _run(
        self,
        calls: tuple[FunctionCall, ...],
        previous: asyncio.Task[None] | None,
        delay: float,
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        if delay:
            await asyncio.sleep(delay)
        ledger = self._ledger
        still_open = [c for c in calls if ledger is not None and ledger.is_open(c.id)]
        if still_open:
            await self._service.run_function_calls(
                [
                    FunctionCallFromLLM(
                        function_name=call.name,
                        tool_call_id=call.id,
                        arguments=call.args,
                        context=self._service.context,
                    )
                    for call in still_open
                ]
            )

    async def cancelled_by_server(self, ids: tuple[str, ...]) -> None:
        """The server dropped these calls: stop their handlers; no response will be sent."""
        cancelled = set(ids)
        await self._service._cancel_function_call_tasks(
            lambda item: item.tool_call_id in cancelled, reason="cancelled by the server"
        )
        self._call_closed()

    async def result(self, frame: FunctionCallResultFrame) -> None:
        """Answer a call as the handler reported: final results close it, intermediate ones
        (``is_final=False``) go out with ``willContinue`` and keep it open."""
        ledger, call_id = self._ledger, frame.tool_call_id
        call = ledger.get(call_id) if ledger is not None else None
        if ledger is None or call is None or not ledger.is_open(call_id):
            logger.debug(f"{self._service}: not answering tool call {call_id}: it is closed")
            return
        if frame.error:
            response: dict[str, Any] = {"error": frame.error}
        elif isinstance(frame.result, dict):
            response = frame.result
        else:
            response = {"result": frame.result}
        final = frame.properties.is_final if frame.properties else True
        config = self._service.session_config
        scheduling, will_continue = None, None
        if config.is_non_blocking(call.name):
            scheduling = self._scheduling_for(call.name, frame).value
            if not final:
                will_continue = True
                self._intermediate_sent.add(call_id)
            elif call_id in self._intermediate_sent:
                will_continue = False  # a generator of results ends with an explicit last one
        elif not final:
            logger.warning(
                f"{self._service}: {call.name} reported an intermediate result, but it is a "
                "blocking call (only async tools take them); it is not sent, the final result "
                "will be"
            )
            return
        await self._respond(call_id, response, scheduling, will_continue)
        if final:
            ledger.answered(call_id)
            self._call_closed()

    async def cancelled_locally(self, frame: FunctionCallCancelFrame) -> None:
        """A handler Pipecat cancelled. After a timeout the model is told the call failed, so
        it can say so (it would wait forever otherwise); after barge-in the server has dropped
        the call itself, and nothing is sent."""
        ledger, call_id = self._ledger, frame.tool_call_id
        call = ledger.get(call_id) if ledger is not None else None
        if ledger is None or call is None or not ledger.is_open(call_id):
            return
        if frame.run_llm:
            error = (
                f"{call.name} did not finish in time and was cancelled; tell the user it failed."
            )
            non_blocking = self._service.session_config.is_non_blocking(call.name)
            scheduling = ToolResponseScheduling.INTERRUPT.value if non_blocking else None
            await self._respond(call_id, {"error": error}, scheduling, None)
        ledger.cancelled_locally(call_id)
        self._call_closed()

    async def _respond(
        self,
        call_id: str,
        response: dict[str, Any],
        scheduling: str | None,
        will_continue: bool | None,
    ) -> None:
        ledger = self._ledger
        call = ledger.get(call_id) if ledger is not None else None
        if call is None:
            return
        # The server's id goes back, on Vertex too: the recorded Vertex calls carry it, and
        # 3.8 on Vertex drops a response without one (LiveKit's plugin notes it). A call that
        # came without an id is answered by name only, as it was made. Scheduling is never
        # sent to Vertex (it refuses it, livekit/agents#3853; is_non_blocking is off there).
        item = protocol.function_response(
            call.wire_id or None,
            call.name,
            response,
            scheduling=scheduling,
            will_continue=will_continue,
        )
        try:
            message = protocol.tool_response([(call_id, item)])
        except (TypeError, ValueError) as error:
            # A result JSON cannot hold (a datetime, a set, an object): the model must still
            # get an answer, or it waits for this call forever.
            await self._service.push_error(
                error_msg=f"{self._service}: the result of tool {call.name!r} cannot be sent to "
                f"the model ({error}). Return only JSON values (dict, list, str, int, float, "
                "bool, None); the model was told the call failed."
            )
            failure = f"{call.name} returned a result that could not be encoded."
            item["response"] = {"error": failure}
            message = protocol.tool_response([(call_id, item)])
        await self._service.send_to_model(message)

    def _scheduling_for(self, name: str, frame: FunctionCallResultFrame) -> ToolResponseScheduling:
        if frame.properties is not None and frame.properties.run_llm is False:
            return ToolResponseScheduling.SILENT
        chosen = self._scheduling
        if isinstance(chosen, Mapping):
            return chosen.get(name, ToolResponseScheduling.WHEN_IDLE)
        return chosen

    def _call_closed(self) -> None:
        session = self._service.live_session
        if session is not None:
            session.call_closed()
