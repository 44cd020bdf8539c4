"""Voice plus vision: a screen share streamed to Gemini Live while the user asks about it.

Offline by default: a synthetic 1280x720 "screen" (a slide whose clock ticks) is captured at
15 fps as ``InputImageRawFrame``s, the spoken question streams in beside it, and the bundled
emulator stands in for the model (with a scripted answer) and reports the images it received.
With ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` (in the environment or a ``.env`` file) the same
pipeline talks to Google.

    python examples/video_screen_share.py [--seconds 6] [--fps 15] [--verbose]

The service does not forward 15 fps: it sends about one image a second while the user speaks and
one every few seconds otherwise, scaled to 768 px and JPEG-encoded in a thread (see
``VideoSettings``), which is what the model uses.
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
from example_support import KeySource, api_key_variable, log_environment, progress, start_example

os.environ.update(log_environment(__name__))  # before Pipecat's import, which logs a banner

from pipecat.frames.frames import EndFrame, InputAudioRawFrame, InputImageRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from quickstart import DEFAULT_QUESTION, RecordingSpeaker, start_pipeline

from pipecat_gemini_live import GeminiLiveService, VideoSettings
from pipecat_gemini_live.audio import read_wav

QUESTION = "What's on my screen right now?"


def screen_frame(width: int, height: int, second: float) -> InputImageRawFrame:
    """A slide with a title and a ticking clock, as raw RGB (what a capture gives)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (24, 32, 64))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, width - 60, 200), fill=(240, 240, 240))
    draw.text((90, 110), "Quarterly plan: ship the voice bot", fill=(10, 10, 10))
    draw.text((90, 260), f"elapsed {second:5.1f} s", fill=(250, 220, 90))
    return InputImageRawFrame(image=image.tobytes(), size=(width, height), format="RGB")


@contextlib.asynccontextmanager
async def live_endpoint(key: KeySource | None = None) -> AsyncIterator[tuple[dict[str, Any], Any]]:
    """Google with an API key; otherwise the emulator (also returned, to read its record)."""
    key = key or KeySource(api_key_variable())
    if key.online:
        print(f"Using Google's Live API: {key.describe()}.")
        yield {}, None
        return
    from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder

    reply = Reply(
        input_transcript=QUESTION,
        text="A slide titled quarterly plan: ship the voice bot, with a clock counting up.",
    )
    print(f"Offline: {key.describe()}, so the bundled Live API emulator plays Gemini.")
    print("  Its answer is scripted (it does not see the images; it counts them) in tones.")
    async with LiveEmulator(
        api_key="test-key", responder=ScriptedResponder([reply]), pace=1.0
    ) as emulator:
        progress(f"  the emulator listens at {emulator.base_url}")
        yield {"api_key": "test-key", "base_url": emulator.base_url}, emulator


async def run(
    seconds: float = 6.0,
    fps: float = 15.0,
    question: Path = DEFAULT_QUESTION,
    key: KeySource | None = None,
) -> dict:
    """Stream the screen and the question together; returns what was sent and received."""
    pcm, rate, channels = read_wav(question)
    async with live_endpoint(key) as (endpoint, emulator):
        llm = GeminiLiveService(
            system_instruction="You can see the user's screen. Describe it briefly when asked.",
            video=VideoSettings(speaking_fps=1.0, idle_fps=0.5),
            **endpoint,
        )
        context = LLMContext()
        pair = LLMContextAggregatorPair(context)
        speaker = RecordingSpeaker()
        pipeline = Pipeline([pair.user(), llm, speaker, pair.assistant()])
        worker, task = await start_pipeline(pipeline, rate)

        frame_bytes = 2 * channels * rate // 50  # 20 ms of audio per tick
        audio = bytes(frame_bytes * 50) + pcm  # 1 s of screen before the question
        audio += bytes(frame_bytes * max(0, int(seconds * 50) - len(audio) // frame_bytes))
        progress(
            f"Streaming {len(audio) / 2 / channels / rate:.1f} s of screen at {fps:g} fps, with"
            " the spoken question after the first second..."
        )
        started, frames_sent, next_frame = time.monotonic(), 0, 0.0
        for offset in range(0, len(audio), frame_bytes):
            now = time.monotonic() - started
            if now >= next_frame:
                await worker.queue_frame(screen_frame(1280, 720, now))
                frames_sent, next_frame = frames_sent + 1, next_frame + 1 / fps
            chunk = audio[offset : offset + frame_bytes]
            await worker.queue_frame(InputAudioRawFrame(chunk, rate, channels))
            await asyncio.sleep(0.02)
        progress("Waiting for the end of the reply...")
        await asyncio.sleep(1.5)  # the end of the reply
        await worker.queue_frame(EndFrame())
        await task
        received = emulator.sessions[0].video_frame_sizes if emulator and emulator.sessions else []
    reply = " ".join(
        str(m.get("content")) for m in context.get_messages() if m.get("role") == "assistant"
    )
    return {
        "frames_captured": frames_sent,
        "images_received": len(received),
        "image_sizes": sorted(set(received)),
        "reply": reply,
        "reply_seconds": len(speaker.recording) / 2 / speaker.recording_rate,
        "scripted": emulator is not None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's logs")
    args = parser.parse_args()
    key = start_example(args.verbose)
    result = asyncio.run(run(args.seconds, args.fps, key=key))
    print(f"\nscreen frames captured: {result['frames_captured']} at {args.fps:g} fps")
    if result["image_sizes"]:
        sizes = ", ".join(f"{w}x{h}" for w, h in result["image_sizes"])
        print(f"images the model received: {result['images_received']} ({sizes})")
    scripted = "  (scripted by the emulator)" if result["scripted"] else ""
    print(f"bot: {result['reply']}  ({result['reply_seconds']:.1f} s of audio){scripted}")
    return 0 if result["reply"] else 1


if __name__ == "__main__":
    sys.exit(main())
