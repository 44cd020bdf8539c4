"""The emulator's command line, run as a user runs it: a separate process, read from its output."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from pipecat.frames.frames import LLMContextFrame, TTSAudioRawFrame, TTSTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext

from pipecat_gemini_live import GeminiLiveService
from tests.pipeline_kit import running_bot

RECORDED = Path(__file__).parents[1] / "recorded"


async def start_cli(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``python -m pipecat_gemini_live.emulator``; returns it and the URL it prints."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipecat_gemini_live.emulator",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )
    assert process.stdout is not None
    output = ""
    while "listening on" not in output:
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line, f"the emulator exited: {output}"
        output += line.decode()
    url = re.search(r"listening on (\S+)", output)
    assert url is not None
    return process, url.group(1)


async def test_the_cli_replays_a_recorded_call_to_a_bot():
    path = RECORDED / "test_google_ws__test_text_in_audio_out_turn__90bb8907.json"
    process, url = await start_cli("--replay", str(path))
    try:
        llm = GeminiLiveService(
            api_key="emulator-key",
            base_url=url,
            model="gemini-2.5-flash-native-audio-preview-09-2025",
        )
        async with running_bot([llm]) as bot:
            context = LLMContext([{"role": "user", "content": "Say a short greeting."}])
            await bot.worker.queue_frame(LLMContextFrame(context))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 10)
            await bot.wait_for(lambda: bot.tail.frames(TTSTextFrame), 10)
        assert "".join(f.text for f in bot.tail.frames(TTSTextFrame)) == "Hello there."
    finally:
        process.terminate()
        await process.wait()
