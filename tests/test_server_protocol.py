"""The server's protocol as the realistic emulator plays it, in real Pipecat pipelines (or against
the session directly): each story is one thing a Live server does that the client must get
right, named for the behaviour it shows."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest
from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection

from pipecat_gemini_live import GeminiLiveService, protocol
from pipecat_gemini_live.emulator import (
    LiveEmulator,
    Reply,
    ScriptedResponder,
    ToolCallSpec,
    profile_for,
    synthesize,
)
from pipecat_gemini_live.session import Connected, Disconnected, Failed, RetryPolicy
from tests.pipeline_kit import Bot, FakeSpeaker, FrameLog, running_bot, silence, speech
from tests.test_session import Recorder, make_session

DOWN, UP = FrameDirection.DOWNSTREAM, FrameDirection.UPSTREAM
MODEL_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
MODEL_38 = "gemini-3.8-live"
EXTENDED = "gemini-3.8-live-extended-thinking"


def service_for(emu: LiveEmulator, **kwargs: Any) -> GeminiLiveService:
    return GeminiLiveService(api_key="test-key", base_url=emu.base_url, **kwargs)


def schema(name: str) -> FunctionSchema:
    return FunctionSchema(name=name, description=name, properties={}, required=[])


def audio_of(log: FrameLog, start: int = 0) -> bytes:
    """The reply audio that passed ``log`` from ``seen[start]`` on."""
    return b"".join(
        s.frame.audio for s in log.seen[start:] if isinstance(s.frame, TTSAudioRawFrame)
    )


def index_of(log: FrameLog, kind: type, direction: FrameDirection = DOWN) -> int:
    return next(
        i for i, s in enumerate(log.seen) if isinstance(s.frame, kind) and s.direction == direction
    )


async def settle(predicate: Any, timeout: float) -> None:
    """Wait until ``predicate()`` holds or ``timeout`` passes (the assertions after say what
    was missing)."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def completed(session: Any, n: int) -> bool:
    """The emulator has sent the turnComplete of its ``n``-th model turn."""
    return len(session.turns) >= n and "usage" in session.turns[n - 1]


def server_content_keys(session: Any) -> list[str]:
    """The flags of every serverContent the emulator sent, in order (audio left out)."""
    keys = []
    for message in session.server_messages:
        content = message.get("serverContent") or {}
        keys.extend(
            k for k in ("generationComplete", "interrupted", "turnComplete") if k in content
        )
    return keys


class Warnings:
    """Loguru warnings of this package, while in the block."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __enter__(self) -> Warnings:
        self._sink = logger.add(
            lambda m: self.seen.append(str(m)), level="WARNING", filter="pipecat_gemini_live"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        logger.remove(self._sink)

    def containing(self, text: str) -> list[str]:
        return [w for w in self.seen if text in w]


# ----------------------------------------------------------------------------------------------
# A late `interrupted` (after turnComplete, while the client still plays) is no barge-in on
# the next reply.
# ----------------------------------------------------------------------------------------------


async def test_a_barge_in_after_the_turn_completed_does_not_swallow_the_next_reply():
    """The user talks just after ``turnComplete`` while the bot is still being heard: the
    server answers with ``interrupted`` (nothing left to cut), then with the next reply. That
    reply is the answer to the barge-in: every byte of it reaches the speaker."""
    first, second = "Sure, here it is.", "Of course, the second answer."
    # The late-interrupt window, widened from 0.3 s so a loaded machine is sure to hit it.
    profile = dataclasses.replace(profile_for(MODEL_38), late_interrupt_seconds=1.0)
    responder = ScriptedResponder([Reply(text=first), Reply(text=second)])
    async with LiveEmulator(responder=responder, pace=1.0, profile=profile) as emu:
        emitted = FrameLog(name="emitted")
        speaker = FakeSpeaker(speed=2.0)
        async with running_bot([service_for(emu), emitted, speaker]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            session = await emu.wait_for_session()
            await emu.wait_until(lambda: completed(session, 1), 10)
            await bot.say(speech(0.6, seed=5) + silence(0.8))  # at once, after turnComplete
            await emu.wait_until(lambda: completed(session, 2), 10)
            expected = synthesize(second)[0]
            await settle(lambda: expected in bytes(speaker.played), 5)  # (padded to 20 ms)
        # The server's late order: turnComplete, then interrupted, with no turnComplete after.
        assert session.interruptions == 1 and "interrupted" not in session.turns[0]
        assert server_content_keys(session) == [
            "generationComplete",
            "turnComplete",
            "interrupted",
            "generationComplete",
            "turnComplete",
        ]
        after_barge_in = audio_of(emitted, index_of(emitted, InterruptionFrame))
        assert len(after_barge_in) == session.turns[1]["audio_bytes_sent"] == len(expected)
        assert audio_of(emitted) == bytes(session.connection_log[0].output_audio)
        assert expected in bytes(speaker.played)  # and the user heard all of it


async def test_a_barge_in_between_generation_complete_and_turn_complete_keeps_the_next_reply():
    """The recorded order: the user speaks while the server holds ``turnComplete`` for
    playout; ``interrupted`` comes between ``generationComplete`` and ``turnComplete``, and the
    next reply is delivered whole."""
    first = "A first answer that goes on for a couple of seconds."
    second = "And the answer to the barge-in."
    responder = ScriptedResponder([Reply(text=first), Reply(text=second)])
    async with LiveEmulator(responder=responder, pace=1.0) as emu:
        emitted = FrameLog(name="emitted")
        speaker = FakeSpeaker(speed=2.0)
        async with running_bot([service_for(emu), emitted, speaker]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            session = await emu.wait_for_session()
            await emu.wait_until(lambda: "generationComplete" in server_content_keys(session), 10)
            await bot.say(speech(0.6, seed=5) + silence(0.8))  # during the playout hold
            await emu.wait_until(lambda: completed(session, 2), 10)
            expected = synthesize(second)[0]
            await settle(lambda: expected in bytes(speaker.played), 5)  # (padded to 20 ms)
        assert session.turns[0].get("interrupted") is True
        assert server_content_keys(session)[:3] == [
            "generationComplete",
            "interrupted",
            "turnComplete",
        ]
        after_barge_in = audio_of(emitted, index_of(emitted, InterruptionFrame))
        assert len(after_barge_in) == session.turns[1]["audio_bytes_sent"] == len(expected)
        assert audio_of(emitted) == bytes(session.connection_log[0].output_audio)
        assert expected in bytes(speaker.played)  # and the user heard all of it


# ----------------------------------------------------------------------------------------------
# Tool calls without an id: each one runs, and each is answered by name.
# ----------------------------------------------------------------------------------------------


async def test_tool_calls_without_ids_each_run_and_each_is_answered_by_name():
    """A server that sends its function calls without ids (an option of the emulator's
    profiles; the Live API marks the id optional): a second id-less call is a new call, not a
    repeat of the first. Both run, and each response names the function and carries no id."""
    profile = dataclasses.replace(profile_for(MODEL_25), call_ids="none")
    replies = [
        Reply(
            input_transcript="Find my order.",
            tool_calls=[ToolCallSpec("lookup", {"what": "order"})],
            after_tool=Reply(text="Found the order."),
        ),
        Reply(
            input_transcript="And my invoice?",
            tool_calls=[ToolCallSpec("lookup", {"what": "invoice"})],
            after_tool=Reply(text="Found the invoice."),
        ),
    ]
    runs: list[tuple[str, dict]] = []

    async def lookup(params):
        runs.append((params.tool_call_id, dict(params.arguments)))
        await params.result_callback({"found": params.arguments["what"]})

    async with LiveEmulator(responder=ScriptedResponder(replies), profile=profile) as emu:
        llm = service_for(emu, model=MODEL_25, tools=[schema("lookup")])
        llm.register_function("lookup", lookup)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6, seed=1) + silence(0.8))
            session = await emu.wait_for_session()
            await settle(lambda: completed(session, 1), 5)
            await bot.say(speech(0.6, seed=2) + silence(0.8))
            await settle(lambda: completed(session, 2), 5)
            spoken = "".join(f.text for f in bot.tail.frames(TTSTextFrame))
    wire_calls = [
        call
        for m in session.server_messages
        for call in m.get("toolCall", {}).get("functionCalls", [])
    ]
    assert [sorted(call) for call in wire_calls] == [["args", "name"]] * 2  # no id on the wire
    assert [arguments for _, arguments in runs] == [{"what": "order"}, {"what": "invoice"}]
    assert len({call_id for call_id, _ in runs}) == 2  # each its own id here
    assert session.tool_responses == {
        "": [
            {"name": "lookup", "response": {"found": "order"}},
            {"name": "lookup", "response": {"found": "invoice"}},
        ]
    }
    assert "Found the order." in spoken and "Found the invoice." in spoken


# ----------------------------------------------------------------------------------------------
# A slow setupComplete is retried like a failed open, and named when the retries run out.
# ----------------------------------------------------------------------------------------------


async def test_a_setup_complete_that_comes_too_late_is_retried_like_a_failed_open():
    async with LiveEmulator(responder=ScriptedResponder([Reply(text="Hello.")])) as emu:
        emu.delay_setup(1.0)  # the first connection is accepted, then set up too slowly
        recorder = Recorder()
        session = make_session(emu, recorder, open_timeout=0.3)
        await session.start()
        await settle(lambda: recorder.of(Connected) or recorder.of(Failed), 5)
        assert not recorder.of(Failed)
        (slow,) = recorder.of(Disconnected)
        assert slow.error.retryable and slow.error.code == 1006
        assert "no setupComplete within 0.3s" in slow.error.reason
        (connected,) = recorder.of(Connected)
        assert connected.connection_number == 1  # the retry is the call's first connection
        # The call goes on there.
        pcm = speech(0.5) + silence(0.8)
        for i in range(0, len(pcm), 1280):
            await session.send(protocol.realtime_audio(pcm[i : i + 1280]))
        await emu.wait_until(
            lambda: emu.sessions[-1].turns and "usage" in emu.sessions[-1].turns[0]
        )
        await session.close()


async def test_when_every_setup_complete_is_late_the_failure_says_so():
    async with LiveEmulator() as emu:
        emu.delay_setup(1.0, connections=3)
        recorder = Recorder()
        session = make_session(
            emu,
            recorder,
            open_timeout=0.2,
            retry=RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02),
        )
        await session.start()
        await settle(lambda: recorder.of(Failed), 5)
        (failed,) = recorder.of(Failed)
        assert "no setupComplete within 0.2s" in str(failed.error)
        assert "Gave up after 3 attempts" in str(failed.error)
        assert len(recorder.of(Disconnected)) == 2 and not recorder.of(Connected)
        await session.close()


# ----------------------------------------------------------------------------------------------
# goAway with a short deadline: the switch margin is measured, not a fixed 5 s.
# ----------------------------------------------------------------------------------------------


async def test_a_short_go_away_mid_speech_waits_for_the_turn_and_the_reply_and_loses_no_audio():
    """``goAway`` with 3 s left arrives while the user is still speaking. The switch waits for
    the user's turn to end and for the reply to it, which ends well before the deadline, and
    then moves to the resumed connection: every byte of the reply is heard."""
    text = "Here you are."
    # A server that generates at 1.5x real time (the recording: 3.4x), so the reply is still
    # being generated at the point a fixed 1.5 s margin would have cut it.
    profile = dataclasses.replace(profile_for(MODEL_38), generation_speedup=1.5)
    responder = ScriptedResponder([Reply(text=text)])
    async with LiveEmulator(responder=responder, pace=1.0, profile=profile) as emu:
        llm = service_for(emu)
        emitted = FrameLog(name="emitted")
        speaker = FakeSpeaker()
        async with running_bot([llm, emitted, speaker]) as bot:
            await bot.say(silence(0.2), speed=1.0)
            session = await emu.wait_for_session()
            await emu.wait_until(lambda: llm.resumption_handle is not None)
            talking = asyncio.create_task(bot.say(speech(1.0) + silence(0.8), speed=1.0))
            await asyncio.sleep(0.8)  # the user is 0.8 s into a 1 s sentence
            go_away_at = time.monotonic()
            await emu.go_away(time_left=3.0)
            await emu.wait_until(lambda: session.connections == 2, 5)
            switched_after = time.monotonic() - go_away_at
            await talking
            expected = synthesize(text)[0]
            await settle(lambda: expected in bytes(speaker.played), 5)  # (padded to 20 ms)
            stats = [s.ended_by for s in llm.live_session.connection_stats]
        first = session.connection_log[0]
        # Every byte of the reply reached the speaker: nothing was cut by the switch.
        assert len(audio_of(emitted)) == session.turns[0]["audio_bytes_sent"] == len(expected)
        assert audio_of(emitted) == bytes(first.output_audio) == expected
        assert expected in bytes(speaker.played)
        # The user's turn was heard, answered and completed on the first connection; then the
        # switch, before the deadline, on the resumed conversation.
        assert [t["kind"] for t in session.turns] == ["speech"]
        assert first.turns_completed == 1 and first.ended_by == "client"
        assert switched_after < 3.0 and len(emu.sessions) == 1
        assert stats == ["rotation", ""]  # not "rotation (cut short)"


# ----------------------------------------------------------------------------------------------
# Model rules: what each family takes, and what the service does about it.
# ----------------------------------------------------------------------------------------------
# Covered elsewhere: 3.8 answers a seed that ends with the user's turn (the blank realtime text
# after it): tests/test_context.py::test_seeded_history_and_a_run_reach_the_model_as_client_content
# (and the kick-off in test_pipecat_bot.py); 3.x seeds tool history as text:
# test_context.py::test_on_3x_tool_history_is_told_as_text_since_function_parts_are_refused;
# Vertex 3.8 answers with the call id:
# tests/test_vertex_and_tokens.py::test_vertex_uses_credentials_the_vertex_path_and_the_vertex_wire_rules.


async def test_extended_thinking_gets_a_thinking_level_and_async_calls_without_being_told():
    """``gemini-3.8-live-extended-thinking`` refuses (1007) a setup without a thinking level
    and a BLOCKING declaration. A service configured with neither, and with a plain Pipecat
    handler, is set up with the lowest level and the function NON_BLOCKING, and its call runs
    and is answered."""
    reply = Reply(
        input_transcript="Book a table.",
        tool_calls=[ToolCallSpec("book_table", id="b1")],
        after_tool=Reply(text="Booking it now."),
    )

    async def book_table(params):
        await params.result_callback({"booked": True})

    async with LiveEmulator(responder=ScriptedResponder([reply])) as emu:
        llm = service_for(emu, model=EXTENDED, tools=[schema("book_table")])
        llm.register_function("book_table", book_table)  # no cancel_on_interruption=False
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await settle(lambda: bool(emu.refused or emu.sessions), 5)
            await settle(lambda: bool(emu.sessions and emu.sessions[0].tool_responses), 5)
    assert emu.refused == [] and not bot.head.frames(ErrorFrame, UP)
    session = emu.sessions[0]
    assert session.closed_codes == []
    thinking = session.setup["generation_config"]["thinking_config"]
    assert thinking == {"thinking_level": "LOW"}
    (declaration,) = session.setup["tools"][0]["function_declarations"]
    assert declaration["behavior"] == "NON_BLOCKING"
    (response,) = session.tool_responses["b1"]
    assert response["response"] == {"booked": True} and response["scheduling"] == "WHEN_IDLE"


async def test_on_2_5_a_seed_that_ends_with_the_bots_words_is_accepted():
    """2.5 refuses (1007) a completed seed whose last turn is the model's: the service adds a
    blank user turn, and the conversation goes on."""
    context = LLMContext(
        [
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
        ]
    )
    async with LiveEmulator() as emu:
        llm = service_for(emu, model=MODEL_25)
        async with running_bot([llm]) as bot:
            await bot.worker.queue_frame(LLMContextFrame(context))
            session = await emu.wait_for_session()
            await settle(lambda: completed(session, 1) or bool(session.closed_codes), 5)
            await bot.say(speech(0.6) + silence(0.8))
            await settle(lambda: completed(session, 2) or bool(session.closed_codes), 5)
    assert session.closed_codes == [] and not bot.head.frames(ErrorFrame, UP)
    (seed,) = session.client_content
    assert [t["role"] for t in seed["turns"]] == ["user", "model", "user"]
    assert seed["turns"][-1]["parts"] == [{"text": " "}] and seed["turn_complete"] is True
    assert [t["kind"] for t in session.turns] == ["content", "speech"]


async def test_on_3_8_a_conversation_lost_after_a_tool_round_is_reseeded_with_the_tools_as_text():
    """After a tool round the server forgets the conversation and the connection drops: the
    new session is seeded with the conversation so far, the tool call and its result told as
    text (3.x refuses function parts in history with 1007), and the call goes on."""
    weather = FunctionSchema("get_weather", "Weather for a city", {"city": {"type": "string"}}, [])
    tools = ToolsSchema(standard_tools=[weather])
    replies = [
        Reply(
            input_transcript="What is the weather in Rome?",
            tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"}, id="c1")],
            after_tool=Reply(text="Rain in Rome."),
        ),
        Reply(text="You are welcome.", input_transcript="Thanks."),
    ]

    async def get_weather(params):
        await params.result_callback({"forecast": "rain"})

    async with LiveEmulator(responder=ScriptedResponder(replies)) as emu:
        llm = service_for(
            emu, tools=tools, retry=RetryPolicy(initial_delay=0.01, max_delay=0.05)
        )  # 3.8
        llm.register_function("get_weather", get_weather)
        context = LLMContext(tools=tools)
        pair = LLMContextAggregatorPair(context)
        async with running_bot([pair.user(), llm, pair.assistant()]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(
                lambda: any(
                    m.get("role") == "assistant" and "Rain" in str(m.get("content"))
                    for m in context.get_messages()
                ),
                10,
            )
            emu.expire_handles()
            await emu.drop()
            await settle(lambda: len(emu.sessions) == 2 and bool(emu.sessions[1].client_content), 5)
            await bot.say(speech(0.6, seed=2) + silence(0.8))
            await settle(lambda: len(emu.sessions) == 2 and completed(emu.sessions[1], 1), 5)
            await settle(
                lambda: any("welcome" in str(m.get("content")) for m in context.get_messages()), 5
            )
    assert not bot.head.frames(ErrorFrame, UP)
    fresh = emu.sessions[1]
    assert fresh.closed_codes == []
    (seed,) = fresh.client_content
    assert seed["turn_complete"] is False
    parts = [part for turn in seed["turns"] for part in turn["parts"]]
    assert all(set(part) == {"text"} for part in parts)  # no function_call/function_response
    texts = [part["text"] for part in parts]
    assert '[Called function get_weather with arguments {"city": "Rome"}]' in texts
    assert '[Function get_weather returned {"forecast": "rain"}]' in texts
    assert [t["reply"] for t in fresh.turns] == ["You are welcome."]  # answered by the new one


# ----------------------------------------------------------------------------------------------
# Server messages the profiles do not send, injected: each one is acted on.
# ----------------------------------------------------------------------------------------------


def raw(message: dict) -> str:
    return json.dumps(message)


def vad_signal(kind: str) -> str:
    return raw({"voiceActivityDetectionSignal": {"vadSignalType": f"VAD_SIGNAL_TYPE_{kind}"}})


async def test_the_servers_vad_signal_opens_and_closes_the_users_turn():
    async with LiveEmulator() as emu:  # 2.5: no voiceActivity of its own
        async with running_bot([service_for(emu, model=MODEL_25)]) as bot:
            await bot.say(silence(0.2))  # connects; nothing voiced of the service's own
            await emu.wait_for_session()
            await emu.send_raw(vad_signal("SOS"))
            await settle(lambda: bot.head.frames(UserStartedSpeakingFrame, UP), 2)
            assert len(bot.head.frames(UserStartedSpeakingFrame, UP)) == 1
            assert len(bot.tail.frames(UserStartedSpeakingFrame, DOWN)) == 1
            assert not bot.tail.frames(UserStoppedSpeakingFrame)
            await emu.send_raw(vad_signal("EOS"))
            await settle(lambda: bot.head.frames(UserStoppedSpeakingFrame, UP), 2)
            assert len(bot.head.frames(UserStoppedSpeakingFrame, UP)) == 1
            assert len(bot.tail.frames(UserStoppedSpeakingFrame, DOWN)) == 1


async def test_an_interim_transcript_is_broadcast_as_an_interim_transcription():
    interim = raw({"serverContent": {"interimInputTranscription": {"text": " what time"}}})
    async with LiveEmulator() as emu:
        async with running_bot([service_for(emu)]) as bot:
            await bot.say(silence(0.2))
            await emu.wait_for_session()
            await emu.send_raw(interim)
            await settle(lambda: bot.tail.frames(InterimTranscriptionFrame, DOWN), 2)
            up = bot.head.frames(InterimTranscriptionFrame, UP)
            down = bot.tail.frames(InterimTranscriptionFrame, DOWN)
    assert [f.text for f in up] == [" what time"] and [f.text for f in down] == [" what time"]
    assert all(f.user_id == "user" for f in up + down)


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("MALFORMED_FUNCTION_CALL", "could not express"),
        ("RESPONSE_REJECTED", "response was rejected"),
        ("PROHIBITED_INPUT_CONTENT", "refused as prohibited content"),
    ],
)
async def test_a_turn_that_ended_early_is_reported_and_the_call_goes_on(reason, said):
    ended = raw({"serverContent": {"turnComplete": True, "turnCompleteReason": reason}})
    responder = ScriptedResponder([Reply(text="Still here.", input_transcript="Hello?")])
    with Warnings() as warnings:
        async with LiveEmulator(responder=responder) as emu:
            async with running_bot([service_for(emu)]) as bot:
                await bot.say(silence(0.2))
                session = await emu.wait_for_session()
                await emu.send_raw(ended)
                await settle(lambda: warnings.containing("turn ended early"), 2)
                await bot.say(speech(0.6) + silence(0.8))
                await settle(lambda: completed(session, 1), 5)
                assert not bot.head.frames(ErrorFrame, UP)
    early = warnings.containing("turn ended early")
    assert len(early) == 1 and said in early[0], warnings.seen
    assert "Still here." in "".join(f.text for f in bot.tail.frames(TTSTextFrame))


IN_PROGRESS = raw({"serverContent": {"interactionStatus": "IN_PROGRESS"}})
IDLE = raw({"serverContent": {"interactionStatus": "IDLE"}})


async def answered_once(bot: Bot, emu: LiveEmulator) -> Any:
    """One spoken turn, answered and completed (IDLE rides on the turnComplete)."""
    await bot.say(speech(0.6) + silence(0.8))
    session = await emu.wait_for_session()
    await emu.wait_until(lambda: completed(session, 1), 5)
    await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame), 5)
    return session


async def test_an_end_frame_waits_while_a_thinking_model_is_still_at_work():
    responder = ScriptedResponder([Reply(text="Let me think about that.")])
    async with LiveEmulator(responder=responder) as emu:
        async with running_bot([service_for(emu, model=EXTENDED)]) as bot:
            session = await answered_once(bot, emu)
            await emu.send_raw(IN_PROGRESS)  # the model is still working on the request
            await asyncio.sleep(0.2)
            await bot.worker.queue_frame(EndFrame())
            await asyncio.sleep(0.6)
            assert not bot.tail.frames(EndFrame)  # held while the model works
            assert session.ws is not None  # and the connection is still open
            await emu.send_raw(IDLE)
            idle_at = time.monotonic()
            await bot.wait_for(lambda: bot.tail.frames(EndFrame), 5)
            ended_at = next(s.at for s in bot.tail.seen if isinstance(s.frame, EndFrame))
            assert ended_at >= idle_at


async def test_an_end_frame_waits_for_a_working_model_no_longer_than_the_grace_period():
    responder = ScriptedResponder([Reply(text="Let me think about that.")])
    with Warnings() as warnings:
        async with LiveEmulator(responder=responder) as emu:
            llm = service_for(emu, model=EXTENDED, end_grace_seconds=0.5)
            async with running_bot([llm]) as bot:
                await answered_once(bot, emu)
                await emu.send_raw(IN_PROGRESS)  # and it never says IDLE
                await asyncio.sleep(0.2)
                queued_at = time.monotonic()
                await bot.worker.queue_frame(EndFrame())
                await bot.wait_for(lambda: bot.tail.frames(EndFrame), 5)
                ended_at = next(s.at for s in bot.tail.seen if isinstance(s.frame, EndFrame))
    assert 0.5 <= ended_at - queued_at < 2.0
    assert warnings.containing("ending with a reply still in progress")


async def test_a_planned_switch_waits_while_a_thinking_model_is_still_at_work():
    responder = ScriptedResponder([Reply(text="Let me think about that.")])
    async with LiveEmulator(responder=responder) as emu:
        llm = service_for(emu, model=EXTENDED, end_grace_seconds=1.0)  # (left IN_PROGRESS)
        async with running_bot([llm]) as bot:
            session = await answered_once(bot, emu)
            await emu.wait_until(lambda: llm.resumption_handle == session.handles_issued[-1])
            await emu.send_raw(IN_PROGRESS)
            await asyncio.sleep(0.2)
            await emu.go_away(time_left=10.0)
            await asyncio.sleep(0.5)
            assert session.connections == 1  # no switch while the model still works
            await emu.send_raw(IDLE)
            await emu.wait_until(lambda: session.connections == 2, 3)  # then at once


async def test_the_empty_messages_3_8_sends_before_its_audio_are_not_reported():
    responder = ScriptedResponder([Reply(text="Hello there.", input_transcript="Hi.")])
    with Warnings() as warnings:
        async with LiveEmulator(responder=responder) as emu:  # 3.8: {} before every chunk
            async with running_bot([service_for(emu)]) as bot:
                await bot.say(speech(0.6) + silence(0.8))
                session = await emu.wait_for_session()
                await emu.send_raw("{}")
                await emu.wait_until(lambda: completed(session, 1), 5)
                await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame), 5)
    assert sum(message == {} for message in session.server_messages) > 1
    assert warnings.seen == []


# ----------------------------------------------------------------------------------------------
# The receive path: nothing sleeps in it, and async results do not cut the bot off.
# ----------------------------------------------------------------------------------------------

LONG = "Meanwhile, a sentence that lasts a while, so a result can arrive while it is spoken."


async def test_audio_that_follows_a_tool_call_is_delivered_without_waiting():
    """A reply that opens with an async call and talks on: its audio is handed down the
    pipeline as it arrives, before the handler runs (the handler waits for the question to
    settle into the context, off the receive loop)."""
    reply = Reply(
        input_transcript="Where is my order?",
        tool_calls=[ToolCallSpec("track_order", id="t1")],
        after_tool=Reply(text="Let me look while we talk."),
    )
    handler_ran: list[float] = []

    async def track_order(params):
        handler_ran.append(time.monotonic())
        await params.result_callback({"status": "shipped"})

    async with LiveEmulator(responder=ScriptedResponder([reply])) as emu:  # 3.8, pace 0
        llm = service_for(emu, tools=[schema("track_order")])
        llm.register_function("track_order", track_order, cancel_on_interruption=False)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            session = await emu.wait_for_session()
            await emu.wait_until(lambda: "t1" in session.tool_responses, 5)
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 5)
    sent_at = session.turns[0]["first_audio_at"]
    delivered_at = next(s.at for s in bot.tail.seen if isinstance(s.frame, TTSAudioRawFrame))
    assert delivered_at - sent_at < 0.06, f"audio held {delivered_at - sent_at:.3f} s"
    assert delivered_at < handler_ran[0]


async def test_an_async_result_waits_for_the_bot_to_finish_by_default():
    async def track_order(params):
        await asyncio.sleep(0.4)  # lands while the long sentence is being spoken
        await params.result_callback("shipped")

    reply = Reply(
        text="Let me check.",
        tool_calls=[ToolCallSpec("track_order", id="t1")],
        after_tool=Reply(text=LONG),
    )
    async with LiveEmulator(responder=ScriptedResponder([reply]), pace=2.0) as emu:
        llm = service_for(emu, tools=[schema("track_order")])  # no async_tool_scheduling
        llm.register_function("track_order", track_order, cancel_on_interruption=False)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            session = await emu.wait_for_session()
            await settle(lambda: any(r["spoken"] for r in session.async_results), 10)
            await settle(lambda: completed(session, 2), 10)
    # The whole sentence, then the result: the bot was not cut off.
    (result,) = session.async_results
    assert not result["interrupted_reply"], "the result cut the bot off mid-sentence"
    assert session.interruptions == 0 and not bot.tail.frames(InterruptionFrame)
    text = "".join(f.text for f in bot.tail.frames(TTSTextFrame))
    assert text.index("while it is spoken.") < text.index("The track_order result is in.")
    (response,) = session.tool_responses["t1"]
    assert response["scheduling"] == "WHEN_IDLE"
