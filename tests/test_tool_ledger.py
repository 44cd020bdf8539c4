"""Every function call of the conversation and where it stands, and Pipecat tools as Live API
declarations: what the session and the service ask the ledger, as plain calls."""

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema

from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.events import FunctionCall
from pipecat_gemini_live.tools import (
    SYNTHETIC_PREFIX,
    CallState,
    ToolLedger,
    TrackedCall,
    declarations_from,
)


def call(call_id: str, name: str = "get_weather", **args) -> FunctionCall:
    return FunctionCall(call_id, name, args)


def test_a_new_call_is_pending_under_the_servers_id_with_its_name_and_arguments():
    ledger = ToolLedger()
    (tracked,) = ledger.receive((call("c1", city="Paris"),))
    assert tracked == TrackedCall("c1", "c1", "get_weather", {"city": "Paris"})
    assert tracked.state is CallState.PENDING
    assert ledger.get("c1") is tracked
    assert ledger.pending == {"c1"} and ledger.is_open("c1")


def test_a_repeated_delivery_of_a_call_is_dropped_and_the_new_calls_beside_it_kept():
    ledger = ToolLedger()
    ledger.receive((call("c1"),))
    fresh = ledger.receive((call("c1"), call("c2", "get_time")))
    assert [c.id for c in fresh] == ["c2"]
    assert ledger.pending == {"c1", "c2"}


def test_a_repeated_delivery_of_an_answered_call_is_not_run_again():
    ledger = ToolLedger()
    ledger.receive((call("c1"),))
    ledger.answered("c1")
    assert ledger.receive((call("c1"),)) == []
    assert not ledger.is_open("c1")


def test_calls_without_an_id_are_each_new_and_get_an_id_of_their_own():
    # The model would wait forever if the second looked like the first delivered twice.
    ledger = ToolLedger()
    first, second = ledger.receive((call(""), call("", "get_time")))
    (third,) = ledger.receive((call(""),))
    ids = [first.id, second.id, third.id]
    assert len(set(ids)) == 3 and all(i.startswith(SYNTHETIC_PREFIX) for i in ids)
    # Their responses carry only the name: the server knows no id for them.
    assert (first.wire_id, second.wire_id, third.wire_id) == ("", "", "")
    assert ledger.pending == set(ids)
    assert ledger.get(second.id).name == "get_time"


def test_the_ledger_keeps_its_own_copy_of_the_arguments():
    ledger = ToolLedger()
    arguments = {"city": "Paris"}
    (tracked,) = ledger.receive((FunctionCall("c1", "get_weather", arguments),))
    arguments["city"] = "Rome"
    assert tracked.args == {"city": "Paris"}


def test_an_unknown_call_is_not_open_and_nothing_about_it_changes():
    ledger = ToolLedger()
    assert ledger.get("nope") is None
    assert not ledger.is_open("nope") and not ledger.is_void("nope")
    assert ledger.cancelled_locally("nope") is False
    ledger.answered("nope")
    assert ledger.get("nope") is None and ledger.pending == set()


def test_an_answered_call_is_closed_once():
    ledger = ToolLedger()
    ledger.receive((call("c1"), call("c2")))
    ledger.answered("c1")
    assert ledger.get("c1").state is CallState.ANSWERED
    assert not ledger.is_open("c1") and ledger.pending == {"c2"}
    # A late cancellation does not turn an answered call into a cancelled one.
    assert ledger.cancelled_by_server(("c1",)) == []
    assert ledger.cancelled_locally("c1") is False
    assert ledger.get("c1").state is CallState.ANSWERED


def test_the_servers_cancellation_names_the_pending_calls_it_ends_by_the_packages_ids():
    ledger = ToolLedger()
    ledger.receive((call("c1"), call("c2"), call("c3"), call("")))
    ledger.answered("c2")
    ended = ledger.cancelled_by_server(("c3", "c2", "unknown", "c1"))
    assert ended == ["c3", "c1"]  # in the server's order; answered and unknown ones left out
    assert ledger.get("c1").state is CallState.CANCELLED
    assert not ledger.is_open("c3")
    assert ledger.cancelled_by_server(("c1",)) == []  # ended once
    (synthetic,) = ledger.pending
    assert synthetic.startswith(SYNTHETIC_PREFIX)  # it has no wire id to be cancelled by


def test_a_local_cancellation_closes_a_pending_call_once():
    ledger = ToolLedger()
    ledger.receive((call("c1"),))
    assert ledger.cancelled_locally("c1") is True
    assert ledger.get("c1").state is CallState.CANCELLED and not ledger.is_open("c1")
    assert ledger.cancelled_locally("c1") is False
    ledger.answered("c1")  # a result that comes after all is not a final answer
    assert ledger.get("c1").state is CallState.CANCELLED


def test_a_lost_conversation_voids_its_pending_calls_only():
    ledger = ToolLedger()
    ledger.receive((call("c2"), call("c1"), call("c3")))
    ledger.answered("c3")
    assert ledger.void_pending() == ["c1", "c2"]  # sorted
    assert ledger.is_void("c1") and ledger.is_void("c2") and not ledger.is_void("c3")
    assert ledger.pending == set() and not ledger.is_open("c1")
    assert ledger.get("c3").state is CallState.ANSWERED
    assert ledger.cancelled_locally("c1") is False  # void stays void
    assert ledger.void_pending() == []


# ----------------------------------------------------------------------------- declarations

WEATHER = FunctionSchema(
    name="get_weather",
    description="The weather in a city.",
    properties={"city": {"type": "string"}},
    required=["city"],
)
WEATHER_DECLARATION = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parametersJsonSchema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
SEARCH = {"googleSearch": {}}


def test_no_tools_declare_nothing():
    assert declarations_from(None) == []
    assert declarations_from([]) == []
    assert declarations_from(ToolsSchema(standard_tools=[])) == []


def test_a_tools_schema_becomes_function_declarations_then_its_gemini_tools():
    tools = ToolsSchema(
        standard_tools=[WEATHER],
        custom_tools={AdapterType.GEMINI: [SEARCH], AdapterType.OPENAI: [{"type": "web"}]},
    )
    assert declarations_from(tools) == [{"functionDeclarations": [WEATHER_DECLARATION]}, SEARCH]


def test_gemini_tools_keyed_by_name_are_taken_too():
    tools = ToolsSchema(standard_tools=[], custom_tools={"gemini": [SEARCH]})  # type: ignore[dict-item]
    assert declarations_from(tools) == [SEARCH]


def test_a_list_of_tools_takes_schemas_direct_functions_and_native_dicts():
    async def get_time(params, timezone: str):
        """The time in a timezone.

        Args:
            timezone: an IANA timezone name.
        """

    (functions, native) = declarations_from([WEATHER, SEARCH, get_time])
    names = [d["name"] for d in functions["functionDeclarations"]]
    assert names == ["get_weather", "get_time"]
    direct = functions["functionDeclarations"][1]
    assert direct["description"] == "The time in a timezone."
    assert direct["parametersJsonSchema"]["required"] == ["timezone"]
    assert native == SEARCH


def test_a_tool_that_is_neither_schema_function_nor_dict_is_refused_by_name():
    with pytest.raises(ConfigurationError, match=r"FunctionSchema, direct functions or dicts.*42"):
        declarations_from([42])
