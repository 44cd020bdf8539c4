"""Talk to a bot offline and hear the answer: the emulator in speech mode plays the model.

The emulator recognises the question (faster-whisper tiny.en, from a wheel), answers from the
facts in the system instruction or by calling the bot's tool (rules, not a model), and speaks the
answer (Piper if installed, else espeak-ng's library from the espeakng-loader wheel, else the
espeak-ng program, else tones). Nothing leaves the machine, even with an API key set; no model is
downloaded; pip alone installs all of it.

    pip install -e ".[speech]"
    python examples/talk_offline.py                               # asks assets/question.wav
    python examples/talk_offline.py --say "Is the museum open tonight?"
    python examples/talk_offline.py --say "Please book a table for four people at Mario's."

It streams the question in real time through a Pipecat pipeline with GeminiLiveService, writes
the spoken reply to out/talk_reply.wav, and prints both transcripts and what each step took.
``--verbose`` shows Pipecat's logs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from example_support import log_environment, progress, start_example

os.environ.update(log_environment(__name__))  # before Pipecat's import, which logs a banner

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.services.llm_service import FunctionCallParams
from quickstart import DEFAULT_QUESTION, RecordingSpeaker, speak_into, start_pipeline

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.audio import read_wav, wav_bytes
from pipecat_gemini_live.emulator import LiveEmulator
from pipecat_gemini_live.emulator.speech import (
    VOICES,
    SpeakingResponder,
    SpeechUnavailable,
    default_voice,
    missing_speech_extra,
)

SYSTEM_INSTRUCTION = (
    "You are a friendly voice assistant. Keep answers to one or two sentences. "
    "Today in Paris it is sunny and 21 degrees. "
    "The museum is open tonight until nine o'clock."
)
TOOLS = ToolsSchema(
    standard_tools=[
        FunctionSchema(
            name="book_table",
            description="Reserve a restaurant table.",
            properties={
                "restaurant": {"type": "string"},
                "people": {"type": "integer"},
                "time": {"type": "string", "description": "HH:MM, 24-hour clock"},
            },
            required=["restaurant", "people"],
        )
    ]
)


async def book_table(params: FunctionCallParams) -> None:
    people = params.arguments.get("people", 2)
    await params.result_callback({"confirmed": True, "reference": f"T{people}42"})


def spoken_question(text: str) -> tuple[bytes, int, int]:
    """``--say``: the question in espeak-ng's voice (PCM16, 24 kHz, mono): its library from the
    espeakng-loader wheel, else the espeak-ng program."""
    for name in ("espeak-ng-lib", "espeak-ng"):
        try:
            audio, _ = default_voice(name)(text)
        except SpeechUnavailable:
            continue
        return audio, 24000, 1
    raise SystemExit('--say needs espeak-ng: pip install -e ".[speech]"; or pass --input.')


async def talk(
    pcm: bytes, rate: int, channels: int, output: Path, voice: str = "auto"
) -> dict[str, Any]:
    """One spoken question through the pipeline; returns what happened, for tests."""
    responder = SpeakingResponder(voice=voice)
    progress(f"Loading Whisper tiny.en and the {responder.voice_name} voice...")
    started = time.monotonic()
    await asyncio.to_thread(responder.warm_up)  # the model loads before the question, not after
    progress(f"  loaded in {time.monotonic() - started:.1f} s. Starting the audible emulator...")
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emulator:
        llm = GeminiLiveService(
            system_instruction=SYSTEM_INSTRUCTION,
            tools=TOOLS,
            api_key="test-key",
            base_url=emulator.base_url,
        )
        llm.register_function("book_table", book_table)
        context = LLMContext(tools=TOOLS)
        aggregators = LLMContextAggregatorPair(context)
        speaker = RecordingSpeaker()
        pipeline = Pipeline([aggregators.user(), llm, speaker, aggregators.assistant()])
        worker, run = await start_pipeline(pipeline, rate)
        seconds = len(pcm) / 2 / channels / rate
        progress(f"Streaming the question ({seconds:.1f} s of audio, in real time)...")
        question_ended_at = await speak_into(worker, pcm, rate, channels)
        progress("Waiting for the emulator to hear it and answer aloud...")
        session = await emulator.wait_for_session()
        try:
            await emulator.wait_until(
                lambda: bool(session.turns) and "usage" in session.turns[-1], 30
            )
            await asyncio.sleep(0.8)  # the speaker plays what is left in its buffer
        except TimeoutError:
            print("No reply within 30 s.", file=sys.stderr)
        await worker.queue_frame(EndFrame())
        await run

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(wav_bytes(bytes(speaker.recording), speaker.recording_rate))
    timing = responder.timings[-1] if responder.timings else None
    heard = speaker.first_audio_at - question_ended_at if speaker.first_audio_at else None
    return {
        "messages": context.get_messages(),
        "tool_calls": list(session.tool_calls_sent),
        "reply_audio": bytes(speaker.recording),
        "recognition_seconds": timing.recognition_seconds if timing else None,
        "synthesis_seconds": timing.synthesis_seconds if timing else None,
        "latency_seconds": heard,
        "voice": responder.voice_name,
    }


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


LABELS = {"user": "(heard by Whisper)", "assistant": "(the emulator's rules, not a model)"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_QUESTION, help="a WAV question")
    parser.add_argument("--say", help="ask this instead (spoken with espeak-ng)")
    parser.add_argument("--voice", default="auto", choices=VOICES, help="the emulator's voice")
    parser.add_argument("--output", type=Path, default=Path("out/talk_reply.wav"))
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's logs")
    args = parser.parse_args()
    key = start_example(args.verbose)
    problem = missing_speech_extra()
    if problem:
        print(f'{problem}\n(from this checkout: pip install -e ".[speech]")', file=sys.stderr)
        return 2
    if key.online:
        print(f"({key.describe()}, but this example never leaves the machine: the emulator.)")
    pcm, rate, channels = spoken_question(args.say) if args.say else read_wav(args.input)
    result = asyncio.run(talk(pcm, rate, channels, args.output, args.voice))

    print("\nTranscript (input and output transcriptions, as the context holds them)")
    for message in result["messages"]:
        role = message.get("role")
        if role in ("user", "assistant") and message.get("content"):
            print(f"  {role:>9}: {_text(message['content'])}  {LABELS[role]}")
    for call in result["tool_calls"]:
        print(f"  tool call: {call['name']}({call['args']})")
    print(f"\nThe emulator's voice: {result['voice']}")
    if result["recognition_seconds"] is not None:
        print(f"  recognition of the question: {result['recognition_seconds'] * 1000:.0f} ms")
        print(f"  synthesis of the reply:      {result['synthesis_seconds'] * 1000:.0f} ms")
    if result["latency_seconds"] is not None:
        print(f"  end of question -> first reply audio: {result['latency_seconds'] * 1000:.0f} ms")
    seconds = len(result["reply_audio"]) / 2 / 24000
    print(f"\nWrote {seconds:.1f} s of reply audio to {args.output}")
    return 0 if result["reply_audio"] else 1


if __name__ == "__main__":
    sys.exit(main())
