"""The session manager against the emulator: connections come and go, the conversation stays."""

from __future__ import annotations

import asyncio

from pipecat_gemini_live import protocol
from pipecat_gemini_live.config import SessionConfig
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from pipecat_gemini_live.events import AudioChunk, TurnComplete
from pipecat_gemini_live.models import capabilities_for
from pipecat_gemini_live.session import Connected, Failed, LiveSession, RetryPolicy, classify_close
from tests.pipeline_kit import silence, speech

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    async def __call__(self, event) -> None:
        self.events.append(event)

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def make_session(emu: LiveEmulator, recorder: Recorder, **kwargs) -> LiveSession:
    config = SessionConfig(model=MODEL, capabilities=capabilities_for(MODEL))
    return LiveSession(
        url=protocol.endpoint_url(emu.base_url),
        headers={"x-goog-api-key": "test-key"},
        build_setup=lambda handle: protocol.setup_message(config, resume_handle=handle),
        on_event=recorder,
        retry=kwargs.pop("retry", RetryPolicy(initial_delay=0.01, max_delay=0.05)),
        seed=1,
        **kwargs,
    )


async def resumable_session(emu: LiveEmulator) -> tuple[LiveSession, Recorder]:
    """A session that is connected and already holds a resumption handle."""
    recorder = Recorder()
    session = make_session(emu, recorder)
    await session.start()
    await session.wait_ready(5)
    await emu.wait_until(lambda: session.handle is not None)
    return session, recorder


async def speak(session: LiveSession, pcm: bytes) -> None:
    for i in range(0, len(pcm), 1280):
        await session.send(protocol.realtime_audio(pcm[i : i + 1280]), audio=True)
        await asyncio.sleep(0)


async def test_go_away_rotates_to_a_resumed_connection_at_a_safe_point_and_input_is_kept():
    async with LiveEmulator(
        responder=ScriptedResponder([Reply(text="one"), Reply(text="two")])
    ) as emu:
        recorder = Recorder()
        session = make_session(emu, recorder)
        await session.start()
        first_turn = speech(0.5) + silence(0.8)
        await speak(session, first_turn)
        await emu.wait_until(lambda: len(recorder.of(TurnComplete)) == 1)
        first_handle = session.handle
        assert first_handle

        await emu.go_away(time_left=5.0)
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2)
        logical = emu.sessions[0]
        assert len(emu.sessions) == 1 and logical.connections == 2  # the same conversation
        assert recorder.of(Connected)[1].resumed

        second_turn = speech(0.5, seed=3) + silence(0.8)
        await speak(session, second_turn)
        await emu.wait_until(lambda: len(recorder.of(TurnComplete)) == 2)
        assert logical.audio_bytes_received == len(first_turn) + len(second_turn)
        await session.close()


async def test_a_rotation_waits_for_the_reply_to_finish():
    long_reply = Reply(text="a reply that takes a while to say " * 3)
    async with LiveEmulator(responder=ScriptedResponder([long_reply]), pace=2.0) as emu:
        recorder = Recorder()
        session = make_session(emu, recorder)
        await session.start()
        await speak(session, speech(0.5) + silence(0.8))
        await emu.wait_until(lambda: recorder.of(AudioChunk), 5)
        await emu.go_away(time_left=30.0)
        await emu.wait_until(lambda: recorder.of(TurnComplete), 10)
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        # Every byte of the reply arrived before the switch: none of it was cut off.
        heard = sum(len(e.data) for e in recorder.of(AudioChunk))
        assert heard == emu.sessions[0].turns[0]["audio_bytes_sent"]
        await session.close()


async def test_an_internal_error_close_is_retried_with_the_handle_and_input_sent_meanwhile_arrives():
    async with LiveEmulator() as emu:
        session, recorder = await resumable_session(emu)
        await emu.close(code=1011, reason="Internal error occurred.")
        # While reconnecting, the caller keeps sending; nothing may be lost.
        await speak(session, silence(0.4))
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        await emu.wait_until(lambda: emu.sessions[0].audio_bytes_received == len(silence(0.4)), 5)
        assert emu.sessions[0].connections == 2
        await session.close()


async def test_a_tcp_reset_is_survived():
    async with LiveEmulator() as emu:
        session, recorder = await resumable_session(emu)
        await emu.reset()
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        assert not recorder.of(Failed)
        await session.close()


async def test_invalid_argument_is_fatal_at_once_with_the_servers_reason():
    async with LiveEmulator() as emu:
        recorder = Recorder()
        session = make_session(emu, recorder)
        await session.start()
        await session.wait_ready(5)
        await emu.close(code=1007, reason="Request contains an invalid argument.")
        await emu.wait_until(lambda: recorder.of(Failed), 5)
        (failed,) = recorder.of(Failed)
        assert "invalid argument" in str(failed.error)
        assert len(recorder.of(Connected)) == 1  # not retried
        await session.close()


async def test_an_unknown_handle_starts_a_fresh_session_instead_of_failing():
    async with LiveEmulator() as emu:
        recorder = Recorder()
        session = make_session(emu, recorder)
        session.handle = "handle-from-another-process-that-expired"
        await session.start()
        await emu.wait_until(lambda: recorder.of(Connected), 5)
        assert not recorder.of(Connected)[0].resumed
        assert not recorder.of(Failed)
        await session.close()


async def test_the_retry_budget_ends_in_one_failure():
    async with LiveEmulator() as emu:
        port = emu.port
    recorder = Recorder()
    session = LiveSession(
        url=f"ws://127.0.0.1:{port}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        headers={},
        build_setup=lambda handle: {"setup": {"model": "models/x"}},
        on_event=recorder,
        retry=RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02),
        seed=1,
    )
    await session.start()
    for _ in range(200):
        if recorder.of(Failed):
            break
        await asyncio.sleep(0.02)
    assert len(recorder.of(Failed)) == 1
    await session.close()


def test_close_code_policy():
    assert not classify_close(1007, "Request contains an invalid argument.").retryable
    model_missing = classify_close(1008, "models/x is not found for API version v1beta, or ...")
    assert not model_missing.retryable and "not available for this API version" in str(
        model_missing
    )
    assert classify_close(1008, "BidiGenerateContent session not found").retryable
    assert classify_close(1011, "Internal error occurred.").retryable
    assert classify_close(1006, "").retryable


async def test_a_lost_session_is_replaced_and_reseeded_with_the_conversation_so_far():
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

    from pipecat_gemini_live import GeminiLiveService
    from tests.pipeline_kit import FakeSpeaker, running_bot

    responder = ScriptedResponder([Reply(text="Noted, Ada.", input_transcript="I am Ada.")])
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        speaker = FakeSpeaker(speed=8.0)
        async with running_bot([aggregators.user(), llm, speaker, aggregators.assistant()]) as bot:
            await bot.say(speech(0.5) + silence(0.8))
            await bot.wait_for(
                lambda: any(m.get("role") == "assistant" for m in context.get_messages()), 10
            )
            await emu.close(code=1008, reason="BidiGenerateContent session not found")
            await emu.wait_until(
                lambda: len(emu.sessions) == 2 and emu.sessions[1].client_content, 5
            )
        (seed,) = emu.sessions[1].client_content
        assert seed["turn_complete"] is False
        assert [t["role"] for t in seed["turns"]] == ["user", "model"]
        assert "I am Ada." in seed["turns"][0]["parts"][0]["text"]
        assert "Noted, Ada." in seed["turns"][1]["parts"][0]["text"]
