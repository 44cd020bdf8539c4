"""Async (NON_BLOCKING) tools, response scheduling, intermediate results, timeouts and barge-in,
against the emulator: what reaches the wire, and what the model does with it."""

from __future__ import annotations

import asyncio
from typing import Any

from pipecat.frames.frames import FunctionCallResultProperties, InterruptionFrame, TTSTextFrame

from pipecat_gemini_live import GeminiLiveService, ToolResponseScheduling
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import Bot, running_bot, silence, speech

LONG = "Meanwhile, a sentence that lasts a while, so a result can arrive while it is spoken."


def declarations(emu: LiveEmulator) -> dict[str, dict[str, Any]]:
    return {
        function["name"]: function
        for tool in emu.sessions[0].setup.get("tools") or []
        for function in tool.get("function_declarations") or []
    }


async def converse(
    replies: list[Reply],
    register: Any,
    *,
    until: Any,
    model: str | None = None,
    scheduling: Any = ToolResponseScheduling.INTERRUPT,
    turns: int = 1,
    tools: tuple[str, ...] = ("track_order",),
    pace: float = 0.0,
) -> tuple[LiveEmulator, Bot]:
    """Spoken turns against a scripted model, until ``until(session)`` holds. ``pace`` > 0
    makes the model speak in (accelerated) real time, so results can land mid-reply."""
    responder = ScriptedResponder(replies)
    async with LiveEmulator(api_key="test-key", responder=responder, pace=pace) as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            model=model,
            tools=[_schema(name) for name in tools],
            async_tool_scheduling=scheduling,
        )
        register(llm)
        async with running_bot([llm]) as bot:
            for _ in range(turns):
                await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: bool(emu.sessions) and until(emu.sessions[0]), 15)
        return emu, bot


def result_spoken(session: Any) -> bool:
    """The async result has been spoken, as a model turn of its own, and that turn is over."""
    return (
        any(r["spoken"] for r in session.async_results)
        and len(session.turns) >= 2
        and "usage" in session.turns[-1]
    )


def spoken(bot: Bot) -> str:
    return "".join(frame.text for frame in bot.tail.frames(TTSTextFrame))


async def test_async_tools_are_declared_non_blocking_and_the_rest_blocking():
    async def handler(params):
        await params.result_callback("ok")

    def register(llm: GeminiLiveService) -> None:
        llm.register_function("track_order", handler, cancel_on_interruption=False)
        llm.register_function("get_time", handler)

    async with LiveEmulator(api_key="test-key") as emu:
        for model, expected in (
            ("gemini-3.8-live", {"track_order": "NON_BLOCKING", "get_time": "BLOCKING"}),
            ("gemini-3.1-flash-live-preview", {"track_order": None, "get_time": None}),
        ):
            emu.sessions.clear()
            llm = GeminiLiveService(
                api_key="test-key",
                base_url=emu.base_url,
                model=model,
                tools=[_schema("track_order"), _schema("get_time")],
            )
            register(llm)
            assert llm.accepts_intermediate_function_call_results is (model == "gemini-3.8-live")
            async with running_bot([llm]) as bot:
                await bot.say(silence(0.2))
                await emu.wait_for_session()
            found = {name: d.get("behavior") for name, d in declarations(emu).items()}
            assert found == expected, model


def _schema(name: str) -> Any:
    from pipecat.adapters.llm.schemas.function_schema import FunctionSchema

    return FunctionSchema(name=name, description=name, properties={}, required=[])


def _async_reply(call_id: str = "t1") -> Reply:
    """Says a word, calls the async tool, and keeps talking for a few seconds."""
    return Reply(
        text="Let me check.",
        tool_calls=[ToolCallSpec("track_order", {"order": "42"}, id=call_id)],
        after_tool=Reply(text=LONG),
    )


def _register_async(result: Any = "shipped", *, delay: float = 0.4, **properties: Any):
    async def track_order(params):
        await asyncio.sleep(delay)
        props = FunctionCallResultProperties(**properties) if properties else None
        await params.result_callback(result, properties=props)

    def register(llm: GeminiLiveService) -> None:
        llm.register_function("track_order", track_order, cancel_on_interruption=False)

    return register


async def test_interrupt_scheduling_cuts_the_reply_short_and_speaks_the_result():
    emu, bot = await converse(
        [_async_reply()],
        _register_async(),
        pace=2.0,
        until=result_spoken,
    )
    session = emu.sessions[0]
    (response,) = session.tool_responses["t1"]
    assert response["scheduling"] == "INTERRUPT" and response["response"] == {"result": "shipped"}
    (result,) = session.async_results
    assert result["interrupted_reply"] and result["spoken"]
    # The long reply was cut short: the user heard an interruption, then the result.
    assert bot.tail.frames(InterruptionFrame)
    text = spoken(bot)
    assert "The track_order result is in." in text
    assert LONG.split(", ")[-1] not in text  # the end of the long reply never played


async def test_when_idle_scheduling_waits_for_the_reply_to_finish():
    emu, bot = await converse(
        [_async_reply()],
        _register_async(),
        scheduling={"track_order": ToolResponseScheduling.WHEN_IDLE},
        pace=2.0,
        until=result_spoken,
    )
    session = emu.sessions[0]
    assert session.tool_responses["t1"][0]["scheduling"] == "WHEN_IDLE"
    (result,) = session.async_results
    assert not result["interrupted_reply"]
    text = spoken(bot)
    # The whole reply, then the result.
    assert text.index("while it is spoken.") < text.index("The track_order result is in.")
    assert session.interruptions == 0


async def test_a_result_reported_with_run_llm_false_is_silent():
    emu, bot = await converse(
        [_async_reply()],
        _register_async(run_llm=False),
        until=lambda s: bool(s.async_results) and len(s.turns) >= 1 and "usage" in s.turns[0],
    )
    session = emu.sessions[0]
    assert session.tool_responses["t1"][0]["scheduling"] == "SILENT"
    assert session.async_results[0]["spoken"] is False
    assert len(session.turns) == 1  # no extra model turn for the result
    assert "result is in" not in spoken(bot)


async def test_intermediate_results_keep_the_call_open_until_the_final_one():
    async def track_order(params):
        await params.result_callback(
            {"status": "packing"}, properties=FunctionCallResultProperties(is_final=False)
        )
        await asyncio.sleep(0.2)
        await params.result_callback({"status": "shipped"})

    def register(llm: GeminiLiveService) -> None:
        llm.register_function("track_order", track_order, cancel_on_interruption=False)

    emu, _ = await converse(
        [_async_reply()],
        register,
        scheduling=ToolResponseScheduling.WHEN_IDLE,
        until=lambda s: len(s.tool_responses.get("t1", [])) == 2 and not s.async_calls,
    )
    first, final = emu.sessions[0].tool_responses["t1"]
    assert first["will_continue"] is True and first["response"] == {"status": "packing"}
    # The last of a generator of results says so (as Pipecat's built-in does).
    assert final["will_continue"] is False and final["response"] == {"status": "shipped"}
    assert [r["will_continue"] for r in emu.sessions[0].async_results] == [True, False]


async def test_a_model_without_async_tools_gets_plain_blocking_responses():
    emu, bot = await converse(
        [_async_reply()],
        _register_async(delay=0.0),
        model="gemini-3.1-flash-live-preview",
        until=lambda s: bool(s.turns) and "usage" in s.turns[0],
    )
    (response,) = emu.sessions[0].tool_responses["t1"]
    assert "scheduling" not in response and "will_continue" not in response
    assert emu.sessions[0].async_results == []  # the model waited for it: a blocking call
    assert "The track_order result is in." not in spoken(bot)


async def test_a_handler_that_times_out_gets_an_error_response_and_the_call_goes_on():
    cancelled = asyncio.Event()

    async def lookup(params):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def register(llm: GeminiLiveService) -> None:
        llm.register_function("lookup", lookup, timeout_secs=0.3)

    reply = Reply(
        tool_calls=[ToolCallSpec("lookup", id="slow")], after_tool=Reply(text="Sorry about that.")
    )
    emu, bot = await converse(
        [reply],
        register,
        tools=("lookup",),
        until=lambda s: bool(s.turns) and "usage" in s.turns[0],
    )
    assert cancelled.is_set()
    (response,) = emu.sessions[0].tool_responses["slow"]
    assert response["name"] == "lookup"
    assert "did not finish in time" in response["response"]["error"]
    assert "Sorry about that." in spoken(bot)


async def test_barge_in_cancels_a_blocking_handler_and_spares_an_async_one():
    """The user talks over a reply whose blocking call is still running: that handler is
    stopped at the barge-in (it would have answered after 1 s, well before the call ends), and
    nothing is ever sent for it; the async call carries on and its result is spoken."""
    blocking: list[str] = []

    async def book_table(params):
        blocking.append("started")
        try:
            await asyncio.sleep(1.0)  # done before the async result (1.5 s) ends the story
        except asyncio.CancelledError:
            blocking.append("cancelled")
            raise
        blocking.append("answered")
        await params.result_callback("booked")

    async def track_order(params):
        await asyncio.sleep(1.5)
        await params.result_callback("shipped")

    def register(llm: GeminiLiveService) -> None:
        llm.register_function("book_table", book_table)
        llm.register_function("track_order", track_order, cancel_on_interruption=False)

    def settled(session: Any) -> bool:
        """The async result is spoken, and the blocking handler has ended one way or the other
        while the call is still going on."""
        async_spoken = "async" in session.tool_responses and any(
            r["spoken"] for r in session.async_results
        )
        return async_spoken and len(blocking) >= 2

    reply = Reply(
        text="One moment.",
        tool_calls=[ToolCallSpec("track_order", id="async"), ToolCallSpec("book_table", id="b")],
        after_tool=Reply(text="Done."),
    )
    emu, _ = await converse(
        [reply, Reply(text="Sure.")],
        register,
        tools=("track_order", "book_table"),
        turns=2,  # the second turn barges in while book_table is still running
        until=settled,
    )
    session = emu.sessions[0]
    assert blocking == ["started", "cancelled"]  # stopped by the barge-in, not at shutdown
    assert "b" not in session.tool_responses  # nothing is sent for a cancelled call
    assert session.tool_responses["async"][0]["response"] == {"result": "shipped"}
    assert session.interruptions >= 1
