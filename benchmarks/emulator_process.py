"""The bundled emulator in a process of its own, for the benchmarks.

    python benchmarks/emulator_process.py [--tls] [--pace 4]

A tiny launcher, so the benchmarks do not depend on what the emulator CLI prints: it builds a
:class:`~pipecat_gemini_live.emulator.LiveEmulator` (any key, nothing recorded, so its memory
stays flat over long runs), prints its address as one JSON line, and serves until its standard
input closes (the parent went away) or it is terminated. :class:`EmulatorProcess` starts it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EmulatorProcess:
    """Start the launcher; ``base_url`` and ``cert_path`` come from its one JSON line."""

    def __init__(self, *, tls: bool, pace: float) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--pace", str(pace)]
        command += ["--tls"] if tls else []
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        try:
            address = json.loads(line)
        except ValueError:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}") from None
        self.base_url: str = address["base_url"]
        self.cert_path: str = address["cert_path"] or ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the launcher's cue to stop
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(5)


async def serve(tls: bool, pace: float) -> None:
    from loguru import logger

    from pipecat_gemini_live.emulator import LiveEmulator

    logger.remove()
    emulator = LiveEmulator(api_key=None, tls=tls, pace=pace, record=False)
    async with emulator:
        cert = str(emulator.cert_path) if emulator.cert_path else None
        print(json.dumps({"base_url": emulator.base_url, "cert_path": cert}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--pace", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(serve(args.tls, args.pace))
