"""A phone call end to end: a fake Twilio carrier streams 8 kHz µ-law speech into the telephony
example (a real FastAPIWebsocketTransport with Pipecat's TwilioFrameSerializer, served by
uvicorn on a real socket) and gets the bot's spoken reply back as µ-law media events."""

from __future__ import annotations

import asyncio
import audioop
import base64
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from websockets.asyncio.client import connect

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from tests.pipeline_kit import free_port, silence, speech

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from telephony_twilio import create_app


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_a_phone_caller_speaks_at_8k_mulaw_and_hears_the_reply():
    responder = ScriptedResponder(
        [Reply(input_transcript="Do you have croissants?", text="Yes, fresh this morning.")]
    )
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emu:
        app = create_app(lambda: GeminiLiveService(api_key="test-key", base_url=emu.base_url))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.01)
            async with connect(f"ws://127.0.0.1:{port}/ws") as carrier:
                await carrier.send(json.dumps({"event": "connected", "protocol": "Call"}))
                await carrier.send(
                    json.dumps(
                        {
                            "event": "start",
                            "streamSid": "MZ1",
                            "start": {"streamSid": "MZ1", "callSid": "CA1"},
                        }
                    )
                )
                reply = bytearray()
                first_reply_at: list[float] = []

                async def listen() -> None:
                    async for raw in carrier:
                        event = json.loads(raw)
                        if event.get("event") == "media":
                            pcm = audioop.ulaw2lin(base64.b64decode(event["media"]["payload"]), 2)
                            if (
                                not first_reply_at
                                and np.abs(np.frombuffer(pcm, np.int16)).max() > 500
                            ):
                                first_reply_at.append(time.monotonic())
                            reply.extend(pcm)

                listener = asyncio.create_task(listen())
                caller = speech(0.8, sample_rate=8000) + silence(1.5, sample_rate=8000)
                speech_end = 0.0
                for n, i in enumerate(range(0, len(caller), 320)):  # 20 ms of 8 kHz PCM16
                    payload = base64.b64encode(audioop.lin2ulaw(caller[i : i + 320], 2)).decode()
                    await carrier.send(
                        json.dumps(
                            {"event": "media", "streamSid": "MZ1", "media": {"payload": payload}}
                        )
                    )
                    if n == 40:  # 0.8 s: the caller stops talking
                        speech_end = time.monotonic()
                    await asyncio.sleep(0.02)
                deadline = time.monotonic() + 10
                while len(reply) < 8000 * 2 * 1.0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                listener.cancel()

            session = emu.sessions[0]
            # Phone audio reached the model as 16 kHz chunks...
            assert {rate for rate, _ in session.audio_chunks} == {16000}
            assert session.turns[0]["input_transcript"] == "Do you have croissants?"
            # ...and the reply came back to the caller as audible 8 kHz µ-law.
            samples = np.frombuffer(bytes(reply), np.int16)
            assert len(samples) >= 8000 and np.sqrt(np.mean(samples.astype(float) ** 2)) > 300
            latency = first_reply_at[0] - speech_end
            print(f"\ncaller stopped -> first reply audio at the carrier: {latency * 1000:.0f} ms")
            assert 0 < latency < 3.0
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
