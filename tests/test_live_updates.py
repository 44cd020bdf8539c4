"""Settings and tools changed during a call reach the model without dropping the call."""

from __future__ import annotations

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    ErrorFrame,
    LLMFullResponseEndFrame,
    LLMSetToolsFrame,
    LLMUpdateSettingsFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator
from tests.pipeline_kit import running_bot, silence, speech


async def one_turn(bot, emu, n: int) -> None:
    await bot.say(speech(0.5, seed=n) + silence(0.8))
    await bot.wait_for(lambda: len(bot.tail.frames(LLMFullResponseEndFrame)) == n, 10)


async def test_a_new_voice_applies_by_switching_connection_between_replies():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, voice="Puck")
        async with running_bot([llm]) as bot:
            await one_turn(bot, emu, 1)
            await bot.worker.queue_frame(
                LLMUpdateSettingsFrame(delta=GeminiLiveService.Settings(voice="Kore"))
            )
            await emu.wait_until(lambda: emu.sessions[0].connections == 2, 10)
            await one_turn(bot, emu, 2)
        session = emu.sessions[0]
        assert len(emu.sessions) == 1  # the same conversation, resumed
        voice = session.setup["generation_config"]["speech_config"]["voice_config"]
        assert voice["prebuilt_voice_config"]["voice_name"] == "Kore"


async def test_an_invalid_update_is_refused_with_an_error_and_nothing_changes():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, voice="Puck")
        async with running_bot([llm]) as bot:
            await one_turn(bot, emu, 1)
            await bot.worker.queue_frame(
                LLMUpdateSettingsFrame(delta=GeminiLiveService.Settings(voice="Vesta"))
            )
            await bot.wait_for(lambda: bot.head.frames(ErrorFrame, FrameDirection.UPSTREAM))
            assert "Unknown voice 'Vesta'" in bot.head.frames(ErrorFrame)[0].error
            assert llm.session_config.voice == "Puck"
        assert emu.sessions[0].connections == 1


async def test_system_instruction_and_tools_change_in_place_with_context_update():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, system_instruction="Old."
        )
        async with running_bot([llm]) as bot:
            await one_turn(bot, emu, 1)
            await bot.worker.queue_frame(
                LLMUpdateSettingsFrame(delta=GeminiLiveService.Settings(system_instruction="New."))
            )
            tools = ToolsSchema(
                standard_tools=[FunctionSchema("transfer_call", "Transfer the caller", {}, [])]
            )
            await bot.worker.queue_frame(LLMSetToolsFrame(tools=tools))
            await emu.wait_until(lambda: len(emu.sessions[0].context_updates) == 2, 5)
            await one_turn(bot, emu, 2)
        session = emu.sessions[0]
        assert session.connections == 1  # no reconnect needed
        assert session.system_instruction == "New."
        assert session.setup["tools"][0]["function_declarations"][0]["name"] == "transfer_call"
