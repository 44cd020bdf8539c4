"""Quickstart: one spoken question through a real Pipecat pipeline to Gemini Live and back.

Offline by default: without ``GOOGLE_API_KEY`` it starts the bundled Live API emulator on a
local port and talks to that. With ``GOOGLE_API_KEY`` set it talks to Google's Live API.

    python examples/quickstart.py [--input question.wav] [--output out/reply.wav]

It streams the question in real time (20 ms frames, as a microphone would), plays the reply
into a recording "speaker" (a real Pipecat output transport paced in real time), writes the
reply to a WAV file, and prints the transcript and the latency from the end of the question to
the first reply audio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from loguru import logger
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

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        if self.first_audio_at is None and any(frame.audio):
            self.first_audio_at = time.monotonic()
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


@contextlib.asynccontextmanager
async def live_endpoint():
    """Google's Live API with GOOGLE_API_KEY; the bundled emulator otherwise."""
    if os.environ.get("GOOGLE_API_KEY"):
        print("Using Google's Live API (GOOGLE_API_KEY is set).")
        yield {}
        return
    from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder

    responder = ScriptedResponder(
        [
            Reply(
                input_transcript=QUESTION_TEXT,
                text="It's sunny and twenty-one degrees in Paris today. A lovely day for a walk!",
            )
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emulator:
        print(f"No GOOGLE_API_KEY: using the bundled emulator at {emulator.base_url}")
        yield {"api_key": "test-key", "base_url": emulator.base_url}


async def main(question: Path, output: Path) -> int:
    pcm, rate, channels = read_wav(question)
    async with live_endpoint() as endpoint:
        llm = GeminiLiveService(voice="Aoede", system_instruction=SYSTEM_INSTRUCTION, **endpoint)
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        speaker = RecordingSpeaker()
        watcher = ReplyWatcher()
        pipeline = Pipeline([aggregators.user(), llm, watcher, speaker, aggregators.assistant()])
        worker, run = await start_pipeline(pipeline, rate, metrics=True)
        question_ended_at = await speak_into(worker, pcm, rate, channels)
        try:
            await asyncio.wait_for(watcher.reply_done.wait(), 30)
            await asyncio.sleep(1.0)  # let the speaker finish playing
        except asyncio.TimeoutError:
            print("No reply within 30 s.", file=sys.stderr)
        await worker.queue_frame(EndFrame())
        await run

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(wav_bytes(bytes(speaker.recording), speaker.recording_rate))
    print("\nTranscript")
    for message in context.get_messages():
        if message.get("role") in ("user", "assistant"):
            print(f"  {message['role']:>9}: {_text(message.get('content'))}")
    print("\nLatency")
    if speaker.first_audio_at is not None:
        heard = speaker.first_audio_at - question_ended_at
        print(f"  end of question -> first reply audio played: {heard * 1000:.0f} ms")
    for value in watcher.ttfb:
        print(f"  service TTFB (end of speech -> first audio byte): {value * 1000:.0f} ms")
    seconds = len(speaker.recording) / 2 / speaker.recording_rate
    print(f"\nWrote {seconds:.1f} s of reply audio to {output}")
    return 0 if speaker.recording else 1


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_QUESTION, help="a WAV question")
    parser.add_argument("--output", type=Path, default=Path("out/reply.wav"))
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's logs")
    args = parser.parse_args()
    if not args.verbose:
        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    sys.exit(asyncio.run(main(args.input, args.output)))
