"""The session manager against the emulator: connections come and go, the conversation stays."""

from __future__ import annotations

import asyncio
import base64

from pipecat_gemini_live import protocol
from pipecat_gemini_live.config import SessionConfig
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from pipecat_gemini_live.events import AudioChunk, TurnComplete
from pipecat_gemini_live.models import capabilities_for
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.session import (
    Connected,
    Disconnected,
    Failed,
    InputOverflow,
    LiveSession,
    RetryPolicy,
    classify_close,
)
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
        build_setup=lambda handle: protocol.setup(config, resume_handle=handle),
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
        await session.send(protocol.realtime_audio(pcm[i : i + 1280]))
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


async def test_a_switch_forced_mid_reply_by_the_deadline_is_reported_so_the_reply_can_close():
    long_reply = Reply(text="a reply that takes a while to say " * 3)
    async with LiveEmulator(responder=ScriptedResponder([long_reply]), pace=1.0) as emu:
        recorder = Recorder()
        session = make_session(emu, recorder)
        await session.start()
        await speak(session, speech(0.5) + silence(0.8))
        await emu.wait_until(lambda: recorder.of(AudioChunk), 5)
        await emu.go_away(time_left=0.2)  # switch within 0.1 s; the reply lasts seconds
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        (cut,) = recorder.of(Disconnected)
        assert cut.error.code == 1000 and "before the reply finished" in cut.error.reason
        assert [s.ended_by for s in session.connection_stats] == ["rotation (cut short)", ""]
        assert session.rotations == 1 and session.reconnects == 0
        # Nothing of the old connection is handed over after the new one is announced.
        announced = recorder.events.index(recorder.of(Connected)[1])
        assert not [e for e in recorder.events[announced:] if isinstance(e, AudioChunk)]
        await session.close()


async def test_a_switch_planned_on_a_connection_that_then_drops_is_not_made_again():
    long_reply = Reply(text="a reply that takes a while to say " * 3)
    async with LiveEmulator(responder=ScriptedResponder([long_reply]), pace=1.0) as emu:
        session, recorder = await resumable_session(emu)
        await speak(session, speech(0.5) + silence(0.8))
        await emu.wait_until(lambda: recorder.of(AudioChunk), 5)
        await emu.go_away(time_left=0.3)  # mid-reply: the switch waits, due in 0.15 s
        await emu.reset()  # but the connection drops first; the reconnect is the switch
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        await asyncio.sleep(0.3)  # past the old plan's deadline: nothing more happens
        assert len(recorder.of(Connected)) == 2
        assert session.rotations == 0 and session.reconnects == 1
        await session.close()


async def test_a_switch_waits_for_the_event_callback_in_progress():
    async with LiveEmulator(
        responder=ScriptedResponder([Reply(text="some words to say")]), pace=1.0
    ) as emu:
        recorder = Recorder()
        in_callback = asyncio.Event()
        finished: list[object] = []

        async def slow_callback(event) -> None:
            await recorder(event)
            if isinstance(event, AudioChunk) and not in_callback.is_set():
                in_callback.set()
                await asyncio.sleep(0.3)  # e.g. a frame push waiting on a busy pipeline
                finished.append(event)

        session = make_session(emu, recorder)
        session._on_event = slow_callback
        await session.start()
        await speak(session, speech(0.5) + silence(0.8))
        await asyncio.wait_for(in_callback.wait(), 5)
        session.request_rotation(within=0.02)  # due while the callback is still running
        await emu.wait_until(lambda: session.rotations == 1, 5)
        assert finished  # it ran to its end; the switch came after it
        await session.close()


async def test_a_switch_due_while_the_connection_is_quiet_happens_at_once_and_only_once():
    """The serve loop waits in recv with nothing arriving: a due switch must not wait for the
    next server message (there may be none), and must not look like a dropped connection."""
    async with LiveEmulator(responder=ScriptedResponder([Reply(text="after the switch")])) as emu:
        session, recorder = await resumable_session(emu)
        await asyncio.sleep(0.1)  # quiet: no input, so the server sends nothing
        started = asyncio.get_running_loop().time()
        session.request_rotation(within=30.0)  # a safe point: due at once
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        assert asyncio.get_running_loop().time() - started < 5.0  # not the 30 s deadline
        assert session.rotations == 1 and session.reconnects == 0
        assert not recorder.of(Disconnected) and not recorder.of(Failed)
        await speak(session, speech(0.5) + silence(0.8))  # the new connection serves the call
        await emu.wait_until(lambda: recorder.of(TurnComplete), 5)
        assert session.rotations == 1
        await session.close()
        assert session.phase.name == "CLOSED"


async def test_no_switch_while_the_user_is_mid_turn():
    async with LiveEmulator(responder=ScriptedResponder([Reply(text="one")])) as emu:
        session, recorder = await resumable_session(emu)
        words, pause = speech(0.6), silence(0.8)
        for i in range(0, len(words), 1280):
            await session.send(protocol.realtime_audio(words[i : i + 1280]))
            session.note_user_speech()
            if i == 6400:  # the user is halfway through when goAway arrives
                await emu.go_away(time_left=10.0)
                await emu.wait_until(lambda: emu.sessions[0].received[-1:] != [], 5)
            await asyncio.sleep(0)
        await speak(session, pause)
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        # The switch came once the turn was answered, not in the middle of the user's words.
        assert emu.sessions[0].connection_log[0].turns_completed == 1
        events = recorder.events
        assert events.index(recorder.of(TurnComplete)[0]) < events.index(recorder.of(Connected)[1])
        await session.close()


async def test_a_call_pending_when_the_conversation_is_lost_is_cancelled_not_answered_elsewhere():
    from pipecat_gemini_live import GeminiLiveService
    from pipecat_gemini_live.emulator import ToolCallSpec
    from tests.pipeline_kit import running_bot

    started, outcome = asyncio.Event(), []

    async def lookup(params) -> None:
        started.set()
        try:
            await asyncio.sleep(5)
            await params.result_callback({"found": True})
            outcome.append("answered")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    reply = Reply(text="Checking.", tool_calls=[ToolCallSpec("lookup", id="c1")])
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            retry=RetryPolicy(initial_delay=0.01, max_delay=0.05),
        )
        llm.register_function("lookup", lookup)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.5) + silence(0.8))
            await asyncio.wait_for(started.wait(), 5)
            emu.expire_handles()  # the server forgot the conversation ...
            await emu.reset()  # ... and the connection drops: a new session replaces it
            await emu.wait_until(lambda: len(emu.sessions) == 2, 5)
            await bot.wait_for(lambda: outcome == ["cancelled"], 5)
        assert all(not s.tool_responses for s in emu.sessions)


async def test_a_connection_that_silently_dies_is_noticed_by_keepalive_and_resumed():
    async with LiveEmulator() as emu:
        recorder = Recorder()
        session = make_session(
            emu,
            recorder,
            ping_interval=0.1,
            ping_timeout=0.3,
            retry=RetryPolicy(max_attempts=20, initial_delay=0.05, max_delay=0.1),
        )
        await session.start()
        await session.wait_ready(5)
        await emu.wait_until(lambda: session.handle is not None)
        emu.stall(1.0, hard=True)  # not a byte, not a pong: only keepalive can tell
        await emu.wait_until(lambda: recorder.of(Disconnected), 5)
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        assert recorder.of(Connected)[1].resumed and len(emu.sessions) == 1
        assert not recorder.of(Failed)
        await session.close()


OUTAGE_RETRY = RetryPolicy(initial_delay=0.3, max_delay=0.3, jitter=0.0)


async def outage(emu: LiveEmulator, recorder: Recorder) -> None:
    """The server drops the connection; the session waits 0.3 s (OUTAGE_RETRY) to resume."""
    await emu.close(code=1011, reason="Internal error occurred.")
    await emu.wait_until(lambda: recorder.of(Disconnected), 5)


def encoded_length(pcm: bytes) -> int:
    return len(base64.b64encode(pcm))


def as_sent(message: dict) -> tuple:
    """A message the emulator received, as (kind, what identifies it)."""
    realtime = message.get("realtime_input") or {}
    if "audio" in realtime:
        return ("audio", realtime["audio"]["data"])  # its encoded length
    if "text" in realtime:
        return ("text", realtime["text"])
    if "tool_response" in message:
        return ("tool_response", message["tool_response"]["function_responses"][0]["id"])
    if "client_content" in message:
        return ("client_content", message["client_content"]["turns"][0]["parts"][0]["text"])
    return ("other", str(message))


async def test_what_the_user_sends_during_an_outage_reaches_the_model_in_the_order_sent():
    async with LiveEmulator() as emu:
        recorder = Recorder()
        session = make_session(emu, recorder, retry=OUTAGE_RETRY)
        await session.start()
        await session.wait_ready(5)
        await emu.wait_until(lambda: session.handle is not None)
        await outage(emu, recorder)

        expected = []
        for n, text in enumerate(("first", "second", "third"), start=1):
            pcm = silence(0.02 * n)  # a length of its own, to tell the chunks apart
            await session.send(protocol.realtime_text(text))
            await session.send(protocol.realtime_audio(pcm))
            expected += [("text", text), ("audio", encoded_length(pcm))]
        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        await emu.wait_until(lambda: len(emu.sessions[0].received) == 6, 5)
        await session.close()
    assert [as_sent(m) for m in emu.sessions[0].received] == expected


async def test_a_long_outage_drops_only_the_oldest_audio_never_text_or_tool_results():
    """Input piles up past the buffer's bound while the connection is down: the oldest audio
    goes to make room; what the user typed, the tool results and the content turns all arrive,
    in order, with the newest audio."""
    async with LiveEmulator() as emu:
        recorder = Recorder()
        session = make_session(emu, recorder, retry=OUTAGE_RETRY, max_buffered_bytes=20_000)
        await session.start()
        await session.wait_ready(5)
        await emu.wait_until(lambda: session.handle is not None)
        await outage(emu, recorder)

        expected = []

        async def audio(n: int) -> None:
            pcm = silence(0.05)[: 1600 - 6 * n]  # a length of its own, to tell the chunks apart
            await session.send(protocol.realtime_audio(pcm))
            expected.append(("audio", encoded_length(pcm)))

        async def other(message: ClientMessage, what: tuple) -> None:
            await session.send(message)
            expected.append(what)

        await other(protocol.realtime_text("A table for two."), ("text", "A table for two."))
        for n in range(5):
            await audio(n)
        result = protocol.function_response("call-1", "book", {"booked": True})
        await other(protocol.tool_response([("call-1", result)]), ("tool_response", "call-1"))
        for n in range(5, 15):
            await audio(n)
        note = [{"role": "user", "parts": [{"text": "By the window."}]}]
        await other(
            protocol.client_content(note, turn_complete=False), ("client_content", "By the window.")
        )
        await other(protocol.realtime_text("At eight."), ("text", "At eight."))
        for n in range(15, 20):
            await audio(n)

        await emu.wait_until(lambda: len(recorder.of(Connected)) == 2, 5)
        await emu.wait_until(lambda: emu.sessions[0].texts_received[-1:] == ["At eight."], 5)
        await session.close()

    received = [as_sent(m) for m in emu.sessions[0].received]
    dropped = [m for m in expected if m not in received]
    assert dropped, "the buffer's bound was never reached"
    assert [kind for kind, _ in dropped] == ["audio"] * len(dropped)  # only audio goes
    assert dropped == [m for m in expected if m[0] == "audio"][: len(dropped)]  # the oldest
    assert received == [m for m in expected if m not in dropped]  # the rest, in order
    assert sum(e.dropped_audio_bytes for e in recorder.of(InputOverflow)) > 0
    assert emu.sessions[0].tool_responses["call-1"][0]["response"] == {"booked": True}


async def test_what_the_user_types_while_the_connection_is_down_arrives_in_the_order_typed():
    from pipecat.frames.frames import InputTextRawFrame

    from pipecat_gemini_live import GeminiLiveService
    from tests.pipeline_kit import running_bot

    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, retry=OUTAGE_RETRY)
        async with running_bot([llm]) as bot:
            await bot.say(silence(0.2))
            await emu.wait_until(lambda: llm.resumption_handle is not None, 5)
            await emu.close(code=1011, reason="Internal error occurred.")
            typed = ["Book a table.", "For two.", "At eight."]
            for text in typed:
                await bot.worker.queue_frame(InputTextRawFrame(text))
            await emu.wait_until(lambda: len(emu.sessions[0].texts_received) == 3, 5)
            assert emu.sessions[0].connections == 2  # they went on the resumed connection
        assert emu.sessions[0].texts_received == typed


async def test_an_answer_to_a_call_of_a_lost_conversation_is_never_sent_to_the_new_one():
    """A handler that answers after its call was cancelled (the conversation could not be
    resumed) must not reach the new session, which never made that call; what follows does."""
    from pipecat_gemini_live.emulator import ToolCallSpec
    from pipecat_gemini_live.events import ToolCall, ToolCallCancellation

    reply = Reply(text="Checking.", tool_calls=[ToolCallSpec("lookup", id="c1")])
    async with LiveEmulator(responder=ScriptedResponder([reply])) as emu:
        session, recorder = await resumable_session(emu)
        await speak(session, speech(0.5) + silence(0.8))
        await emu.wait_until(lambda: recorder.of(ToolCall), 5)
        emu.expire_handles()
        await emu.reset()
        await emu.wait_until(lambda: recorder.of(ToolCallCancellation), 5)
        late = protocol.function_response("c1", "lookup", {"found": True})
        await session.send(protocol.tool_response([("c1", late)]))
        await session.send(protocol.realtime_text("Still there?"))
        await emu.wait_until(lambda: emu.sessions[-1].texts_received, 5)
        assert len(emu.sessions) == 2
        assert all(not s.tool_responses for s in emu.sessions)
        await session.close()
