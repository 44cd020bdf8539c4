"""TTFB as a caller hears it, measured in a running pipeline against the emulator: from the end
of the user's words to the first audio of the reply. (The pure bookkeeping behind it is in
tests/test_metrics.py, which mutation testing runs.)"""

import asyncio
import time

from pipecat.frames.frames import MetricsFrame, TTSAudioRawFrame
from pipecat.metrics.metrics import TTFBMetricsData

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import Bot, running_bot, silence, speech


def reported_ttfb(bot: Bot) -> list[float]:
    return [
        d.value
        for m in bot.tail.frames(MetricsFrame)
        for d in m.data
        if isinstance(d, TTFBMetricsData) and d.model  # not Pipecat's start-up zero
    ]


def first_audio_at(bot: Bot) -> float:
    return next(s.at for s in bot.tail.seen if isinstance(s.frame, TTSAudioRawFrame))


async def ask_and_time(llm: GeminiLiveService) -> tuple[float, float]:
    """The user talks for 0.8 s and stops; returns (the TTFB the service reported, how long
    the user actually waited from the end of their words to the first audio of the reply)."""
    async with running_bot([llm]) as bot:
        await bot.say(speech(1.6), speed=2.0)  # 0.8 s of talking
        stopped_talking = time.monotonic()
        await bot.say(silence(0.8), speed=2.0)
        await bot.wait_for(lambda: reported_ttfb(bot) and bot.tail.frames(TTSAudioRawFrame), 10)
    (ttfb,) = reported_ttfb(bot)
    return ttfb, first_audio_at(bot) - stopped_talking


async def test_ttfb_is_the_wait_from_the_end_of_the_users_words_to_the_first_reply_audio():
    responder = ScriptedResponder([Reply(text="It is noon.", input_transcript="What time is it?")])
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emu:
        ttfb, waited = await ask_and_time(
            GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        )
    # From the start of the words it would be 0.8 s longer.
    assert abs(ttfb - waited) < 0.25, (ttfb, waited)


async def test_a_reply_that_opens_with_a_tool_call_is_timed_to_its_first_audio_not_to_the_call():
    async def lookup(params):
        await asyncio.sleep(0.6)  # the user hears nothing while the handler works
        await params.result_callback({"time": "noon"})

    reply = Reply(
        input_transcript="What time is it?",
        tool_calls=[ToolCallSpec("lookup", id="t1")],
        after_tool=Reply(text="It is noon."),
    )
    async with LiveEmulator(
        api_key="test-key", responder=ScriptedResponder([reply]), pace=1.0
    ) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        llm.register_function("lookup", lookup)
        ttfb, waited = await ask_and_time(llm)
    # The handler's 0.6 s is part of the wait: timed from the call, it would be that much less.
    assert abs(ttfb - waited) < 0.25, (ttfb, waited)
