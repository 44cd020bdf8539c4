"""A long call, time-accelerated: the emulator's connections live 1.5 s (Google's last about
10 min), and the call goes on for many turns over ~24 s of wall time, so it switches connection
a dozen times or more. The service must switch on schedule (goAway, then a safe point), keep
the conversation going across every switch, lose no input, and not grow.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc

from pipecat_gemini_live import GeminiLiveService, VADSettings
from pipecat_gemini_live.emulator import LiveEmulator
from tests.pipeline_kit import running_bot, silence, speech

LIFETIME = 2.5  # seconds a connection lives on the emulator
LEAD = 1.5  # goAway comes this long before the end; the client switches by half of it
CALL_SECONDS = 24.0
TURN = silence(0.2) + speech(0.3) + silence(0.35)  # a pause, words, then the end of the turn
MAX_GROWTH = 128 * 1024  # bytes of the client's heap between the first third and the end
# What the in-process emulator keeps (its per-turn records) is not the client's.
NOT_THE_EMULATOR = tracemalloc.Filter(False, "*/pipecat_gemini_live/emulator/*")


def client_heap(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    return snapshot.filter_traces([NOT_THE_EMULATOR])


async def test_a_long_call_switches_on_schedule_keeps_talking_and_stays_flat():
    async with LiveEmulator(
        api_key="test-key",
        pace=4.0,
        connection_lifetime=LIFETIME,
        go_away_lead=LEAD,
        record=False,  # the emulator keeps counters only, so the heap is the client's
    ) as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            settings=GeminiLiveService.Settings(vad=VADSettings(silence_duration_ms=200)),
        )
        async with running_bot([llm], record=False) as bot:
            tracemalloc.start()
            started = time.monotonic()
            turns, sent = 0, 0
            baseline: tracemalloc.Snapshot | None = None
            while time.monotonic() - started < CALL_SECONDS:
                await bot.say(TURN, speed=10.0)
                sent += len(TURN)
                turns += 1
                await bot.wait_for(
                    lambda turns=turns: bot.tail.counts["LLMFullResponseEndFrame"] == turns, 5
                )
                if baseline is None and time.monotonic() - started > CALL_SECONDS / 3:
                    gc.collect()
                    baseline, baseline_turns = client_heap(tracemalloc.take_snapshot()), turns
            elapsed = time.monotonic() - started
            session = emu.sessions[0]
            await emu.wait_until(lambda: session.audio_bytes_received == sent, 5)
            gc.collect()
            assert baseline is not None
            final = client_heap(tracemalloc.take_snapshot())
            tracemalloc.stop()
            growth = sum(d.size_diff for d in final.compare_to(baseline, "filename"))
            assert llm.live_session is not None
            stats, reconnects = llm.live_session.connection_stats, llm.live_session.reconnects

        rotations = session.connections - 1
        cut_short = sum(s.ended_by == "rotation (cut short)" for s in stats)
        per_connection = [c.turns_completed for c in session.connection_log]
        print(
            f"\nsoak: {elapsed:.1f} s, {turns} turns, {rotations} switches "
            f"({cut_short} cut short by the deadline), turns per connection {per_connection}, "
            f"heap growth {growth / 1024:.0f} KiB over the last {turns - baseline_turns} turns"
        )

        # A connection lasts from its goAway (LIFETIME - LEAD) to the switch deadline
        # (LIFETIME - LEAD / 2): the switch count follows from the call's length.
        assert (
            math.floor(elapsed / (LIFETIME - LEAD / 2)) - 1
            <= rotations
            <= math.ceil(elapsed / (LIFETIME - LEAD)) + 1
        )
        # Every switch was planned: none ran into the lifetime's close, none was a drop.
        assert 1000 not in session.closed_codes
        assert reconnects == 0 and len(stats) == session.connections
        assert all(s.ended_by.startswith("rotation") for s in stats[:-1])
        # The conversation went on after every switch: each connection answered turns, every
        # turn got its reply (whole, unless a switch forced by the deadline cut it), all on
        # the one logical session, and no input was lost.
        assert len(emu.sessions) == 1
        assert all(count >= 1 for count in per_connection[:-1])
        assert bot.tail.counts["LLMFullResponseStartFrame"] == turns
        assert turns - cut_short <= sum(per_connection) <= turns
        assert session.audio_bytes_received == sent
        assert not bot.tail.counts["ErrorFrame"] and not bot.head.counts["ErrorFrame"]
        # Memory stays flat: no per-turn or per-connection growth.
        assert growth < MAX_GROWTH
