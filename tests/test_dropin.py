"""The drop-in: a bot written for Pipecat's built-in service runs with only its import changed.

``tests/bot_for_the_builtin.py`` is that bot (voice, two function tools and Google Search,
Pipecat's Silero VAD driving turns, a camera frame, a live settings update, ``http_options``
to a private endpoint). It runs as it is against the emulator (so it is a working built-in
bot, not one written for us), then with ``pipecat.services.google.gemini_live.llm`` replaced
by ``pipecat_gemini_live.dropin`` in its text, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputImageRawFrame,
    LLMFullResponseEndFrame,
    TTSAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.google.frames import LLMSearchResponseFrame
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import FakeSpeaker, FrameLog, audio_frames, silence

BOT = Path(__file__).with_name("bot_for_the_builtin.py")
BUILTIN_IMPORT = "from pipecat.services.google.gemini_live.llm import ("
DROPIN_IMPORT = "from pipecat_gemini_live.dropin import ("
QUESTION = Path(__file__).resolve().parent.parent / "examples" / "assets" / "question.wav"
GROUNDING = {
    "webSearchQueries": ["golden dragon reviews"],
    "groundingChunks": [{"web": {"uri": "https://food.example/gd", "title": "food.example"}}],
    "groundingSupports": [
        {
            "segment": {"startIndex": 0, "endIndex": 14, "text": "People like it"},
            "groundingChunkIndices": [0],
            "confidenceScores": [0.9],
        }
    ],
}


def load_bot(dropin: bool) -> ModuleType:
    source = BOT.read_text()
    assert source.count(BUILTIN_IMPORT) == 1
    if dropin:
        source = source.replace(BUILTIN_IMPORT, DROPIN_IMPORT)
    name = f"bot_for_the_builtin_{'dropin' if dropin else 'builtin'}"
    module = ModuleType(name)
    module.__file__ = str(BOT)
    sys.modules[name] = module
    exec(compile(source, str(BOT), "exec"), module.__dict__)
    return module


def question() -> bytes:
    with wave.open(str(QUESTION)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (16000, 1)
        return wav.readframes(wav.getnframes())


def camera_frame() -> InputImageRawFrame:
    pixels = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    return InputImageRawFrame(image=pixels.tobytes(), size=(320, 240), format="RGB")


class Speaker(FakeSpeaker):
    """The output transport; remembers every frame that reaches it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        self.seen.append(frame)
        await super().process_frame(frame, direction)

    def frames(self, kind: type) -> list[Any]:
        return [f for f in self.seen if isinstance(f, kind)]


@dataclass
class Run:
    emu: LiveEmulator
    bot: ModuleType
    worker: Any
    llm: Any
    context: Any
    speaker: Speaker

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    def turn_done(self, index: int) -> Callable[[], bool]:
        def done() -> bool:
            turns = self.emu.sessions[0].turns if self.emu.sessions else []
            return len(turns) > index and "usage" in turns[index]

        return done

    async def user_says(self, *, with_camera: bool = False) -> None:
        """The question, spoken (real speech, so Silero hears it), then a second of silence."""
        frames = audio_frames(question() + silence(1.2), 16000)
        for index, frame in enumerate(frames):
            await self.worker.queue_frame(frame)
            if with_camera and index == len(frames) // 4:
                await self.worker.queue_frame(camera_frame())
            await asyncio.sleep(0.02 / 2)


def script() -> ScriptedResponder:
    def weather_answer(responses: list[dict[str, Any]]) -> Reply:
        answers = {r["name"]: r["response"] for r in responses}
        weather = answers["get_current_weather"]
        place = answers["get_restaurant_recommendation"]
        return Reply(text=f"It is {weather['temperature']} degrees. Try {place['name']}.")

    return ScriptedResponder(
        [
            Reply(text="Hello! How can I help?"),  # the kick-off
            Reply(
                text="Let me check.",
                tool_calls=[
                    ToolCallSpec("get_current_weather", {"location": "Paris", "format": "celsius"}),
                    ToolCallSpec("get_restaurant_recommendation", {"location": "Paris"}),
                ],
                after_tool=weather_answer,
            ),
            Reply(text="People like it.", grounding=GROUNDING),
            Reply(text="Still here."),
        ]
    )


@contextlib.asynccontextmanager
async def running(dropin: bool, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Run]:
    async with LiveEmulator(api_key="test-key", tls=True, responder=script(), pace=4.0) as emu:
        # What the user's environment holds: the key, the private endpoint, its CA.
        monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
        monkeypatch.setenv("GEMINI_BASE_URL", emu.base_url)
        monkeypatch.setenv("SSL_CERT_FILE", str(emu.cert_path))
        bot = load_bot(dropin)
        head, speaker = FrameLog(name="transport-input"), Speaker(speed=8.0)
        worker, llm, context = bot.build(head, speaker)
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        task = asyncio.create_task(runner.run())
        run = Run(emu, bot, worker, llm, context, speaker)
        try:
            await run.wait_for(lambda: head.counts["StartFrame"] > 0)
            await bot.on_client_connected(worker)
            yield run
        finally:
            await worker.queue_frame(EndFrame())
            try:
                await asyncio.wait_for(task, 15)
            except asyncio.TimeoutError:
                await worker.cancel()
                await asyncio.wait_for(task, 5)


async def converse(run: Run) -> None:
    """Greeting, a question answered with both tools, a searched answer."""
    await run.wait_for(run.turn_done(0))
    await run.user_says(with_camera=True)
    await run.wait_for(run.turn_done(1))
    await run.user_says()
    await run.wait_for(run.turn_done(2))
    await run.wait_for(lambda: len(run.speaker.frames(LLMFullResponseEndFrame)) >= 3)


def voice_of(setup: dict[str, Any]) -> str:
    speech = setup["generation_config"]["speech_config"]
    return str(speech["voice_config"]["prebuilt_voice_config"]["voice_name"])


def assert_a_full_conversation(run: Run, *, questions: int) -> None:
    session = run.emu.sessions[0]
    names = [f["name"] for t in session.setup["tools"] for f in t.get("function_declarations", [])]
    assert names == ["get_current_weather", "get_restaurant_recommendation"]
    assert {"google_search": {}} in session.setup["tools"]
    assert session.setup["realtime_input_config"]["automatic_activity_detection"] == {
        "disabled": True
    }
    # Pipecat's VAD decided the turns: one activityStart/End pair per question.
    assert session.activity_events == ["start", "end"] * questions
    answered = {r["name"]: r["response"] for rs in session.tool_responses.values() for r in rs}
    assert answered["get_current_weather"]["temperature"] == 24
    assert answered["get_restaurant_recommendation"] == {"name": "The Golden Dragon"}
    assert session.turns[1]["reply"].endswith("It is 24 degrees. Try The Golden Dragon.")
    assert session.video_frames_received >= 1
    assert run.speaker.frames(TTSAudioRawFrame)
    (search,) = run.speaker.frames(LLMSearchResponseFrame)
    assert search.origins[0].site_uri == "https://food.example/gd"
    roles = [m["role"] for m in run.context.get_messages()]
    assert roles.count("tool") == 2


async def test_the_bot_is_a_working_bot_for_the_builtin(monkeypatch):
    async with running(False, monkeypatch) as run:
        await converse(run)
        await run.bot.change_voice(run.worker, "Puck")
        await asyncio.sleep(1.0)
    assert type(run.llm).__module__ == "pipecat.services.google.gemini_live.llm"
    assert_a_full_conversation(run, questions=2)
    # The built-in stores a live settings update without applying it (Pipecat 1.14).
    assert run.emu.sessions[0].connections == 1
    assert voice_of(run.emu.sessions[0].setup) == "Aoede"


async def test_the_same_bot_runs_on_the_dropin_with_only_the_import_changed(monkeypatch):
    async with running(True, monkeypatch) as run:
        await converse(run)
        session = run.emu.sessions[0]
        assert voice_of(session.setup) == "Aoede"
        await run.bot.change_voice(run.worker, "Puck")
        await run.wait_for(lambda: session.connections == 2)
        await run.user_says()
        await run.wait_for(run.turn_done(3))
    assert type(run.llm).__module__ == "pipecat_gemini_live.dropin"
    assert_a_full_conversation(run, questions=3)
    # The update reached the call: a new connection of the same conversation, the new voice.
    assert voice_of(session.setup) == "Puck"
    assert session.turns[3]["reply"] == "Still here."
    # The built-in's defaults for what the user hears: English, 4096 tokens.
    generation = session.setup["generation_config"]
    assert generation["speech_config"]["language_code"] == "en-US"
    assert generation["max_output_tokens"] == 4096
    assert generation["media_resolution"] == "MEDIA_RESOLUTION_LOW"
