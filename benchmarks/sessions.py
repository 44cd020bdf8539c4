"""Sessions per core: N real-time conversations in one process, and how late its event loop runs.

    python benchmarks/sessions.py --kind ours --sessions 50 [--seconds 30]

Starts the emulator in a process of its own (TLS, real-time replies), then, in a child
process, N sessions, each a real Pipecat pipeline (``[head, service, tail]`` in a worker of
its own) streaming 20 ms frames of 16 kHz audio in real time: turns of 2 s of speech and 2.5 s
of silence, answered by the emulator. The frames of different sessions are spread over the
20 ms. A probe sleeps 10 ms at a time and notes how late each wake-up is: the loop's lag,
which is what every session's audio waits on. Prints the lag's p50/p99/max and the process's
CPU as a share of one core. ``run.py`` searches for the largest N with p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from emulator_process import EmulatorProcess  # noqa: E402

PROBE_SECONDS = 0.01


async def measure_lag(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + PROBE_SECONDS
        await asyncio.sleep(PROBE_SECONDS)
        lags.append(loop.time() - due)


async def session(
    kind: str, base_url: str, index: int, start: asyncio.Event, stop: asyncio.Event, ready: list
) -> None:
    from conversation import greet, make_processors, make_tail, running, speech_and_silence
    from pipecat.frames.frames import InputAudioRawFrame

    _, service = make_processors(kind, base_url)
    tail = make_tail()
    frames = speech_and_silence(1, 16000)
    async with running([service], tail) as worker:
        await greet(worker, tail, kind)
        ready.append(index)
        await start.wait()
        # Calls are not in step: each starts at its own point of the turn, and at its own
        # moment within a frame.
        await asyncio.sleep(random.random() * 0.02)
        begun, sent, offset = time.monotonic(), 0, random.randrange(len(frames))
        while not stop.is_set():
            audio = frames[(offset + sent) % len(frames)]
            await worker.queue_frame(InputAudioRawFrame(audio, 16000, 1))
            sent += 1
            delay = begun + sent * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


async def child(kind: str, base_url: str, sessions: int, seconds: float) -> dict[str, Any]:
    random.seed(sessions)
    start, stop = asyncio.Event(), asyncio.Event()
    ready: list[int] = []
    tasks = [
        asyncio.create_task(session(kind, base_url, n, start, stop, ready)) for n in range(sessions)
    ]
    deadline = time.monotonic() + 60 + sessions * 0.5
    while len(ready) < sessions:
        if time.monotonic() > deadline or any(t.done() for t in tasks):
            raise RuntimeError(f"only {len(ready)} of {sessions} sessions started")
        await asyncio.sleep(0.05)
    start.set()
    await asyncio.sleep(1.0)  # every session streaming
    lags: list[float] = []
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    began: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - began[0])

    gc.callbacks.append(on_gc)
    probe_stop = asyncio.Event()
    probe = asyncio.create_task(measure_lag(probe_stop, lags))
    cpu_before, wall_before = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
    probe_stop.set()
    gc.callbacks.remove(on_gc)
    await probe
    stop.set()
    for task in tasks:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
    lags.sort()
    return {
        "sessions": sessions,
        "lag_p50": 1000 * lags[len(lags) // 2],
        "lag_p99": 1000 * lags[int(0.99 * len(lags))],
        "lag_max": 1000 * lags[-1],
        "cpu_share": cpu / wall,
        "gc": {
            g: (len(p), 1000 * max(p, default=0), 1000 * sum(p) / wall) for g, p in pauses.items()
        },
    }


def run_sessions(emulator: EmulatorProcess, kind: str, sessions: int, seconds: float) -> dict:
    """One measurement in a child process; adds the emulator's CPU share over it."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--kind", kind]
    command += ["--sessions", str(sessions), "--seconds", str(seconds)]
    command += ["--base-url", emulator.base_url]
    env = dict(
        os.environ,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONWARNINGS="ignore",
        SSL_CERT_FILE=emulator.cert_path,
    )
    emulator_before, wall_before = emulator.cpu_seconds(), time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    emulator_share = (emulator.cpu_seconds() - emulator_before) / (time.monotonic() - wall_before)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            result["emulator_share"] = emulator_share
            return result
    raise RuntimeError(f"{kind} x{sessions} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def largest_under(
    measure: Callable[[int], dict[str, Any]], *, limit_ms: float, start: int
) -> dict[str, Any]:
    """The largest N whose lag p99 is under ``limit_ms``: grow by half until one fails (or
    shrink by a third until one passes), then halve the gap down to 10 % (at least 2).

    A count that fails is measured once more and the better of the two kept: noise from other
    processes only ever adds lag, and a burst of it should not decide the search."""
    tried: dict[int, dict[str, Any]] = {}

    def ok(n: int) -> bool:
        if n not in tried:
            tried[n] = measure(n)
            if tried[n]["lag_p99"] >= limit_ms:
                again = measure(n)
                if again["lag_p99"] < tried[n]["lag_p99"]:
                    tried[n] = again
        return bool(tried[n]["lag_p99"] < limit_ms)

    n = max(1, start)
    if ok(n):
        good, bad = n, 0
        while not bad:
            n = int(n * 1.5) + 1
            good, bad = (n, 0) if ok(n) else (good, n)
    else:
        good, bad = 0, n
        while not good and bad > 1:
            n = max(1, int(bad * 2 / 3))
            good, bad = (n, bad) if ok(n) else (0, n)
    while good and bad - good > max(2, good // 10):
        middle = (good + bad) // 2
        good, bad = (middle, bad) if ok(middle) else (good, middle)
    best = (
        tried[good]
        if good
        else {"sessions": 0, "lag_p50": 0, "lag_p99": 0, "lag_max": 0, "cpu_share": 0}
    )
    return {"best": best, "tried": list(tried.values())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["ours", "builtin", "baseline"], default="ours")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from loguru import logger

        logger.remove()
        result = asyncio.run(child(args.kind, args.base_url, args.sessions, args.seconds))
        print("RESULT " + json.dumps(result), flush=True)
        return
    emulator = EmulatorProcess(tls=True, pace=1.0)
    try:
        result = run_sessions(emulator, args.kind, args.sessions, args.seconds)
    finally:
        emulator.stop()
    print(
        f"{args.kind}: {args.sessions} sessions, loop lag p50 {result['lag_p50']:.1f} ms, "
        f"p99 {result['lag_p99']:.1f} ms, max {result['lag_max']:.0f} ms; CPU "
        f"{100 * result['cpu_share']:.0f} % of a core (emulator "
        f"{100 * result['emulator_share']:.0f} %); gc (count, max ms, ms/s): {result['gc']}"
    )


if __name__ == "__main__":
    main()
