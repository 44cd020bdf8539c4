"""Tool calls: the one owner of their state, and the translation of Pipecat tools. Pure.

:class:`ToolLedger` knows every function call of the conversation: its id (the server's, or
one made up here for a call that came without: the model would otherwise wait forever, since a
second id-less call would look like the first one delivered twice), its name, and where it
stands: pending, answered, cancelled by the server or locally, or void (its conversation was
lost). The session asks it whether a call is pending (no connection switch then) and which
calls a lost conversation takes with it; the service asks it what a result answers and whether
it may still be sent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pipecat_gemini_live.events import FunctionCall

SYNTHETIC_PREFIX = "gemini-live-call-"


class CallState(str, Enum):
    PENDING = "pending"
    ANSWERED = "answered"
    CANCELLED = "cancelled"  # by the server, or by Pipecat (timeout, barge-in)
    VOID = "void"  # its conversation could not be resumed


@dataclass
class TrackedCall:
    """One function call. ``id`` is how this package names it; ``wire_id`` is the server's
    (``""`` when the call came without one: its response then carries only the name)."""

    id: str
    wire_id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    state: CallState = CallState.PENDING


class ToolLedger:
    def __init__(self) -> None:
        self._calls: dict[str, TrackedCall] = {}
        self._by_wire_id: dict[str, str] = {}
        self._numbers = itertools.count(1)

    def receive(self, calls: tuple[FunctionCall, ...]) -> list[TrackedCall]:
        """The calls of one ``toolCall`` that are new: a call whose id was seen before is a
        repeated delivery and is dropped; a call without an id is always new."""
        fresh = []
        for call in calls:
            if call.id and call.id in self._by_wire_id:
                continue
            own_id = call.id or f"{SYNTHETIC_PREFIX}{next(self._numbers)}"
            tracked = TrackedCall(own_id, call.id, call.name, dict(call.args))
            self._calls[own_id] = tracked
            if call.id:
                self._by_wire_id[call.id] = own_id
            fresh.append(tracked)
        return fresh

    def get(self, call_id: str) -> TrackedCall | None:
        return self._calls.get(call_id)

    @property
    def pending(self) -> set[str]:
        return {i for i, call in self._calls.items() if call.state is CallState.PENDING}

    def is_open(self, call_id: str) -> bool:
        """Whether a result for this call may still be sent."""
        call = self._calls.get(call_id)
        return call is not None and call.state is CallState.PENDING

    def answered(self, call_id: str) -> None:
        """A final result went out for this call."""
        self._move(call_id, CallState.ANSWERED)

    def cancelled_by_server(self, wire_ids: tuple[str, ...]) -> list[str]:
        """``toolCallCancellation``: the pending calls it names (by this package's ids)."""
        ids = [self._by_wire_id[w] for w in wire_ids if w in self._by_wire_id]
        return [i for i in ids if self._move(i, CallState.CANCELLED)]

    def cancelled_locally(self, call_id: str) -> bool:
        """Pipecat cancelled the handler; True if the call was still pending."""
        return self._move(call_id, CallState.CANCELLED)

    def void_pending(self) -> list[str]:
        """The conversation was lost: its pending calls can never be answered."""
        void = sorted(self.pending)
        for call_id in void:
            self._calls[call_id].state = CallState.VOID
        return void

    def is_void(self, call_id: str) -> bool:
        call = self._calls.get(call_id)
        return call is not None and call.state is CallState.VOID

    def _move(self, call_id: str, state: CallState) -> bool:
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.PENDING:
            return False
        call.state = state
        return True


def declarations_from(tools: Any) -> list[dict[str, Any]]:
    """Pipecat tools (a ``ToolsSchema``, or a list of ``FunctionSchema``/direct functions/
    provider-native dicts) -> Live API ``tools`` entries."""
    from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
    from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema

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


def _direct_schema(function: Any) -> Any:
    from pipecat.adapters.llm.schemas.direct_function import DirectFunctionWrapper

    from pipecat_gemini_live.errors import ConfigurationError

    if not callable(function):
        raise ConfigurationError(
            f"tools entries must be FunctionSchema, direct functions or dicts, got {function!r}."
        )
    return DirectFunctionWrapper(function).to_function_schema()
