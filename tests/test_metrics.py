"""TTFB from the end of the user's speech, and usage reported once per model turn."""

import asyncio
import time

from pipecat.frames.frames import MetricsFrame, TTSAudioRawFrame
from pipecat.metrics.metrics import TTFBMetricsData

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from pipecat_gemini_live.events import ModalityTokens, Usage
from pipecat_gemini_live.metrics import (
    SPEECH_RMS_THRESHOLD,
    SpeechClock,
    UsageTracker,
    to_token_usage,
)
from pipecat_gemini_live.protocol import parse_usage
from tests.pipeline_kit import Bot, running_bot, silence, speech


def test_ttfb_starts_when_the_user_last_made_a_sound_and_counts_each_reply_once():
    clock = SpeechClock()
    assert clock.on_chunk_sent(rms=2000.0, sent_at=10.00) is True
    assert clock.on_chunk_sent(rms=2500.0, sent_at=10.04) is True
    assert clock.on_chunk_sent(rms=30.0, sent_at=10.08) is False  # silence after the words
    assert clock.ttfb_start() == 10.04
    assert clock.ttfb_start() is None  # the same speech does not start a second reply's TTFB


def test_silence_alone_never_starts_a_ttfb_measurement():
    clock = SpeechClock()
    for step in range(5):
        assert clock.on_chunk_sent(rms=SPEECH_RMS_THRESHOLD - 1, sent_at=step * 0.04) is False
    assert clock.ttfb_start() is None
    assert clock.last_voiced_at is None


def test_a_chunk_at_the_threshold_level_counts_as_speech():
    clock = SpeechClock()
    assert clock.on_chunk_sent(rms=SPEECH_RMS_THRESHOLD, sent_at=3.0) is True
    assert clock.ttfb_start() == 3.0


def test_new_speech_after_a_reply_starts_the_next_measurement():
    clock = SpeechClock()
    clock.on_chunk_sent(rms=900.0, sent_at=1.0)
    assert clock.ttfb_start() == 1.0
    clock.on_chunk_sent(rms=900.0, sent_at=7.5)
    assert clock.ttfb_start() == 7.5


def usage(total: int, **fields) -> Usage:
    return Usage(total_tokens=total, **fields)


def test_a_turn_reports_its_largest_usage_snapshot_once():
    tracker = UsageTracker()
    tracker.observe(usage(100, prompt_tokens=90))
    tracker.observe(usage(180, prompt_tokens=90, response_tokens=90))
    tracker.observe(usage(120))  # a stale, smaller snapshot arriving late
    assert tracker.end_turn() == usage(180, prompt_tokens=90, response_tokens=90)
    assert tracker.end_turn() is None  # nothing is counted twice


def test_a_repeated_snapshot_of_the_same_size_replaces_the_older_one():
    tracker = UsageTracker()
    tracker.observe(usage(50))
    newer = usage(50, prompt_tokens=20, response_tokens=30)
    tracker.observe(newer)
    assert tracker.end_turn() is newer


def test_a_turn_without_usage_reports_none():
    assert UsageTracker().end_turn() is None


def test_pipecat_usage_carries_every_count_the_server_reported():
    # The 3.8 turnComplete of a recorded real session (thoughts are outside the total there).
    reported = parse_usage(
        {
            "promptTokenCount": 626,
            "responseTokenCount": 63,
            "totalTokenCount": 689,
            "cachedContentTokenCount": 128,
            "thoughtsTokenCount": 40,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 312},
                {"modality": "AUDIO", "tokenCount": 287},
            ],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 63}],
        }
    )
    tokens = to_token_usage(reported)
    assert (tokens.prompt_tokens, tokens.completion_tokens, tokens.total_tokens) == (626, 63, 689)
    assert tokens.cache_read_input_tokens == 128
    assert tokens.reasoning_tokens == 40
    assert (tokens.input_audio_tokens, tokens.output_audio_tokens) == (287, 63)


def test_counts_the_server_left_out_are_absent_or_derived_not_zero():
    # proto3 JSON leaves zero counts out, so a snapshot can arrive without totalTokenCount.
    tokens = to_token_usage(
        Usage(
            prompt_tokens=187,
            response_tokens=21,
            response_details=(ModalityTokens("TEXT", 21),),
        )
    )
    assert tokens.total_tokens == 208  # prompt + response when no total was sent
    assert tokens.cache_read_input_tokens is None and tokens.reasoning_tokens is None
    assert (tokens.input_audio_tokens, tokens.output_audio_tokens) == (0, 0)


# ----------------------------------------------------------------------------- in a pipeline


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
