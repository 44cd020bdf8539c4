"""A process-wide cap on open Live sessions: refused or waited for, with a clear error."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.frames.frames import ErrorFrame

from pipecat_gemini_live import GeminiLiveService, SessionLimit, set_session_limit
from pipecat_gemini_live.emulator import LiveEmulator
from tests.pipeline_kit import running_bot, silence, speech


@pytest.fixture(autouse=True)
def no_process_limit():
    yield
    set_session_limit(None)


async def test_the_process_limit_refuses_the_call_over_it_and_frees_slots_on_hang_up():
    limit = set_session_limit(2)
    assert limit is not None
    async with LiveEmulator(api_key="test-key") as emu:
        services = [GeminiLiveService(api_key="test-key", base_url=emu.base_url) for _ in range(3)]
        async with running_bot([services[0]]) as first, running_bot([services[1]]) as second:
            await first.say(silence(0.1))
            await second.say(silence(0.1))
            await emu.wait_until(lambda: len(emu.sessions) == 2, 5)
            assert limit.open_sessions == 2
            async with running_bot([services[2]]) as third:
                await third.say(speech(0.3))
                await third.wait_for(lambda: third.head.frames(ErrorFrame), 5)
                (error,) = third.head.frames(ErrorFrame)
                assert "limit is 2" in error.error
                assert "set_session_limit" in error.error
            assert len(emu.sessions) == 2  # the third never connected
        assert limit.open_sessions == 0 and limit.refused == 1


async def test_a_call_waits_for_a_free_slot_when_allowed_to():
    limit = SessionLimit(1, wait_seconds=5)
    async with LiveEmulator(api_key="test-key") as emu:
        first = GeminiLiveService(api_key="test-key", base_url=emu.base_url, session_limit=limit)
        second = GeminiLiveService(api_key="test-key", base_url=emu.base_url, session_limit=limit)
        async with running_bot([second]) as waiting:
            async with running_bot([first]) as bot:
                await bot.say(silence(0.1))
                await emu.wait_until(lambda: len(emu.sessions) == 1, 5)
                say = asyncio.create_task(waiting.say(speech(0.3) + silence(0.8)))
                await asyncio.sleep(0.5)
                assert len(emu.sessions) == 1  # the second call is waiting
            # The first call hung up: the second gets its slot and is answered.
            await say
            await emu.wait_until(lambda: len(emu.sessions) == 2 and emu.sessions[1].turns, 10)
        assert not waiting.head.frames(ErrorFrame)
    assert limit.open_sessions == 0


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_sessions must be a whole number >= 1"):
        SessionLimit(0)
