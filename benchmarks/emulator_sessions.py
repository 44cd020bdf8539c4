"""How many concurrent sessions the emulator sustains: its own CPU with 50 live conversations.

    python benchmarks/emulator_sessions.py [--sessions 50] [--seconds 10]

Starts the emulator in its own process (``emulator_process.py``: plain ws, replies paced in
real time), then opens ``--sessions`` raw WebSocket sessions from this process. Each streams
16 kHz speech-like audio in real time (40 ms chunks: 1.5 s of speech, 1.5 s of silence,
repeated) and reads the spoken replies. The emulator's CPU time is read from /proc before
and after. Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from emulator_process import EmulatorProcess  # noqa: E402

from tests.pipeline_kit import silence, speech  # noqa: E402

CHUNK = 1280  # 40 ms of 16 kHz mono PCM16


def audio_messages(seed: int) -> list[str]:
    pcm = speech(1.5, seed=seed) + silence(1.5)
    return [
        json.dumps(
            {
                "realtimeInput": {
                    "audio": {
                        "data": base64.b64encode(pcm[i : i + CHUNK]).decode(),
                        "mimeType": "audio/pcm;rate=16000",
                    }
                }
            }
        )
        for i in range(0, len(pcm), CHUNK)
    ]


async def conversation(url: str, seed: int, seconds: float, stats: dict) -> None:
    messages = audio_messages(seed)
    setup = {"setup": {"model": "models/gemini-3.8-live", "outputAudioTranscription": {}}}
    async with connect(url, additional_headers={"x-goog-api-key": "k"}, max_size=None) as ws:
        await ws.send(json.dumps(setup))
        await ws.recv()

        async def read() -> None:
            async for raw in ws:
                stats["messages"] += 1
                if b"turnComplete" in (raw if isinstance(raw, bytes) else raw.encode()):
                    stats["replies"] += 1

        reader = asyncio.create_task(read())
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < seconds:
            await ws.send(messages[sent % len(messages)])
            sent += 1
            delay = start + sent * 0.04 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        stats["audio_seconds"] += sent * 0.04
        reader.cancel()


async def main(sessions: int, seconds: float) -> None:
    emulator = EmulatorProcess(tls=False, pace=1.0)
    try:
        url = emulator.base_url + (
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        )
        stats = {"messages": 0, "replies": 0, "audio_seconds": 0.0}
        before, wall = emulator.cpu_seconds(), time.monotonic()
        await asyncio.gather(*(conversation(url, n, seconds, stats) for n in range(sessions)))
        cpu, wall = emulator.cpu_seconds() - before, time.monotonic() - wall
    finally:
        emulator.stop()

    core_share = cpu / wall
    per_session = 1000 * cpu / stats["audio_seconds"]
    print(f"\nEmulator under {sessions} concurrent real-time sessions\n")
    rows = [
        ("sessions", f"{sessions}"),
        ("wall time", f"{wall:.1f} s"),
        ("user audio streamed", f"{stats['audio_seconds']:.0f} s"),
        ("replies completed", f"{stats['replies']}"),
        ("server messages received", f"{stats['messages']}"),
        ("emulator CPU", f"{cpu:.2f} s"),
        ("emulator CPU, share of one core", f"{100 * core_share:.0f} %"),
        ("CPU per session-second of conversation", f"{per_session:.2f} ms"),
        ("fits on this 2-core machine", "yes" if core_share < 1.0 else "no (over one core)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}} | {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.sessions, args.seconds))
