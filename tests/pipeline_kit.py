"""Test kit: run a real Pipecat pipeline around GeminiLiveService against the emulator.

A frame log records what passes each point of the pipeline with a timestamp; a fake speaker is a
real Pipecat output transport (BaseOutputTransport) whose "device" plays audio in real time, so
barge-in truncation is exercised the way a WebRTC or phone transport exercises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import TransportParams
from pipecat.workers.runner import WorkerRunner


@dataclass
class Seen:
    frame: Frame
    direction: FrameDirection
    at: float


class FrameLog(FrameProcessor):
    """Passes every frame on, and remembers it (or, with ``record=False``, only counts it,
    so that memory measurements see the services' growth and not the log's)."""

    def __init__(self, *, record: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[Seen] = []
        self.record = record
        self.counts: Counter[str] = Counter()
        self.output_audio_bytes = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if self.record:
            self.seen.append(Seen(frame, direction, time.monotonic()))
        self.counts[type(frame).__name__] += 1
        if isinstance(frame, OutputAudioRawFrame):
            self.output_audio_bytes += len(frame.audio)
        await self.push_frame(frame, direction)

    def frames(
        self, kind: type | tuple[type, ...], direction: FrameDirection | None = None
    ) -> list:
        return [
            s.frame
            for s in self.seen
            if isinstance(s.frame, kind) and (direction is None or s.direction == direction)
        ]

    def types(
        self, *kinds: type, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> list[str]:
        """The sequence of frame type names among ``kinds``, in arrival order."""
        return [
            type(s.frame).__name__
            for s in self.seen
            if isinstance(s.frame, kinds) and s.direction == direction
        ]

    def first_index(self, kind: type, start: int = 0) -> int | None:
        for index, s in enumerate(self.seen[start:], start):
            if isinstance(s.frame, kind):
                return index
        return None


class FakeSpeaker(BaseOutputTransport):
    """An output transport whose device plays audio in real time (times ``speed``)."""

    def __init__(self, *, sample_rate: int = 24000, speed: float = 1.0, **kwargs: Any) -> None:
        super().__init__(
            TransportParams(audio_out_enabled=True, audio_out_sample_rate=sample_rate), **kwargs
        )
        self.played = bytearray()
        self._speed = speed

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        self.played.extend(frame.audio)
        seconds = len(frame.audio) / 2 / frame.sample_rate / frame.num_channels
        await asyncio.sleep(seconds / self._speed)
        return True


def speech(seconds: float, sample_rate: int = 16000, channels: int = 1, seed: int = 0) -> bytes:
    """Voiced, speech-like PCM16: harmonics of a wandering pitch under a syllable envelope."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    signal = (0.25 * 32767 * voice / 2.3 * envelope).astype(np.int16)
    if channels > 1:
        signal = np.repeat(signal[:, None], channels, axis=1).reshape(-1)
    return signal.tobytes()


def silence(seconds: float, sample_rate: int = 16000, channels: int = 1) -> bytes:
    return bytes(2 * channels * int(seconds * sample_rate))


def audio_frames(
    pcm: bytes, sample_rate: int, channels: int = 1, frame_ms: int = 20
) -> list[InputAudioRawFrame]:
    size = 2 * channels * sample_rate * frame_ms // 1000
    return [
        InputAudioRawFrame(audio=pcm[i : i + size], sample_rate=sample_rate, num_channels=channels)
        for i in range(0, len(pcm), size)
    ]


@dataclass
class Bot:
    """A running pipeline: feed it audio, read the logs."""

    worker: PipelineWorker
    head: FrameLog
    tail: FrameLog
    extras: dict[str, Any] = field(default_factory=dict)

    async def say(
        self, pcm: bytes, sample_rate: int = 16000, channels: int = 1, speed: float = 4.0
    ) -> None:
        """Stream audio in, paced at ``speed`` x real time (20 ms frames)."""
        for frame in audio_frames(pcm, sample_rate, channels):
            await self.worker.queue_frame(frame)
            await asyncio.sleep(0.02 / speed)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the pipeline")
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_bot(
    processors: list[FrameProcessor],
    *,
    metrics: bool = True,
    record: bool = True,
    observers: list[Any] | None = None,
) -> AsyncIterator[Bot]:
    """Run ``[head, *processors, tail]`` in a PipelineWorker until the block ends."""
    head, tail = FrameLog(name="head", record=record), FrameLog(name="tail", record=record)
    pipeline = Pipeline([head, *processors, tail])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            enable_metrics=metrics,
            enable_usage_metrics=metrics,
            audio_in_sample_rate=16000,
            audio_out_sample_rate=24000,
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
        observers=observers or [],
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    bot = Bot(worker, head, tail)
    try:
        await bot.wait_for(lambda: tail.counts["StartFrame"] > 0, timeout=10)
        yield bot
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(run, 15)
        except asyncio.TimeoutError:
            await worker.cancel()
            await asyncio.wait_for(run, 5)


def free_port(host: str = "127.0.0.1") -> int:
    """A free port below Linux's ephemeral range (32768 and up) for a server a test starts:
    a port taken from the ephemeral range and released could be handed to the next socket
    bound to port 0 (an emulator, a client) before the server binds it."""
    for port in random.sample(range(20000, 32768), 200):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {host} between 20000 and 32767")
