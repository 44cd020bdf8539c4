"""Replay waits where the recorded client spoke, keeps the recorded spacing, and says where a
client diverged. Driven by a raw WebSocket client, as any Live API client would."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from websockets.asyncio.client import connect

from pipecat_gemini_live.emulator import LiveEmulator
from pipecat_gemini_live.recording import Interaction, Recording, RecordingWriter

SETUP = {"setup": {"model": "models/gemini-3.8-live"}}


def recording(*frames: tuple[str, dict, float | None]) -> Recording:
    return Recording(
        model="models/gemini-3.8-live",
        interactions=[Interaction(d, data, at) for d, data, at in frames],  # type: ignore[arg-type]
    )


def audio(seconds: float) -> dict:
    pcm = bytes(int(32000 * seconds))
    data = base64.b64encode(pcm).decode()
    return {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": data}}}


async def client(emu: LiveEmulator):
    ws = await connect(emu.ws_url, additional_headers={"x-goog-api-key": "k"})
    await ws.send(json.dumps(SETUP))
    return ws


async def nothing_for(ws, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


async def test_the_reply_after_a_tool_call_waits_for_the_clients_answer():
    call = {"toolCall": {"functionCalls": [{"id": "fc_1", "name": "f", "args": {}}]}}
    answer = {"toolResponse": {"functionResponses": [{"id": "fc_1", "name": "f", "response": {}}]}}
    played = recording(
        ("sent", SETUP, 0.0),
        ("received", {"setupComplete": {}}, 0.5),
        ("received", call, 0.6),
        ("sent", answer, 0.7),
        ("received", {"serverContent": {"turnComplete": True}}, 0.8),
    )
    async with LiveEmulator.replay(played) as emu:
        ws = await client(emu)
        assert json.loads(await ws.recv()) == {"setupComplete": {}}
        assert json.loads(await ws.recv()) == call
        assert await nothing_for(ws, 0.3)  # the recorded server waited for the answer
        await ws.send(json.dumps(answer))
        assert json.loads(await ws.recv()) == {"serverContent": {"turnComplete": True}}
        session = emu.sessions[0]
        await emu.wait_until(lambda: session.replay_finished)
        assert session.replay_errors == []
        assert session.tool_responses["fc_1"][0]["name"] == "f"


async def test_a_recorded_audio_run_waits_for_as_much_audio_and_keeps_the_spacing():
    played = recording(
        ("sent", SETUP, 0.0),
        ("received", {"setupComplete": {}}, 0.0),
        ("sent", audio(0.5), 1.0),
        ("sent", audio(0.5), 1.5),
        ("received", {"serverContent": {"inputTranscription": {"text": "hi"}}}, 1.8),
    )
    async with LiveEmulator.replay(played, pace=1.0) as emu:
        ws = await client(emu)
        await ws.recv()
        await ws.send(json.dumps(audio(0.5)))
        assert await nothing_for(ws, 0.3)  # half of the recorded second of audio
        await ws.send(json.dumps(audio(0.5)))
        sent_at = time.monotonic()
        message = json.loads(await ws.recv())
        assert message["serverContent"]["inputTranscription"]["text"] == "hi"
        assert 0.25 <= time.monotonic() - sent_at <= 0.6  # 0.3 s after the audio, as recorded


async def test_a_client_that_never_answers_is_reported_and_the_replay_goes_on():
    played = recording(
        ("sent", SETUP, None),
        ("received", {"setupComplete": {}}, None),
        ("sent", {"clientContent": {"turns": [], "turnComplete": True}}, None),
        ("received", {"serverContent": {"turnComplete": True}}, None),
    )
    async with LiveEmulator.replay(played, replay_wait_timeout=0.3) as emu:
        ws = await client(emu)
        await ws.recv()
        assert json.loads(await ws.recv()) == {"serverContent": {"turnComplete": True}}
        (error,) = emu.sessions[0].replay_errors
        assert "waited 0.3s for the client to send a user turn" in error


async def test_a_replay_of_the_wrong_model_says_so():
    async with LiveEmulator.replay(recording(("sent", SETUP, None))) as emu:
        ws = await connect(emu.ws_url, additional_headers={"x-goog-api-key": "k"})
        await ws.send(json.dumps({"setup": {"model": "models/gemini-3.1-flash-live-preview"}}))
        await emu.wait_for_session()
        assert (
            "the client asked for model 'gemini-3.1-flash-live-preview'"
            in (emu.sessions[0].replay_errors[0])
        )


@pytest.mark.parametrize("audio_mode", ["full", "cut"])
def test_the_writer_redacts_secrets_and_cuts_media_when_asked(tmp_path, audio_mode):
    path = tmp_path / "call.json"
    writer = RecordingWriter(path, model="models/gemini-3.8-live", audio=audio_mode, secrets=["s3"])
    writer.connection_opened()
    writer.sent(json.dumps({"clientContent": {"turns": [{"parts": [{"text": "my key is s3"}]}]}}))
    writer.received(json.dumps(audio(0.1)))
    writer.close()
    assert "s3" not in path.read_text()
    first, second = Recording.load(path).interactions
    assert first.data["clientContent"]["turns"][0]["parts"][0]["text"] == "my key is [redacted]"
    data = second.data["realtimeInput"]["audio"]["data"]
    assert len(data) == (
        44 if audio_mode == "cut" else len(audio(0.1)["realtimeInput"]["audio"]["data"])
    )
