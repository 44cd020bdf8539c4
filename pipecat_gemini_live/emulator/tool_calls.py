"""The emulated model's tool calls: making them, waiting for answers, async results.

Blocking calls hold the reply until every one is answered (or ``cancel_tool_calls_after``
passes: ``toolCallCancellation``); NON_BLOCKING ones let the model talk on, and their results
come back as new model turns, as their ``scheduling`` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import TYPE_CHECKING, Any

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.behaviour import Reply, UserTurn

if TYPE_CHECKING:
    from pipecat_gemini_live.emulator.model import EmulatedModel


class ToolCalling:
    def __init__(self, model: EmulatedModel) -> None:
        self.model = model
        self.session = model.session
        self.pending: set[str] = set()  # blocking calls not answered yet
        self.answered = asyncio.Event()
        self._ids = model.profile.call_id_source(seed=zlib.crc32(model.session.id.encode()))

    def cancel_pending(self) -> list[str]:
        """Barge-in: the pending calls are dropped (announced with toolCallCancellation)."""
        ids = sorted(self.pending)
        self.pending.clear()
        return ids

    async def on_response(self, response: dict[str, Any]) -> None:
        session = self.session
        for item in response.get("function_responses") or []:
            call_id = str(item.get("id") or "")
            if not call_id:
                call_id = self._call_by_name(item)
                dropped = self.model.profile.rules.drop_idless_blocking_responses
                if dropped and call_id in self.pending:
                    session.ignored_responses.append(item)  # 3.8 on Vertex: never answered
                    continue
            session.tool_responses.setdefault(call_id, []).append(item)
            self.pending.discard(call_id)
            if call_id in session.async_calls:
                await self._on_async_result(call_id, item)
        if not self.pending:
            self.answered.set()

    def _call_by_name(self, item: dict[str, Any]) -> str:
        """Responses without ids (Vertex) answer the open call of that name (the oldest)."""
        name = item.get("name")
        for call in self.session.tool_calls_sent:
            open_call = call["id"] in self.pending or call["id"] in self.session.async_calls
            if call["name"] == name and open_call:
                return str(call["id"])
        return ""

    async def after_tool(self, reply: Reply) -> Reply | None:
        after = reply.after_tool
        if after is not None and not isinstance(after, Reply):  # built from the results
            calls = self.session.tool_calls_sent[-len(reply.tool_calls) :]
            responses = self.session.tool_responses
            made = after([r[-1] for c in calls if (r := responses.get(c["id"]))])
            after = made if isinstance(made, Reply) else await made
        return after

    async def call(self, reply: Reply, *, close_turn: bool) -> bool:
        """Blocking calls hold the reply until answered; NON_BLOCKING ones do not (the model
        goes on talking, and their results come back as new model turns). ``close_turn``: the
        turn that made the calls completes at once (Vertex live)."""
        session = self.session
        calls: list[dict[str, Any]] = []
        blocking: set[str] = set()
        for spec in reply.tool_calls:
            call_id = spec.id if spec.id is not None else next(self._ids)
            if session.non_blocking(spec.name):
                session.async_calls[call_id] = spec.name
            else:
                blocking.add(call_id)
            call: dict[str, Any] = {"name": spec.name, "args": spec.args}
            if call_id:
                call["id"] = call_id
            calls.append(call)
        self.pending = blocking
        self.answered = asyncio.Event()
        session.tool_calls_sent.extend({"id": c.get("id", ""), **c} for c in calls)
        message = wire.encode({"toolCall": {"functionCalls": calls}})
        await self.model.out.send(message)
        if reply.duplicate_tool_call:
            await self.model.out.send(message)
        if close_turn:
            if (
                not reply.text
                and self.model.transcribing
                and (self.model.profile.transcript_finished != "never")
            ):
                await self.model.speaker.finish_transcript()
            await self.model.finish(generation_complete=True)
        if not blocking:
            return True
        try:
            await asyncio.wait_for(self.answered.wait(), reply.cancel_tool_calls_after)
        except asyncio.TimeoutError:
            unanswered = sorted(self.pending)
            self.pending.clear()
            await self.model.out.send(wire.encode({"toolCallCancellation": {"ids": unanswered}}))
            return False
        return True

    async def _on_async_result(self, call_id: str, item: dict[str, Any]) -> None:
        """A NON_BLOCKING call's result, handled as its ``scheduling`` says: INTERRUPT (the
        default) cuts a reply short and speaks now, WHEN_IDLE speaks once the reply is over,
        SILENT is taken in without a word."""
        session = self.session
        name = session.async_calls[call_id]
        will_continue = bool(item.get("will_continue"))
        if not will_continue:
            del session.async_calls[call_id]
        scheduling = str(item.get("scheduling") or "INTERRUPT")
        record: dict[str, Any] = {
            "id": call_id,
            "name": name,
            "scheduling": scheduling,
            "will_continue": will_continue,
            "spoken": False,
            "interrupted_reply": False,
        }
        session.async_results.append(record)
        if scheduling == "SILENT":
            return
        previous = self.model.reply_task if self.model.replying else None
        if previous is not None and scheduling == "INTERRUPT":
            record["interrupted_reply"] = True
            await self.model.barge_in(force=True)
            previous = None
        text = f"Update on {name}." if will_continue else f"The {name} result is in."

        async def speak_result() -> None:
            if previous is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await previous
            record["spoken"] = True
            await self.model.answer(UserTurn("tool_result"), Reply(text=text))

        self.model.reply_task = asyncio.create_task(speak_result())
