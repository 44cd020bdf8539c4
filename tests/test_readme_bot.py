"""The README's "A pipeline" bot, as printed, runs: its ``run_bot`` gets a real Pipecat input and
output transport (a microphone fed by the test, a speaker that plays in real time) and the
emulator's URL in ``GEMINI_LIVE_URL``, as the README says to run it offline. The bot greets, the
user asks, the tool declared by its schema is called and answered, and the reply is played."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from pipecat.frames.frames import InputAudioRawFrame
from pipecat.runner.types import RunnerArguments
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import FakeSpeaker, audio_frames, silence, speech

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_bot() -> ModuleType:
    section = README.read_text().split("## A pipeline\n", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)[:1]
    module = ModuleType("readme_bot")
    exec(compile(code, "README.md#a-pipeline", "exec"), module.__dict__)
    return module


class Microphone(BaseInputTransport):
    started = False

    async def start(self, frame: Any) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        self.started = True


class TestTransport(BaseTransport):
    """What ``create_transport`` hands the bot, with a test's microphone and speaker."""

    def __init__(self) -> None:
        super().__init__()
        params = TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        self.microphone = Microphone(params)
        self.speaker = FakeSpeaker(speed=4.0)
        self._register_event_handler("on_client_connected")
        self._register_event_handler("on_client_disconnected")

    def input(self) -> BaseInputTransport:
        return self.microphone

    def output(self) -> FakeSpeaker:
        return self.speaker

    async def say(self, pcm: bytes) -> None:
        for frame in audio_frames(pcm, 16000):
            await self.microphone.push_audio_frame(
                InputAudioRawFrame(audio=frame.audio, sample_rate=16000, num_channels=1)
            )
            await asyncio.sleep(0.005)


async def test_the_readme_bot_greets_calls_its_tool_and_answers(monkeypatch):
    responder = ScriptedResponder(
        [
            Reply(text="Hello! Ask me about the weather."),
            Reply(
                tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
                after_tool=lambda responses: Reply(
                    text=f"It is {responses[0]['response']['sky']} in Paris."
                ),
            ),
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
        monkeypatch.setenv("GEMINI_LIVE_URL", emu.base_url)
        bot, transport = readme_bot(), TestTransport()
        runner_args = RunnerArguments()
        runner_args.handle_sigint = False  # (set by Pipecat's runner, not by its constructor)
        run = asyncio.create_task(bot.run_bot(transport, runner_args))
        try:
            while not transport.microphone.started:
                assert not run.done(), run
                await asyncio.sleep(0.01)
            await transport._call_event_handler("on_client_connected", "client")
            await emu.wait_until(lambda: emu.sessions and emu.sessions[0].turns, 10)
            await emu.wait_until(lambda: "usage" in emu.sessions[0].turns[0], 10)
            await transport.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: len(emu.sessions[0].turns) == 2, 10)
            await emu.wait_until(lambda: "usage" in emu.sessions[0].turns[1], 10)
            sent = sum(turn["audio_bytes_sent"] for turn in emu.sessions[0].turns)
            await emu.wait_until(lambda: len(transport.speaker.played) >= sent, 10)
            await transport._call_event_handler("on_client_disconnected", "client")
            await asyncio.wait_for(run, 10)  # the runner returns when the client leaves
        finally:
            if not run.done():
                run.cancel()
    session = emu.sessions[0]
    (declared,) = session.setup["tools"][0]["function_declarations"]
    assert declared["name"] == "get_weather"
    ((response,),) = session.tool_responses.values()
    assert response["response"] == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert session.turns[1]["reply"] == "It is sunny in Paris."
    assert session.system_instruction.startswith("You are a helpful voice assistant")
    # The greeting and the answer were played, whole (the transport pads to its 10 ms chunks).
    assert sent <= len(transport.speaker.played) < sent + 2 * 480 * 2
