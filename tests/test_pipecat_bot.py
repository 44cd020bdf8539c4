"""Acceptance: a bot shaped like Pipecat's own Gemini Live example bots, against the emulator.

The bot is Pipecat's ``examples/realtime/realtime-gemini-live.py`` with this package's
service in place of the built-in one: a system instruction and a voice in the service, two
function tools registered with ``register_function`` plus Google Search, ``LLMContext`` with
``LLMContextAggregatorPair``, RTVI wired by ``PipelineWorker(enable_rtvi=True)``, the worker's
``TurnTrackingObserver`` and a ``UserBotLatencyObserver``. The output transport is a fake speaker
that plays in real time and keeps what the RTVI processor sends to the client
(``OutputTransportMessageUrgentFrame`` messages), so the tests read what an RTVI client would
receive and what Pipecat's own observers and aggregators report.

Only the tests about the example's kick-off (a developer message and ``LLMRunFrame``) include it:
elsewhere a greeting would change which scripted reply answers which turn once it is fixed.

The ground truth for each assertion is ``docs/pipecat-integration.md`` (Pipecat 1.14's own
rules, read from its source).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    EndFrame,
    Frame,
    InputTextRawFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    AssistantTurnStoppedMessage,
    LLMContextAggregatorPair,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from pipecat_gemini_live.emulator.records import EmulatedSession
from tests.pipeline_kit import FakeSpeaker, FrameLog, Seen, audio_frames, silence, speech

WITH_VOICE_ACTIVITY = "gemini-3.8-live"
WITHOUT_VOICE_ACTIVITY = "gemini-2.5-flash-native-audio-preview-12-2025"
MODELS = [
    pytest.param(WITH_VOICE_ACTIVITY, id="3.8-voiceActivity"),
    pytest.param(WITHOUT_VOICE_ACTIVITY, id="2.5-no-voiceActivity"),
]

SYSTEM_INSTRUCTION = """
You are a helpful assistant who can answer questions and use tools.

You have three tools available to you:
1. get_current_weather: Use this tool to get the current weather in a specific location.
2. get_restaurant_recommendation: Use this tool to get a restaurant recommendation.
3. google_search: Use this tool to search the web for information.
""".strip()
KICKOFF = "Please introduce yourself to the user."

# The emulator's end-of-speech to first-audio time, and Pipecat's speech boundaries, are
# compared with these margins (docs/pipecat-integration.md, section f).
SPEECH_BOUNDARY_SECONDS = 0.3
LATENCY_SECONDS = 0.05


# ----------------------------------------------------------------------------- the example bot


async def fetch_weather_from_api(params: FunctionCallParams) -> None:
    temperature = 75 if params.arguments.get("format") == "fahrenheit" else 24
    await params.result_callback(
        {"conditions": "nice", "temperature": temperature, "format": params.arguments.get("format")}
    )


async def fetch_restaurant_recommendation(params: FunctionCallParams) -> None:
    await params.result_callback({"name": "The Golden Dragon"})


def example_tools() -> ToolsSchema:
    location = {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}
    weather = FunctionSchema(
        name="get_current_weather",
        description="Get the current weather",
        properties={
            "location": location,
            "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        required=["location", "format"],
    )
    restaurant = FunctionSchema(
        name="get_restaurant_recommendation",
        description="Get a restaurant recommendation",
        properties={"location": location},
        required=["location"],
    )
    return ToolsSchema(
        standard_tools=[weather, restaurant],
        custom_tools={AdapterType.GEMINI: [{"googleSearch": {}}]},
    )


class ClientTransport(FakeSpeaker):
    """The output transport: plays audio in real time (times ``speed``) and keeps the messages
    sent to the client, which is where the RTVI processor's messages go."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages: list[dict[str, Any]] = []

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ) -> None:
        if isinstance(frame.message, dict):
            self.messages.append(frame.message)


@dataclass
class ExampleBot:
    emu: LiveEmulator
    llm: GeminiLiveService
    worker: PipelineWorker
    context: LLMContext
    client: ClientTransport
    logs: list[FrameLog]
    latencies: list[float] = field(default_factory=list)
    assistant_turns: list[AssistantTurnStoppedMessage] = field(default_factory=list)
    turns_started: list[int] = field(default_factory=list)
    turns_ended: list[tuple[int, bool]] = field(default_factory=list)  # (turn, interrupted)

    @property
    def session(self) -> EmulatedSession:
        return self.emu.sessions[0]

    def rtvi(self, kind: str) -> list[dict[str, Any]]:
        """The RTVI messages of one type the client received, in order."""
        return [m for m in self.client.messages if m.get("type") == kind]

    def messages(self, role: str) -> list[dict[str, Any]]:
        return [m for m in self.context.get_messages() if m.get("role") == role]

    def sightings(self, kind: type[Frame]) -> list[Seen]:
        """Every time a frame of this kind passed one of the logs (before the service, after it,
        at the end of the pipeline), either way, earliest first."""
        return sorted(
            (s for log in self.logs for s in log.seen if isinstance(s.frame, kind)),
            key=lambda s: s.at,
        )

    def first_seen(self, kind: type[Frame], after: float = 0.0) -> float | None:
        times = [s.at for s in self.sightings(kind) if s.at >= after]
        return times[0] if times else None

    async def say(self, pcm: bytes, *, speed: float) -> None:
        """Stream 16 kHz mono audio in 20 ms frames, ``speed`` x real time."""
        start = time.monotonic()
        for index, frame in enumerate(audio_frames(pcm, 16000)):
            await self.worker.queue_frame(frame)
            # Paced on the clock, not by summed sleeps, so the audio arrives on time.
            delay = start + (index + 1) * 0.02 / speed - time.monotonic()
            await asyncio.sleep(max(0.0, delay))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate()``; False (no exception) if it never held."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True


@contextlib.asynccontextmanager
async def example_bot(
    emu: LiveEmulator,
    *,
    model: str | None = None,
    kickoff: bool = False,
    speaker_speed: float = 1.0,
) -> AsyncIterator[ExampleBot]:
    llm = GeminiLiveService(
        api_key="test-key",
        base_url=emu.base_url,
        model=model,
        settings=GeminiLiveService.Settings(system_instruction=SYSTEM_INSTRUCTION, voice="Aoede"),
        tools=example_tools(),
    )
    llm.register_function("get_current_weather", fetch_weather_from_api)
    llm.register_function("get_restaurant_recommendation", fetch_restaurant_recommendation)

    context = LLMContext()
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(context)
    client = ClientTransport(speed=speaker_speed)
    # Logs around the service and at the end of the pipeline, so a frame is timed where it
    # first appears whoever pushes it.
    before, after, tail = FrameLog(name="before"), FrameLog(name="after"), FrameLog(name="tail")
    pipeline = Pipeline([before, user_aggregator, llm, after, client, assistant_aggregator, tail])
    latency = UserBotLatencyObserver()
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            enable_metrics=True,
            enable_usage_metrics=True,
            audio_in_sample_rate=16000,
            audio_out_sample_rate=24000,
        ),
        observers=[latency],
        enable_rtvi=True,
        idle_timeout_secs=None,
    )
    bot = ExampleBot(emu, llm, worker, context, client, [before, after, tail])

    @latency.event_handler("on_latency_measured")
    async def on_latency_measured(observer, seconds: float) -> None:
        bot.latencies.append(seconds)

    @assistant_aggregator.event_handler("on_assistant_turn_stopped")
    async def on_assistant_turn_stopped(aggregator, message: AssistantTurnStoppedMessage) -> None:
        bot.assistant_turns.append(message)

    turn_tracking = worker.turn_tracking_observer
    assert turn_tracking is not None

    @turn_tracking.event_handler("on_turn_started")
    async def on_turn_started(observer, turn: int) -> None:
        bot.turns_started.append(turn)

    @turn_tracking.event_handler("on_turn_ended")
    async def on_turn_ended(observer, turn: int, duration: float, interrupted: bool) -> None:
        bot.turns_ended.append((turn, interrupted))

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        assert await bot.wait_for(lambda: tail.counts["StartFrame"] > 0), "pipeline never started"
        if kickoff:
            # The example's on_client_connected: kick off the conversation.
            context.add_message({"role": "developer", "content": KICKOFF})
            await worker.queue_frames([LLMRunFrame()])
        yield bot
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(run, 15)
        except asyncio.TimeoutError:
            await worker.cancel()
            await asyncio.wait_for(run, 5)


def turn_done(bot: ExampleBot, index: int) -> Callable[[], bool]:
    """The emulator has finished model turn ``index`` (its turnComplete, with usage, is out)."""
    return lambda: (
        bool(bot.emu.sessions)
        and len(bot.session.turns) > index
        and "usage" in bot.session.turns[index]
    )


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


# Scenarios that several tests read run once per module (and per model): a scenario that
# fails is reported by each test that reads it, without running again.


@pytest.fixture(scope="module")
def runs() -> dict[Any, Any]:
    return {}


def run_once(runs: dict[Any, Any], key: Any, scenario: Callable[[], Any]) -> Any:
    if key not in runs:
        try:
            runs[key] = asyncio.run(scenario())
        except Exception as error:  # reported by every test that reads the scenario
            runs[key] = error
    if isinstance(runs[key], Exception):
        raise runs[key]
    return runs[key]


# ----------------------------------------------------------------------------- a. RTVI

SENTENCES = ["What is the weather?", "Is it cold outside?", "Should I take a coat?", "Thank you."]


@pytest.mark.parametrize("model", MODELS)
async def test_each_user_sentence_reaches_the_rtvi_client_once(model):
    responder = ScriptedResponder(
        [Reply(text="Okay.", input_transcript=sentence) for sentence in SENTENCES]
    )
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        async with example_bot(emu, model=model, speaker_speed=8.0) as bot:
            for index in range(len(SENTENCES)):
                await bot.say(speech(0.6, seed=index) + silence(0.8), speed=4.0)
                assert await bot.wait_for(turn_done(bot, index)), f"turn {index} not answered"
                assert await bot.wait_for(lambda i=index: len(bot.messages("assistant")) > i)
            await asyncio.sleep(0.3)  # any late duplicate lands

    finals = [m["data"]["text"] for m in bot.rtvi("user-transcription") if m["data"]["final"]]
    inputs = [m["data"]["text"] for m in bot.rtvi("user-input") if m["data"]["final"]]
    assert (len(finals), len(inputs)) == (len(SENTENCES), len(SENTENCES)), (
        f"user-transcription messages: {len(finals)} for {len(SENTENCES)} sentences "
        f"(user-input: {len(inputs)}): {finals}"
    )
    assert finals == SENTENCES and inputs == SENTENCES


# ----------------------------------------------------------------------------- b. barge-in

LONG_REPLY = "This is a long answer that keeps going and going " * 6


@dataclass
class BargeIn:
    bot: ExampleBot
    after: FrameLog  # what passed just after the service: what it pushed downstream


async def barge_in_scenario() -> BargeIn:
    """At pace 1.0: a question, a long reply, the user talks over it once 0.8 s of it has been
    heard, and the model answers that."""
    responder = ScriptedResponder(
        [
            Reply(text=LONG_REPLY, input_transcript="Tell me a story."),
            Reply(text="Sure, stopping.", input_transcript="Stop."),
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emu:
        async with example_bot(emu) as bot:
            await bot.say(speech(0.8) + silence(1.0), speed=4.0)
            heard = await bot.wait_for(lambda: len(bot.client.played) > 24000 * 2 * 0.8, 15)
            assert heard, "the long reply never played"
            await bot.say(speech(0.8, seed=7) + silence(1.0), speed=1.0)
            assert await bot.wait_for(turn_done(bot, 1), 15), "the barge-in went unanswered"
            await bot.wait_for(lambda: len(bot.messages("assistant")) >= 2, 5)
            await bot.wait_for(lambda: len(bot.rtvi("bot-stopped-speaking")) >= 2, 5)
            await asyncio.sleep(0.3)
    return BargeIn(bot, bot.logs[1])


@pytest.fixture
def barge_in(runs: dict[Any, Any]) -> BargeIn:
    return run_once(runs, "barge-in", barge_in_scenario)


def test_bot_llm_started_and_stopped_balance_across_a_barge_in(barge_in: BargeIn):
    bot = barge_in.bot
    assert bot.session.interruptions == 1
    started, stopped = len(bot.rtvi("bot-llm-started")), len(bot.rtvi("bot-llm-stopped"))
    assert (started, stopped) == (2, 2), (
        f"bot-llm-started {started}, bot-llm-stopped {stopped} across one barge-in"
    )
    # What the service pushed downstream: each reply opens and closes, and the interrupted
    # reply's End follows the InterruptionFrame (spec, section b).
    pushed = [
        (type(s.frame).__name__, s.at)
        for s in barge_in.after.seen
        if s.direction == FrameDirection.DOWNSTREAM
        and isinstance(
            s.frame, (InterruptionFrame, LLMFullResponseStartFrame, LLMFullResponseEndFrame)
        )
    ]
    replies = [name for name, _ in pushed if name != "InterruptionFrame"]
    assert replies == ["LLMFullResponseStartFrame", "LLMFullResponseEndFrame"] * 2, pushed
    names = [name for name, _ in pushed]
    first_end = names.index("LLMFullResponseEndFrame")
    assert "InterruptionFrame" in names[1:first_end], (
        f"the interrupted reply's End comes before the InterruptionFrame: {names}"
    )


def test_the_interrupted_reply_is_recorded_as_heard_and_apart_from_the_next(barge_in: BargeIn):
    bot = barge_in.bot
    first, second = bot.messages("assistant")[:2]
    heard = text_of(first).strip()
    assert heard and LONG_REPLY.startswith(heard[:20])
    assert len(heard) < len(LONG_REPLY.strip()) * 0.8  # only what was played
    assert text_of(second).strip() == "Sure, stopping."
    assert [(t.interrupted, t.content.strip()) for t in bot.assistant_turns] == [
        (True, heard),
        (False, "Sure, stopping."),
    ]
    assert [text_of(m) for m in bot.messages("user")] == ["Tell me a story.", "Stop."]


def test_turn_tracking_sees_the_barge_in_as_an_interrupted_turn(barge_in: BargeIn):
    bot = barge_in.bot
    # Turn 1 opens at the StartFrame; only a UserStartedSpeakingFrame while the bot speaks
    # ends it as interrupted and opens turn 2 (the pipeline's end closes whatever is open).
    assert bot.turns_started == [1, 2]
    assert bot.turns_ended[0] == (1, True)
    assert len(bot.rtvi("bot-interrupted")) >= 1


# ----------------------------------------------------------------------------- d. instructions


def kicked_off_scenario(model: str) -> Callable[[], Any]:
    async def scenario() -> ExampleBot:
        responder = ScriptedResponder([Reply(text="Hello! I am your assistant.")])
        async with LiveEmulator(api_key="test-key", responder=responder) as emu:
            async with example_bot(emu, model=model, kickoff=True, speaker_speed=8.0) as bot:
                await emu.wait_until(lambda: bool(emu.sessions), 10)
                # The model answers the kick-off as soon as it hears it; give it the time.
                await bot.wait_for(turn_done(bot, 0), 3.0)
        return bot

    return scenario


@pytest.fixture
def kicked_off(runs: dict[Any, Any], model: str) -> ExampleBot:
    return run_once(runs, ("kick-off", model), kicked_off_scenario(model))


@pytest.mark.parametrize("model", MODELS)
def test_the_example_bots_tools_and_voice_reach_setup(kicked_off: ExampleBot):
    setup = kicked_off.session.setup
    declared = [
        function["name"]
        for tool in setup["tools"]
        for function in tool.get("function_declarations") or []
    ]
    assert declared == ["get_current_weather", "get_restaurant_recommendation"]
    assert {"google_search": {}} in setup["tools"]
    voice = setup["generation_config"]["speech_config"]["voice_config"]
    assert voice["prebuilt_voice_config"]["voice_name"] == "Aoede"


@pytest.mark.parametrize("model", MODELS)
def test_the_configured_system_prompt_reaches_setup_despite_a_developer_message(
    kicked_off: ExampleBot,
):
    instruction = kicked_off.session.system_instruction
    assert instruction == SYSTEM_INSTRUCTION, f"setup system_instruction is {instruction!r}"


@pytest.mark.parametrize("model", MODELS)
def test_the_developer_kickoff_reaches_the_model_as_a_user_turn(kicked_off: ExampleBot):
    session = kicked_off.session
    user_texts = [
        part.get("text", "")
        for content in session.client_content
        for turn in content.get("turns") or []
        if turn.get("role") == "user"
        for part in turn.get("parts") or []
    ] + list(session.texts_received)
    assert KICKOFF in [text.strip() for text in user_texts], (
        f"user turns sent: {user_texts}; turns answered: {[t['kind'] for t in session.turns]}"
    )
    assert session.turns and session.turns[0]["kind"] in ("content", "text")  # it introduced itself


# ----------------------------------------------------------------------------- e. typed text

TYPED = "What's the time in Oslo?"
ANSWER = "It is noon in Oslo."


@pytest.mark.parametrize("model", MODELS)
async def test_typed_text_is_a_user_message_and_the_reply_holds_only_what_the_bot_said(model):
    responder = ScriptedResponder([Reply(text=ANSWER)])
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        async with example_bot(emu, model=model, speaker_speed=8.0) as bot:
            await bot.worker.queue_frame(InputTextRawFrame(TYPED))
            assert await bot.wait_for(turn_done(bot, 0)), "the typed text went unanswered"
            await bot.wait_for(lambda: bool(bot.messages("assistant")), 5)
            await asyncio.sleep(0.3)
    assert emu.sessions[0].texts_received == [TYPED]
    recorded = [(m.get("role"), text_of(m).strip()) for m in bot.context.get_messages()]
    assert recorded == [("user", TYPED), ("assistant", ANSWER)], recorded


# ----------------------------------------------------------------------------- f. user turns


@dataclass
class SpokenTurn:
    bot: ExampleBot
    onset: float  # the emulator's record: the first voiced audio arrived (monotonic)
    end: float  # the last voiced audio arrived
    first_audio: float  # the reply's first audio went out

    @property
    def true_latency(self) -> float:
        return self.first_audio - self.end


def spoken_scenario(model: str) -> Callable[[], Any]:
    """At pace 1.0, 1 s of speech streamed in real time between silences; the model answers."""

    async def scenario() -> SpokenTurn:
        responder = ScriptedResponder([Reply(text="Okay, noted.", input_transcript="Hello there.")])
        async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emu:
            async with example_bot(emu, model=model) as bot:
                # The connection opens with the first audio (there is no context frame here).
                await bot.say(silence(0.3) + speech(1.0) + silence(1.2), speed=1.0)
                assert await bot.wait_for(turn_done(bot, 0), 10), "the speech went unanswered"
                await bot.wait_for(lambda: bool(bot.rtvi("bot-stopped-speaking")), 5)
                await asyncio.sleep(0.2)
        turn = bot.session.turns[0]
        return SpokenTurn(
            bot, turn["speech_started_at"], turn["speech_ended_at"], turn["first_audio_at"]
        )

    return scenario


@pytest.fixture
def spoken(runs: dict[Any, Any], model: str) -> SpokenTurn:
    return run_once(runs, ("spoken", model), spoken_scenario(model))


def offset(at: float | None, truth: float) -> str:
    return "never" if at is None else f"{at - truth:+.3f} s"


@pytest.mark.parametrize(
    "model",
    [
        MODELS[0],
        pytest.param(WITHOUT_VOICE_ACTIVITY, id="2.5-no-voiceActivity"),
    ],
)
def test_the_user_turn_starts_at_the_onset_of_speech(spoken: SpokenTurn):
    started = spoken.bot.first_seen(UserStartedSpeakingFrame)
    assert started is not None and abs(started - spoken.onset) <= SPEECH_BOUNDARY_SECONDS, (
        f"UserStartedSpeakingFrame at {offset(started, spoken.onset)} from the onset"
    )
    assert len(spoken.bot.rtvi("user-started-speaking")) == 1


@pytest.mark.parametrize("model", MODELS)
def test_vad_frames_mark_the_onset_and_end_of_speech(spoken: SpokenTurn):
    bot = spoken.bot
    started = bot.first_seen(VADUserStartedSpeakingFrame)
    assert started is not None and abs(started - spoken.onset) <= SPEECH_BOUNDARY_SECONDS, (
        f"VADUserStartedSpeakingFrame at {offset(started, spoken.onset)} from the onset"
    )
    stopped = bot.first_seen(VADUserStoppedSpeakingFrame, after=started)
    assert stopped is not None and abs(stopped - spoken.end) <= SPEECH_BOUNDARY_SECONDS, (
        f"VADUserStoppedSpeakingFrame at {offset(stopped, spoken.end)} from the end of speech"
    )
    downstream = [
        s
        for s in bot.sightings(VADUserStoppedSpeakingFrame)
        if s.direction == FrameDirection.DOWNSTREAM
    ]
    assert downstream, "the latency observer reads VADUserStoppedSpeakingFrame downstream only"


@pytest.mark.parametrize("model", MODELS)
def test_the_user_turn_ends_after_the_speech_and_before_the_reply(spoken: SpokenTurn):
    bot = spoken.bot
    stopped = bot.first_seen(UserStoppedSpeakingFrame)
    first_audio = bot.first_seen(TTSAudioRawFrame)
    assert stopped is not None and first_audio is not None
    assert spoken.end <= stopped <= first_audio, (
        f"UserStoppedSpeakingFrame at {offset(stopped, spoken.end)} from the end of speech, "
        f"the reply's first audio at {offset(first_audio, spoken.end)}"
    )
    assert len(bot.rtvi("user-stopped-speaking")) == 1


@pytest.mark.parametrize("model", MODELS)
def test_the_latency_observer_reports_end_of_speech_to_first_audio(spoken: SpokenTurn):
    bot = spoken.bot
    assert bot.first_seen(BotStartedSpeakingFrame) is not None
    assert len(bot.latencies) == 1, (
        f"UserBotLatencyObserver measured {bot.latencies}; the emulator's end of speech to "
        f"first audio was {spoken.true_latency:.3f} s"
    )
    assert abs(bot.latencies[0] - spoken.true_latency) <= LATENCY_SECONDS, (
        f"observer {bot.latencies[0]:.3f} s, emulator {spoken.true_latency:.3f} s"
    )
