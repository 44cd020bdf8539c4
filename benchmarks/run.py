"""CPU per second of conversation: GeminiLiveService vs Pipecat's built-in GeminiLiveLLMService.

    python benchmarks/run.py [--turns 10] [--speed 4] [--repeats 5] [--chunk-ms 50]

Each service runs in its own process, in a real Pipecat pipeline, against one bundled emulator
running in a process of its own (over TLS for both, because the built-in service's SDK always
uses TLS). The same conversation is streamed into each: turns of speech-like audio and silence
as 20 ms frames, at ``--speed`` x real time, at 16 kHz mono (Pipecat's default input) and at
48 kHz mono (WebRTC's native rate). CPU is the client process's CPU time over the conversation;
a baseline run (the same pipeline and input with a pass-through in place of the service) gives
the pipeline's own share, and the rest is the service's. Memory is the growth of the Python heap
over the conversation, measured in a separate run (tracemalloc distorts CPU). Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def speech_and_silence(turns: int, rate: int) -> list[bytes]:
    from tests.pipeline_kit import silence, speech

    pcm = b""
    for turn in range(turns):
        pcm += speech(2.0, rate, seed=turn) + silence(2.5, rate)
    frame = 2 * rate // 50
    return [pcm[i : i + frame] for i in range(0, len(pcm), frame)]


class EmulatorProcess:
    """The emulator in its own process (the CLI), so its CPU and the GIL are not shared."""

    def __init__(self, speed: float) -> None:
        command = [
            sys.executable,
            "-m",
            "pipecat_gemini_live.emulator",
            "--port",
            "0",
            "--tls",
            "--any-key",
            "--pace",
            str(speed),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().split()[-1]
        self.cert_path = self.process.stdout.readline().split()[-1]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(5)


class PassThrough:
    """Stands in for the service in the baseline run: the pipeline's own cost for the same input."""

    @staticmethod
    def make():
        from pipecat.processors.frame_processor import FrameProcessor

        class Pass(FrameProcessor):
            async def process_frame(self, frame, direction):
                await super().process_frame(frame, direction)
                await self.push_frame(frame, direction)

        return Pass()


def make_service(kind: str, base_url: str):
    if kind == "baseline":
        return PassThrough.make()
    if kind == "ours":
        from pipecat_gemini_live import GeminiLiveService

        return GeminiLiveService(
            input_chunk_ms=int(os.environ.get("BENCH_CHUNK_MS", "50")),
            api_key="bench-key",
            base_url=base_url.replace("https://", "wss://"),
            model="gemini-2.5-flash-native-audio-preview-12-2025",
        )
    from google.genai.types import HttpOptions
    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService

    return GeminiLiveLLMService(
        api_key="bench-key",
        settings=GeminiLiveLLMService.Settings(
            model="models/gemini-2.5-flash-native-audio-preview-12-2025", voice="Puck"
        ),
        http_options=HttpOptions(base_url=base_url, api_version="v1beta"),
    )


async def converse(
    kind: str, base_url: str, rate: int, turns: int, speed: float, measure_memory: bool
) -> dict:
    from pipecat.frames.frames import InputAudioRawFrame, LLMContextFrame
    from pipecat.processors.aggregators.llm_context import LLMContext

    from tests.pipeline_kit import running_bot

    frames = speech_and_silence(turns, rate)
    llm = make_service(kind, base_url)
    async with running_bot([llm], metrics=True, record=False) as bot:
        context = LLMContext([{"role": "system", "content": "Be brief."}])
        await bot.worker.queue_frame(LLMContextFrame(context))
        if kind != "baseline":
            await bot.wait_for(lambda: bot.tail.output_audio_bytes > 0, 15)  # greeting
        if measure_memory:
            import tracemalloc

            tracemalloc.start()
            heap_before = tracemalloc.get_traced_memory()[0]
        cpu_before, wall_before = time.process_time(), time.monotonic()
        for audio in frames:
            await bot.worker.queue_frame(InputAudioRawFrame(audio, rate, 1))
            await asyncio.sleep(0.02 / speed)
        await asyncio.sleep(2.5 / speed)  # the last reply
        cpu = time.process_time() - cpu_before
        wall = time.monotonic() - wall_before
        heap_growth = 0
        if measure_memory:
            heap_growth = tracemalloc.get_traced_memory()[0] - heap_before
            tracemalloc.stop()
        reply_seconds = bot.tail.output_audio_bytes / 2 / 24000
    conversation_seconds = len(frames) * 0.02
    return {
        "cpu": cpu,
        "wall": wall,
        "conversation_seconds": conversation_seconds,
        "reply_seconds": reply_seconds,
        "heap_growth": heap_growth,
    }


def child(args: argparse.Namespace) -> None:
    from loguru import logger

    logger.remove()
    result = asyncio.run(
        converse(args.kind, args.base_url, args.rate, args.turns, args.speed, args.measure_memory)
    )
    print("RESULT " + json.dumps(result))


def run_child(
    emulator: EmulatorProcess, kind: str, rate: int, turns: int, speed: float, memory: bool
) -> dict:
    command = [sys.executable, __file__, "--child", "--kind", kind, "--rate", str(rate)]
    command += ["--turns", str(turns), "--speed", str(speed), "--base-url", emulator.base_url]
    # The child sets BENCH_CHUNK_MS from its own arguments, so the chunk size goes as one too.
    command += ["--chunk-ms", os.environ["BENCH_CHUNK_MS"]]
    command += ["--measure-memory"] if memory else []
    env = dict(
        os.environ,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONWARNINGS="ignore",
        SSL_CERT_FILE=emulator.cert_path,
    )
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{kind} run failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="ours")
    parser.add_argument("--rate", type=int, default=16000)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument(
        "--chunk-ms", type=int, default=50, help="our service's input chunk (its default: 50)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--measure-memory", action="store_true")
    parser.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_CHUNK_MS"] = str(args.chunk_ms)  # children inherit it
    if args.child:
        child(args)
        return

    emulator = EmulatorProcess(args.speed)
    try:
        report(args, emulator)
    finally:
        emulator.stop()


def report(args: argparse.Namespace, emulator: EmulatorProcess) -> None:
    kinds = ("ours", "builtin", "baseline")
    rows = []
    runs: dict[str, list[dict]] = {}
    for rate in (16000, 48000):
        runs = {k: [] for k in kinds}
        for _ in range(args.repeats):  # interleaved, so machine noise hits all kinds alike
            for kind in kinds:
                runs[kind].append(run_child(emulator, kind, rate, args.turns, args.speed, False))
        per_second = {
            k: [1000 * r["cpu"] / r["conversation_seconds"] for r in runs[k]] for k in kinds
        }
        # Medians, and the least run of each kind: noise from other processes only ever adds
        # CPU, so the least run is the least disturbed one (the reasoning of Python's timeit).
        cpu = {k: statistics.median(v) for k, v in per_second.items()}
        least = {k: min(v) for k, v in per_second.items()}
        reply = {k: statistics.median(r["reply_seconds"] for r in runs[k]) for k in kinds}
        # The same ratio within each repeat (its three runs ran back to back): its spread shows
        # how far one run of this benchmark can be trusted.
        paired = sorted(
            (o["cpu"] - b["cpu"]) / max(1e-9, i["cpu"] - b["cpu"])
            for o, i, b in zip(runs["ours"], runs["builtin"], runs["baseline"], strict=True)
        )
        rows.append((rate, cpu, least, reply, paired))
    memory = {
        k: run_child(emulator, k, 16000, args.turns, args.speed, True)["heap_growth"]
        for k in ("ours", "builtin")
    }

    conversation = runs["ours"][0]["conversation_seconds"]
    print(
        f"\nCPU per second of conversation ({args.turns} turns, {conversation:.0f} s of user "
        f"audio, {args.speed:g}x real time, {args.repeats} interleaved runs of each; "
        "lower is better)\n"
    )
    header = (
        f"{'input':>7} | {'service':>8} | {'reply s':>7} | pipeline CPU ms/s (median, least) | "
        "service CPU ms/s (median, least)"
    )
    print(header)
    print("-" * len(header))
    for rate, cpu, least, reply, paired in rows:
        for kind in kinds:
            own = ""
            if kind != "baseline":
                own = f"{cpu[kind] - cpu['baseline']:6.2f}, {least[kind] - least['baseline']:6.2f}"
            print(
                f"{rate // 1000:>4}kHz | {kind:>8} | {reply[kind]:>7.1f} | "
                f"{cpu[kind]:>19.2f}, {least[kind]:6.2f}       | {own}"
            )

        def ratio(values: dict[str, float]) -> float:
            own = values["ours"] - values["baseline"]
            return own / max(1e-9, values["builtin"] - values["baseline"])

        print(
            f"{'':>7} | ours/built-in, service alone: {ratio(cpu):.2f} by medians, "
            f"{ratio(least):.2f} by least runs, {paired[0]:.2f} to {paired[-1]:.2f} per repeat; "
            f"whole pipeline {cpu['ours'] / cpu['builtin']:.2f}"
        )
    print(
        "\nPython heap growth over the conversation (16 kHz): "
        f"ours {memory['ours'] / 1024:.0f} KB, built-in {memory['builtin'] / 1024:.0f} KB"
    )
    print(
        "\n'service CPU' is the pipeline's CPU minus the baseline run's (the same pipeline and "
        "input with a pass-through in place of the service)."
    )


if __name__ == "__main__":
    main()
