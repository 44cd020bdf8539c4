"""One measured conversation in this process: the child of ``benchmarks/run.py``.

    python benchmarks/conversation.py --mode cpu --kind ours --rate 48000 --base-url https://...

The pipeline is ``[head, probe, X, tail]`` in a real Pipecat worker, where ``X`` is this
package's ``GeminiLiveService``, Pipecat's built-in ``GeminiLiveLLMService``, a pass-through
(the baseline) or the floor (``wire_floor.py``: conversion and wire only). The probe is a
pass-through too: the Pipecat cost of one stage that only moves frames, measured in the same
run, so what a service costs beyond being a stage is its stage's CPU minus the probe's.
Prints one ``RESULT {json}`` line.

Modes:

- ``cpu``: the conversation at ``--speed`` x real time; CPU per owner (``loop_accounting``) and
  the whole process's CPU over it.
- ``latency``: in real time, every audio message's time on its way out and in, as the
  WebSocket layer sees it, against when its audio reached the service (input) or left it for
  the tail (output); and the barge-in's ``interrupted`` against the ``InterruptionFrame``.
- ``memory``: ``--minutes`` of conversation as fast as the pipeline takes it (the emulator
  at pace 0): RSS and Python heap growth, per hour of conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop_accounting import LoopAccounting  # noqa: E402

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
FRAME_SECONDS = 0.02


def speech_and_silence(
    turns: int, rate: int, speech_s: float = 2.0, silence_s: float = 2.5
) -> list[bytes]:
    """Turns of speech-like audio and silence, as 20 ms frames."""
    from tests.pipeline_kit import silence, speech

    pcm = b"".join(
        speech(speech_s, rate, seed=turn) + silence(silence_s, rate) for turn in range(turns)
    )
    frame = 2 * int(rate * FRAME_SECONDS)
    return [pcm[i : i + frame] for i in range(0, len(pcm), frame)]


def make_processors(kind: str, base_url: str) -> tuple[Any, Any]:
    """(probe, X): see the module docstring."""
    from pipecat.frames.frames import InputAudioRawFrame
    from pipecat.processors.frame_processor import FrameProcessor

    class Probe(FrameProcessor):
        """Moves frames on; in latency mode, notes when each input frame reached X."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.arrivals: list[tuple[float, int]] | None = None  # (time, samples so far)
            self._samples = 0

        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            await self.push_frame(frame, direction)
            if self.arrivals is not None and isinstance(frame, InputAudioRawFrame):
                self._samples += len(frame.audio) // 2 // frame.num_channels
                self.arrivals.append((time.monotonic(), self._samples))

    probe = Probe(name="Probe")
    if kind == "baseline":
        return probe, Probe(name="PassThrough")
    if kind == "floor":
        from wire_floor import WireFloor

        url = base_url.replace("https://", "wss://")
        return probe, WireFloor(base_url=url, model=MODEL, api_key="bench-key", name="Floor")
    if kind == "ours":
        from pipecat_gemini_live import GeminiLiveService

        return probe, GeminiLiveService(
            api_key="bench-key",
            base_url=base_url.replace("https://", "wss://"),
            model=MODEL,
        )
    from google.genai.types import HttpOptions
    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService

    return probe, GeminiLiveLLMService(
        api_key="bench-key",
        settings=GeminiLiveLLMService.Settings(model=f"models/{MODEL}", voice="Puck"),
        http_options=HttpOptions(base_url=base_url, api_version="v1beta"),
    )


def make_tail() -> Any:
    from pipecat.frames.frames import InputAudioRawFrame, InterruptionFrame, OutputAudioRawFrame
    from pipecat.processors.frame_processor import FrameProcessor

    class Tail(FrameProcessor):
        """Counts the reply audio; in latency mode, notes when each frame of it arrived."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.audio_bytes = 0
            self.started = False
            self.audio: list[tuple[float, int]] | None = None  # (time, bytes) of each frame
            self.interruptions: list[float] = []
            self.input_frames = 0
            self.waiter: tuple[int, asyncio.Future[None]] | None = None

        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            self.started = True
            if isinstance(frame, InputAudioRawFrame):
                self.input_frames += 1
                if self.waiter is not None and self.input_frames >= self.waiter[0]:
                    self.waiter[1].set_result(None)
                    self.waiter = None
            elif isinstance(frame, OutputAudioRawFrame):
                self.audio_bytes += len(frame.audio)
                if self.audio is not None:
                    self.audio.append((time.monotonic(), len(frame.audio)))
            elif isinstance(frame, InterruptionFrame):
                self.interruptions.append(time.monotonic())
            await self.push_frame(frame, direction)

    return Tail(name="Tail")


@contextlib.asynccontextmanager
async def running(processors: list[Any], tail: Any) -> AsyncIterator[Any]:
    """``[head, *processors, tail]`` in a worker of its own, as a Pipecat app runs a call."""
    from pipecat.frames.frames import EndFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.frame_processor import FrameProcessor
    from pipecat.workers.runner import WorkerRunner

    class Head(FrameProcessor):
        async def process_frame(self, frame: Any, direction: Any) -> None:
            await super().process_frame(frame, direction)
            await self.push_frame(frame, direction)

    worker = PipelineWorker(
        Pipeline([Head(name="Head"), *processors, tail]),
        params=PipelineParams(
            enable_metrics=True,
            enable_usage_metrics=True,
            audio_in_sample_rate=16000,
            audio_out_sample_rate=24000,
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        await wait_for(lambda: tail.started, 10)
        yield worker
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(run, 15)
        except asyncio.TimeoutError:
            await worker.cancel()
            await asyncio.wait_for(run, 5)


async def wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not get there in time")
        await asyncio.sleep(0.01)


async def greet(worker: Any, tail: Any, kind: str) -> None:
    """The first context; the services answer it with a greeting, which is waited out."""
    from pipecat.frames.frames import LLMContextFrame
    from pipecat.processors.aggregators.llm_context import LLMContext

    context = LLMContext([{"role": "system", "content": "Be brief."}])
    await worker.queue_frame(LLMContextFrame(context))
    if kind not in ("baseline", "floor"):  # neither answers a context
        await wait_for(lambda: tail.audio_bytes > 0, 15)
        heard = -1
        while heard != tail.audio_bytes:  # the whole greeting, so no reply is under way
            heard = tail.audio_bytes
            await asyncio.sleep(0.3)


async def stream(worker: Any, tail: Any, frames: list[bytes], rate: int, speed: float) -> None:
    """The frames at ``speed`` x real time, each on its due time (no drift); at speed 0, each
    as soon as the one before it has passed the whole pipeline (never idle, never queued)."""
    from pipecat.frames.frames import InputAudioRawFrame

    if speed == 0:
        for audio in frames:
            done = asyncio.get_running_loop().create_future()
            tail.waiter = (tail.input_frames + 1, done)
            await worker.queue_frame(InputAudioRawFrame(audio, rate, 1))
            await done
        return
    step = FRAME_SECONDS / speed
    start = time.monotonic()
    for index, audio in enumerate(frames, 1):
        await worker.queue_frame(InputAudioRawFrame(audio, rate, 1))
        delay = start + index * step - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


# ------------------------------------------------------------------------------------ cpu


async def cpu_run(args: argparse.Namespace) -> dict[str, Any]:
    probe, x = make_processors(args.kind, args.base_url)
    tail = make_tail()
    stages = {probe.name: "probe", x.name: "stage"}
    accounting = LoopAccounting(stages)
    if not os.environ.get("BENCH_NO_ACCOUNTING"):
        accounting.install()
    frames = speech_and_silence(args.turns, args.rate)
    profiler = None
    async with running([probe, x], tail) as worker:
        await greet(worker, tail, args.kind)
        gc.collect()
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        accounting.start()
        cpu_before = time.process_time()
        await stream(worker, tail, frames, args.rate, args.speed)
        await asyncio.sleep(2.5 / args.speed if args.speed else 0.3)  # the last reply
        cpu = time.process_time() - cpu_before
        owners = accounting.stop()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        reply_bytes = tail.audio_bytes
    accounting.uninstall()
    return {
        "owners": owners,
        "callbacks": dict(accounting.callbacks),
        "process_cpu": cpu,
        "conversation_seconds": len(frames) * FRAME_SECONDS,
        "reply_seconds": reply_bytes / 2 / 24000,
    }


# -------------------------------------------------------------------------------- latency


class WireLog:
    """What crossed the WebSocket layer and when: each message written (after the write) and
    each message received (as the socket's read callback took it in). Both services receive
    through websockets' asyncio client, so one patch sees both; the built-in sends through it
    too, while ours writes its audio frames to the transport itself, so ours is seen at its
    own connection's ``send`` (which every message of ours goes through, once)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, Any]] = []
        self.received: list[tuple[float, Any]] = []

    def install(self, kind: str) -> None:
        from websockets.asyncio import connection, messages

        from pipecat_gemini_live.connection import Connection as OurConnection

        owner: Any = OurConnection if kind == "ours" else connection.Connection
        send, put, log = owner.send, messages.Assembler.put, self

        async def logged_send(self: Any, message: Any, *args: Any, **kwargs: Any) -> None:
            await send(self, message, *args, **kwargs)
            log.sent.append((time.monotonic(), message))

        def logged_put(self: Any, frame: Any) -> None:
            log.received.append((time.monotonic(), frame.data))
            put(self, frame)

        owner.send = logged_send
        messages.Assembler.put = logged_put  # type: ignore[method-assign]


def _realtime_audio(message: Any) -> int | None:
    """Samples of audio in a client message, or None if it holds none."""
    if hasattr(message, "encode") and not isinstance(message, str):
        message = message.encode()  # ours: a ClientMessage
    try:
        body = json.loads(message)
    except (TypeError, ValueError):
        return None
    realtime = body.get("realtimeInput") or body.get("realtime_input") or {}
    audio = realtime.get("audio")
    if not audio:
        return None
    data = audio["data"].replace("-", "+").replace("_", "/")  # the SDK sends URL-safe base64
    return len(base64.b64decode(data + "=" * (-len(data) % 4))) // 2


def _server_message(data: Any) -> tuple[int, bool]:
    """(bytes of reply audio, whether it reports a barge-in) of a server message."""
    try:
        body = json.loads(data)
    except (TypeError, ValueError):
        return 0, False
    content = body.get("serverContent") or {}
    size = 0
    for part in (content.get("modelTurn") or {}).get("parts") or []:
        inline = part.get("inlineData") or {}
        if str(inline.get("mimeType", "")).startswith("audio/"):
            size += len(base64.b64decode(inline.get("data") or ""))
    return size, bool(content.get("interrupted"))


def _holder(arrivals: list[tuple[float, int]], sample: int) -> float:
    """When the frame holding input sample index ``sample`` reached the service."""
    low, high = 0, len(arrivals) - 1
    while low < high:  # the first frame whose samples-so-far exceed ``sample``
        middle = (low + high) // 2
        if arrivals[middle][1] > sample:
            high = middle
        else:
            low = middle + 1
    return arrivals[low][0]


async def latency_run(args: argparse.Namespace) -> dict[str, Any]:
    """Real time; 3 turns answered in full, then 2 in which the user talks over the reply."""
    probe, x = make_processors(args.kind, args.base_url)
    tail = make_tail()
    wire = WireLog()
    wire.install(args.kind)
    frames = speech_and_silence(3, args.rate, silence_s=4.0)
    frames += speech_and_silence(2, args.rate, silence_s=1.0)
    frames += speech_and_silence(1, args.rate)
    async with running([probe, x], tail) as worker:
        await greet(worker, tail, args.kind)
        wire.sent.clear()
        wire.received.clear()
        probe.arrivals, tail.audio = [], []
        tail.interruptions.clear()
        await stream(worker, tail, frames, args.rate, 1.0)
        await asyncio.sleep(2.5)

    # Input: each audio message against the frames that brought its audio. Ours downsamples
    # 48 kHz by a causal filter: its samples carry the signal that much later (soxr's output,
    # at other rates, is aligned to its input), which counts as latency too.
    sent = [(at, n) for at, message in wire.sent if (n := _realtime_audio(message)) is not None]
    signal_delay = 0.0
    if args.kind == "ours":
        from pipecat_gemini_live.audio import Decimator, make_resampler

        resampler = make_resampler(args.rate, 16000)
        signal_delay = resampler.delay_seconds if isinstance(resampler, Decimator) else 0.0
    # The service sends 16 kHz (ours) or the input rate as is (the built-in).
    out_rate = 16000 if args.kind == "ours" else args.rate
    scale = args.rate / out_rate
    arrivals = probe.arrivals or []
    held, after_last = [], []
    position = 0
    for at, samples in sent:
        first = int(position * scale)
        last = int((position + samples) * scale) - 1
        position += samples
        if last >= arrivals[-1][1]:
            break  # padding of the stream's end
        held.append(at - _holder(arrivals, first) + signal_delay)
        after_last.append(at - _holder(arrivals, last) + signal_delay)

    # Output: each server audio message until the first barge-in, against the frame that
    # brought its first byte to the tail; the barge-in against the InterruptionFrame.
    played, total = [], 0
    for at, size in tail.audio or []:
        total += size
        played.append((at, total))
    output, barge_in = [], []
    offset = 0
    interruptions = list(tail.interruptions)
    for at, data in wire.received:
        size, interrupted = _server_message(data)
        if interrupted:
            later = [t for t in interruptions if t >= at]
            if later:
                barge_in.append(later[0] - at)
                interruptions.remove(later[0])
            if offset > 0:
                offset = -1  # audio after a barge-in no longer lines up byte for byte
        if size and offset >= 0:
            reached = next((t for t, total in played if total > offset), None)
            if reached is not None:
                output.append(reached - at)
            offset += size
    return {
        "input_held": held,
        "input_after_last": after_last,
        "output": output,
        "barge_in": barge_in,
    }


# --------------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def memory_run(args: argparse.Namespace) -> dict[str, Any]:
    """``--minutes`` of conversation, fed as fast as the pipeline takes it."""
    import tracemalloc

    from pipecat.frames.frames import InputAudioRawFrame

    probe, x = make_processors(args.kind, args.base_url)
    tail = make_tail()
    block = speech_and_silence(1, args.rate)  # one turn, 4.5 s
    turns = int(args.minutes * 60 / (len(block) * FRAME_SECONDS))
    fed = [0]

    async def feed(worker: Any, count: int) -> None:
        for _ in range(count):
            for audio in block:
                await worker.queue_frame(InputAudioRawFrame(audio, args.rate, 1))
                fed[0] += 1
            # Backpressure: the replies to this turn are in before the next one starts.
            replied = tail.audio_bytes
            with contextlib.suppress(TimeoutError):
                await wait_for(lambda r=replied: tail.audio_bytes > r, 5)
            await asyncio.sleep(0.05)

    async with running([probe, x], tail) as worker:
        await greet(worker, tail, args.kind)
        await feed(worker, max(2, turns // 20))  # warm up: caches, pools, first allocations
        gc.collect()
        tracemalloc.start()
        heap_before, rss_before = tracemalloc.get_traced_memory()[0], rss_bytes()
        started = time.monotonic()
        await feed(worker, turns)
        gc.collect()
        heap, rss = tracemalloc.get_traced_memory()[0] - heap_before, rss_bytes() - rss_before
        tracemalloc.stop()
        wall = time.monotonic() - started
    hours = turns * len(block) * FRAME_SECONDS / 3600
    return {
        "heap_per_hour": heap / hours,
        "rss_per_hour": rss / hours,
        "hours": hours,
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["cpu", "latency", "memory"], default="cpu")
    parser.add_argument("--kind", choices=["ours", "builtin", "baseline", "floor"], default="ours")
    parser.add_argument("--rate", type=int, default=16000)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--profile", default="", help="write cProfile stats of the cpu run here")
    args = parser.parse_args()

    from loguru import logger

    logger.remove()
    run = {"cpu": cpu_run, "latency": latency_run, "memory": memory_run}[args.mode]

    async def measured() -> dict[str, Any]:
        task = asyncio.current_task()
        if task is not None:
            task.set_name("bench-driver")
        return await run(args)

    print("RESULT " + json.dumps(asyncio.run(measured())), flush=True)


if __name__ == "__main__":
    main()
