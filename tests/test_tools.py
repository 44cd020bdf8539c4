"""Tool calls through register_function, against the emulator: what the model gets back."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import TTSTextFrame

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import running_bot, silence, speech


def responses(emu: LiveEmulator) -> dict[str, list[dict]]:
    return emu.sessions[0].tool_responses


def spoken(bot) -> str:
    return "".join(f.text for f in bot.tail.frames(TTSTextFrame))


async def converse_with_tools(reply: Reply, handlers: dict) -> LiveEmulator:
    """One spoken turn whose reply calls tools; returns the emulator once the turn is over."""
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        for name, handler in handlers.items():
            llm.register_function(name, handler)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(
                lambda: (
                    bool(emu.sessions and emu.sessions[0].turns)
                    and "usage" in emu.sessions[0].turns[0]
                ),
                10,
            )
            emu.bot = bot  # type: ignore[attr-defined]
        return emu


async def test_a_tool_call_runs_the_handler_and_answers_with_the_id_and_the_name():
    seen = []

    async def get_weather(params):
        seen.append(params.arguments)
        await params.result_callback({"forecast": "sunny"})

    reply = Reply(
        tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="call-1")],
        after_tool=Reply(text="It is sunny."),
    )
    emu = await converse_with_tools(reply, {"get_weather": get_weather})
    assert seen == [{"city": "Paris"}]
    assert responses(emu) == {
        "call-1": [{"id": "call-1", "name": "get_weather", "response": {"forecast": "sunny"}}]
    }
    spoken = "".join(f.text for f in emu.bot.tail.frames(TTSTextFrame))  # type: ignore[attr-defined]
    assert spoken.strip() == "It is sunny."


async def test_parallel_calls_and_falsy_results_are_sent_as_returned():
    async def zero(params):
        await params.result_callback(0)

    async def false(params):
        await params.result_callback(False)

    async def empty_list(params):
        await params.result_callback([])

    async def empty_dict(params):
        await params.result_callback({})

    reply = Reply(
        tool_calls=[
            ToolCallSpec("zero", id="a"),
            ToolCallSpec("false", id="b"),
            ToolCallSpec("empty_list", id="c"),
            ToolCallSpec("empty_dict", id="d"),
        ],
        after_tool=Reply(text="Done."),
    )
    handlers = {"zero": zero, "false": false, "empty_list": empty_list, "empty_dict": empty_dict}
    emu = await converse_with_tools(reply, handlers)
    sent = {call_id: items[0]["response"] for call_id, items in responses(emu).items()}
    assert sent == {"a": {"result": 0}, "b": {"result": False}, "c": {"result": []}, "d": {}}
    names = {call_id: items[0]["name"] for call_id, items in responses(emu).items()}
    assert names == {"a": "zero", "b": "false", "c": "empty_list", "d": "empty_dict"}


async def test_a_handler_that_raises_sends_an_error_the_model_can_recover_from():
    async def broken(params):
        raise RuntimeError("database is down")

    reply = Reply(tool_calls=[ToolCallSpec("lookup", id="x")], after_tool=Reply(text="Sorry."))
    emu = await converse_with_tools(reply, {"lookup": broken})
    (response,) = responses(emu)["x"]
    assert response["name"] == "lookup"
    assert "database is down" in str(response["response"])


async def test_a_repeated_delivery_of_the_same_call_runs_once():
    runs = []

    async def book(params):
        runs.append(params.tool_call_id)
        await params.result_callback("booked")

    reply = Reply(
        tool_calls=[ToolCallSpec("book", id="same")],
        duplicate_tool_call=True,
        after_tool=Reply(text="Booked."),
    )
    emu = await converse_with_tools(reply, {"book": book})
    assert runs == ["same"]
    assert len(responses(emu)["same"]) == 1


async def test_a_call_the_server_cancels_stops_its_handler_and_is_never_answered():
    """The model gives up on a call (toolCallCancellation) while its handler is still working:
    the handler is stopped then and there, with the call still going on (not merely when the
    pipeline shuts down), its result never reaches the model, and the next question is
    answered as usual."""
    outcome: list[str] = []

    async def slow(params):
        outcome.append("started")
        try:
            await asyncio.sleep(1.0)  # longer than the server waits (0.3 s)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("answered")
        await params.result_callback("too late")

    replies = [
        Reply(tool_calls=[ToolCallSpec("slow", id="s")], cancel_tool_calls_after=0.3),
        Reply(text="Anything else?", input_transcript="Never mind."),
    ]
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder(replies)) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        llm.register_function("slow", slow)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            session = await emu.wait_for_session()
            await emu.wait_until(lambda: "toolCallCancellation" in str(session.server_messages))
            await bot.wait_for(lambda: len(outcome) >= 2, 3)
            assert outcome == ["started", "cancelled"]
            await asyncio.sleep(1.0)  # past the moment the handler would have answered
            assert outcome == ["started", "cancelled"]
            assert session.tool_responses == {}

            await bot.say(speech(0.6, seed=2) + silence(0.8))
            await bot.wait_for(lambda: "Anything else?" in spoken(bot), 5)
        assert session.tool_responses == {}


async def test_calls_in_one_message_run_one_after_another_when_pipecat_says_so():
    spans: dict[str, list[float]] = {}

    def timed(name: str):
        async def handler(params):
            spans[name] = [asyncio.get_running_loop().time()]
            await asyncio.sleep(0.2)
            spans[name].append(asyncio.get_running_loop().time())
            await params.result_callback(name)

        return handler

    reply = Reply(
        tool_calls=[ToolCallSpec("first", id="1"), ToolCallSpec("second", id="2")],
        after_tool=Reply(text="Both done."),
    )
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, run_in_parallel=False)
        llm.register_function("first", timed("first"))
        llm.register_function("second", timed("second"))
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: len(emu.sessions[0].tool_responses) == 2, 10)
    assert spans["second"][0] >= spans["first"][1]  # started only after the first finished
