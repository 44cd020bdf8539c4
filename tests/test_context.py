"""Context and tools arriving the Pipecat ways, and the per-model rules for history."""

from __future__ import annotations

import asyncio

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema
from pipecat.frames.frames import (
    InputTextRawFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMMessagesAppendFrame,
    LLMRunFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import running_bot, silence, speech

WEATHER = FunctionSchema(
    "get_weather", "Weather for a city", {"city": {"type": "string"}}, ["city"]
)
MODEL_25 = "gemini-2.5-flash-native-audio-preview-12-2025"  # takes function parts in history
TOOL_HISTORY = [
    {"role": "user", "content": "Check the weather in Rome."},
    {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call-7",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call-7", "content": '{"forecast": "rain"}'},
    {"role": "assistant", "content": "It will rain in Rome."},
    {"role": "user", "content": "And tomorrow?"},
]


async def test_tools_from_the_context_and_native_tools_reach_setup():
    tools = ToolsSchema(
        standard_tools=[WEATHER], custom_tools={AdapterType.GEMINI: [{"googleSearch": {}}]}
    )
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(LLMContext(tools=tools)))
            await emu.wait_for_session()
        setup_tools = emu.sessions[0].setup["tools"]
        declaration = setup_tools[0]["function_declarations"][0]
        assert declaration["name"] == "get_weather"
        assert declaration["parameters_json_schema"]["required"] == ["city"]
        assert {"google_search": {}} in setup_tools


async def test_direct_functions_are_declared_and_run_without_register_function():
    async def get_time(params, city: str):
        """Current time in a city.

        Args:
            city: The city.
        """
        await params.result_callback(f"noon in {city}")

    reply = Reply(
        tool_calls=[ToolCallSpec("get_time", {"city": "Oslo"}, id="t")],
        after_tool=Reply(text="It is noon."),
    )
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, tools=[get_time])
        (declaration,) = llm.session_config.tools[0]["functionDeclarations"]
        assert "city" in declaration["parametersJsonSchema"]["properties"]
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: "t" in emu.sessions[0].tool_responses, 10)
    (response,) = emu.sessions[0].tool_responses["t"]
    assert response == {"id": "t", "name": "get_time", "response": {"result": "noon in Oslo"}}


async def test_seeded_history_and_a_run_reach_the_model_as_client_content():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        context = LLMContext(
            [
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Nice to meet you, Ada."},
                {"role": "user", "content": "What is my name?"},
            ]
        )
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(context))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
        (content,) = emu.sessions[0].client_content
        assert [t["role"] for t in content["turns"]] == ["user", "model", "user"]
        assert content["turn_complete"] is True
        assert emu.sessions[0].turns[0]["kind"] == "content"


async def test_without_inference_on_the_first_context_it_is_history_and_the_user_speaks_first():
    responder = ScriptedResponder([Reply(text="Hello Ada.", input_transcript="Hi.")])
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, inference_on_context_initialization=False
        )
        context = LLMContext([{"role": "user", "content": "My name is Ada."}])
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(context))
            await emu.wait_until(lambda: emu.sessions and emu.sessions[0].client_content)
            await asyncio.sleep(0.5)
            assert not emu.sessions[0].turns  # the bot did not speak first
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
        (content,) = emu.sessions[0].client_content
        assert content["turn_complete"] is False
        assert emu.sessions[0].turns[0]["kind"] == "speech"


async def test_3_1_seeded_gets_history_config_first_and_the_model_waits_for_the_history():
    context = LLMContext([{"role": "user", "content": "Hello, I am Ada."}])
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, model="gemini-3.1-flash-live-preview"
        )
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(context))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
        session = emu.sessions[0]
        assert session.setup["history_config"] == {"initial_history_in_client_content": True}
        assert session.client_content[0]["turns"][0]["parts"] == [{"text": "Hello, I am Ada."}]


async def test_3_1_bare_is_heard_and_mid_session_appends_go_as_realtime_text():
    """No context: no historyConfig, or 3.1 would wait for history and never hear the user."""
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, model="gemini-3.1-flash-live-preview"
        )
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.5) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
            await bot.worker.queue_frame(
                LLMMessagesAppendFrame(
                    [{"role": "user", "content": "Also, book a table."}], run_llm=True
                )
            )
            await emu.wait_until(lambda: emu.sessions[0].texts_received, 5)
        session = emu.sessions[0]
        assert "history_config" not in session.setup
        assert session.texts_received == ["Also, book a table."]
        assert session.client_content == []  # 3.1 would close the call with 1007


async def test_history_with_tool_calls_results_and_images_seeds_the_session():
    jpeg = "/9j/4AAQSkZJRgABAQ=="
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is on this receipt?"},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{jpeg}"}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call-7",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call-7", "content": '{"forecast": "rain"}'},
        {"role": "assistant", "content": "It will rain in Rome."},
        {"role": "user", "content": "And tomorrow?"},
    ]
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, model=MODEL_25)
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(LLMContext(messages)))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
    (content,) = emu.sessions[0].client_content
    turns = content["turns"]
    assert [t["role"] for t in turns] == ["user", "model", "user", "model", "user"]
    assert turns[0]["parts"][1] == {"inline_data": {"mime_type": "image/jpeg", "data": jpeg}}
    assert turns[1]["parts"] == [
        {"function_call": {"name": "get_weather", "args": {"city": "Rome"}, "id": "call-7"}}
    ]
    assert turns[2]["parts"] == [
        {
            "function_response": {
                "name": "get_weather",
                "response": {"forecast": "rain"},
                "id": "call-7",
            }
        }
    ]
    assert content["turn_complete"] is True


async def test_on_3x_tool_history_is_told_as_text_since_function_parts_are_refused():
    """3.8 (and 3.1) close the call with 1007 when history holds functionCall parts."""
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)  # 3.8
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(LLMContext(TOOL_HISTORY)))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
    (content,) = emu.sessions[0].client_content
    texts = [part.get("text") for turn in content["turns"] for part in turn["parts"]]
    assert texts == [
        "Check the weather in Rome.",
        '[Called function get_weather with arguments {"city": "Rome"}]',
        '[Function get_weather returned {"forecast": "rain"}]',
        "It will rain in Rome.",
        "And tomorrow?",
    ]
    assert emu.sessions[0].closed_codes == []


async def test_a_reply_that_opens_with_a_tool_call_records_the_question_first():
    tools = ToolsSchema(standard_tools=[WEATHER])
    reply = Reply(
        input_transcript="What is the weather in Paris?",
        tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")],
        after_tool=Reply(text="Sunny."),
    )
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, tools=tools)

        async def get_weather(params):
            await params.result_callback({"sky": "sunny"})

        llm.register_function("get_weather", get_weather)
        context = LLMContext(tools=tools)
        pair = LLMContextAggregatorPair(context)
        async with running_bot([pair.user(), llm, pair.assistant()]) as bot:
            await bot.say(speech(0.8) + silence(0.8))
            await bot.wait_for(
                lambda: sum(m.get("role") == "assistant" for m in context.get_messages()) >= 2
            )
    messages = context.get_messages()
    assert [(m["role"], "tool_calls" in m) for m in messages] == [
        ("user", False),
        ("assistant", True),
        ("tool", False),
        ("assistant", False),
    ]
    assert messages[0]["content"] == "What is the weather in Paris?"


async def test_with_aggregators_appended_messages_and_llm_run_reach_the_model_once():
    """The user aggregator consumes LLMMessagesAppendFrame and LLMRunFrame and passes only the
    context on: the app's messages must still reach the model, and the turns the aggregators
    recorded from the call itself must not be sent back."""
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        context = LLMContext()
        pair = LLMContextAggregatorPair(context)
        async with running_bot([pair.user(), llm, pair.assistant()]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: emu.sessions and "usage" in emu.sessions[0].turns[-1], 10)
            await bot.wait_for(lambda: any(m["role"] == "user" for m in context.get_messages()))

            # Appended with run_llm: sent at once, and the model answers it.
            append = [{"role": "user", "content": "Also, book a table."}]
            await bot.worker.queue_frame(LLMMessagesAppendFrame(append, run_llm=True))
            await emu.wait_until(lambda: len(emu.sessions[0].turns) == 2, 10)

            # Appended without run_llm: sent at the next LLMRunFrame.
            note = [{"role": "user", "content": "For two people, please."}]
            await bot.worker.queue_frame(LLMMessagesAppendFrame(note, run_llm=False))
            await asyncio.sleep(0.3)
            assert len(emu.sessions[0].client_content) == 1
            await bot.worker.queue_frame(LLMRunFrame())
            await emu.wait_until(lambda: len(emu.sessions[0].turns) == 3, 10)

    sent = [
        [part["text"] for turn in content["turns"] for part in turn["parts"]]
        for content in emu.sessions[0].client_content
    ]
    assert sent == [["Also, book a table."], ["For two people, please."]]
    assert all(content["turn_complete"] for content in emu.sessions[0].client_content)
    assert [t["kind"] for t in emu.sessions[0].turns] == ["speech", "content", "content"]


async def test_typed_text_reaches_the_model_through_the_aggregators():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        pair = LLMContextAggregatorPair(LLMContext())
        async with running_bot([pair.user(), llm, pair.assistant()]) as bot:
            await bot.worker.queue_frame(InputTextRawFrame("What's the time in Oslo?"))
            await emu.wait_until(lambda: emu.sessions and emu.sessions[0].turns, 10)
    assert emu.sessions[0].texts_received == ["What's the time in Oslo?"]
    assert emu.sessions[0].turns[0]["kind"] == "text"
