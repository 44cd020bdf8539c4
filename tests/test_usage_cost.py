"""Usage and cost over a multi-turn call: per turn, per call, priced by modality, overridable."""

from __future__ import annotations

import asyncio
import json

from pipecat.frames.frames import MetricsFrame, TTSAudioRawFrame
from pipecat.metrics.metrics import LLMUsageMetricsData

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from pipecat_gemini_live.pricing import CostMetricsData, TokenPrices, UsageReport, prices_for
from tests.pipeline_kit import running_bot, silence, speech

PRICES = TokenPrices(text_in=1.0, audio_in=10.0, image_in=5.0, text_out=2.0, audio_out=20.0)


def expected_cost(usage: dict) -> float:
    """Straight from the server's usage message, computed independently of the package."""
    by_modality = {
        (side, d["modality"]): d["tokenCount"]
        for side, key in (("in", "promptTokensDetails"), ("out", "responseTokensDetails"))
        for d in usage.get(key, [])
    }
    rate = {
        ("in", "TEXT"): PRICES.text_in,
        ("in", "AUDIO"): PRICES.audio_in,
        ("out", "TEXT"): PRICES.text_out,
        ("out", "AUDIO"): PRICES.audio_out,
    }
    return sum(tokens * rate[key] for key, tokens in by_modality.items()) / 1e6


async def test_usage_and_cost_add_up_over_a_multi_turn_call():
    reports: list[UsageReport] = []
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            system_instruction="You are a helpful assistant who answers briefly.",
            prices=PRICES,
        )

        @llm.event_handler("on_usage")
        async def on_usage(_service, report: UsageReport) -> None:
            reports.append(report)

        async with running_bot([llm]) as bot:
            for turn, seconds in enumerate((0.6, 1.2, 0.9), start=1):
                await bot.say(speech(seconds) + silence(0.8))
                await bot.wait_for(lambda turn=turn: len(reports) >= turn, 10)
        server_usage = [turn["usage"] for turn in emu.sessions[0].turns]

    assert len(reports) == len(server_usage) == 3
    for report, usage in zip(reports, server_usage, strict=True):
        assert report.turn.prompt_tokens == usage["promptTokenCount"]
        assert report.turn.response_tokens == usage["responseTokenCount"]
        assert abs(report.turn_cost_usd - expected_cost(usage)) < 1e-12
    assert reports[1].turn.prompt_tokens_for("AUDIO") > reports[0].turn.prompt_tokens_for("AUDIO")

    total_cost = sum(expected_cost(u) for u in server_usage)
    assert abs(llm.usage.cost_usd - total_cost) < 1e-12
    assert llm.usage.total_tokens == sum(u["totalTokenCount"] for u in server_usage)
    assert llm.usage.audio_out_tokens == sum(
        d["tokenCount"]
        for u in server_usage
        for d in u["responseTokensDetails"]
        if d["modality"] == "AUDIO"
    )
    assert reports[-1].session_cost_usd == llm.usage.cost_usd and reports[-1].turns == 3

    metrics = [d for m in bot.tail.frames(MetricsFrame) for d in m.data]
    costs = [d for d in metrics if isinstance(d, CostMetricsData)]
    assert [round(c.value, 12) for c in costs] == [round(r.turn_cost_usd, 12) for r in reports]
    assert abs(costs[-1].session_value - total_cost) < 1e-12
    assert len([d for d in metrics if isinstance(d, LLMUsageMetricsData)]) == 3


def test_list_prices_price_audio_well_above_text():
    prices = prices_for("gemini-3.8-live")
    assert prices is not None and prices.audio_out > prices.text_out > prices.text_in
    assert prices_for("some-future-model") is None


def usage_frames(bot) -> list:
    return [
        d.value
        for m in bot.tail.frames(MetricsFrame)
        for d in m.data
        if isinstance(d, LLMUsageMetricsData)
    ]


def snapshot(prompt: int, response: int) -> str:
    """A usage report the server sends mid-turn, before the turn's final one."""
    return json.dumps(
        {
            "usageMetadata": {
                "promptTokenCount": prompt,
                "responseTokenCount": response,
                "totalTokenCount": prompt + response,
                "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": prompt}],
                "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": response}],
            }
        }
    )


async def test_a_turn_reported_several_times_as_it_grows_counts_once_at_its_largest():
    """The server may report a turn's usage more than once while the reply is still playing,
    each report larger than the last: the turn costs its final, largest report, not the sum."""
    responder = ScriptedResponder(
        [
            Reply(
                text="A reply that plays for a while, so usage comes twice.", input_transcript="Hi."
            ),
            Reply(text="Short.", input_transcript="And now?"),
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder, pace=2.0) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, prices=PRICES)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 10)
            session = emu.sessions[0]
            await emu.send_raw(snapshot(10, 2))
            await emu.send_raw(snapshot(15, 6))
            await asyncio.sleep(0.1)
            assert "usage" not in session.turns[0]  # both came before the turn's end
            await emu.wait_until(lambda: "usage" in session.turns[0], 10)
            await bot.say(speech(0.8, seed=3) + silence(0.8))
            await emu.wait_until(
                lambda: len(session.turns) == 2 and "usage" in session.turns[1], 10
            )
            await asyncio.sleep(0.2)  # the last report on its way down the pipeline
        final = [turn["usage"] for turn in session.turns]

    assert len(final) == 2
    assert final[0]["totalTokenCount"] > 15 + 6  # the interim reports were smaller
    reported = usage_frames(bot)
    assert [u.total_tokens for u in reported] == [u["totalTokenCount"] for u in final]
    assert [u.prompt_tokens for u in reported] == [u["promptTokenCount"] for u in final]
    assert [u.completion_tokens for u in reported] == [u["responseTokenCount"] for u in final]
    assert llm.usage.total_tokens == sum(u["totalTokenCount"] for u in final)
    assert abs(llm.usage.cost_usd - sum(expected_cost(u) for u in final)) < 1e-12
