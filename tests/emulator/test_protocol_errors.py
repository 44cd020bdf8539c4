"""Bad client input gets the close code and reason the real service gives; turns follow the
VAD settings in setup. Driven by a raw WebSocket client, as any Live API client would."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from tests.pipeline_kit import silence, speech

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = {"setup": {"model": "models/gemini-3.8-live"}}


async def closed_with(
    emu: LiveEmulator, messages: list, *, headers=None, path=PATH
) -> tuple[int, str]:
    """Send messages, return the close code and reason the server ended with."""
    async with connect(
        f"ws://127.0.0.1:{emu.port}{path}",
        additional_headers=headers or {"x-goog-api-key": "test-key"},
    ) as ws:
        for message in messages:
            await ws.send(message if isinstance(message, str) else json.dumps(message))
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("not closed")


@pytest.mark.parametrize(
    ("messages", "code", "reason"),
    [
        (["{not json"], 1007, "Invalid JSON payload received"),
        ([{"realtime_input": {"text": "hi"}}], 1007, "invalid argument"),
        ([SETUP, {"someUnknownThing": {}}], 1007, 'Unknown name "someUnknownThing"'),
        (
            [
                {
                    "setup": {
                        "model": "models/gemini-3.8-live",
                        "generationConfig": {"responseModalities": ["TEXT", "AUDIO"]},
                    }
                }
            ],
            1007,
            "invalid argument",
        ),
        (
            [
                {
                    "setup": {
                        "model": "models/gemini-3.8-live",
                        "realtimeInputConfig": {
                            "automaticActivityDetection": {"startOfSpeechSensitivity": "LOUD"}
                        },
                    }
                }
            ],
            1007,
            "invalid argument",
        ),
        (
            [
                {
                    "setup": {
                        "model": "models/gemini-3.8-live",
                        "sessionResumption": {"handle": "nope"},
                    }
                }
            ],
            1008,
            "session not found",
        ),
    ],
    ids=[
        "malformed-json",
        "before-setup",
        "unknown-field",
        "two-modalities",
        "bad-enum",
        "unknown-handle",
    ],
)
async def test_bad_client_input_is_closed_like_google_does(messages, code, reason):
    async with LiveEmulator() as emu:
        got_code, got_reason = await closed_with(emu, messages)
        assert got_code == code and reason in got_reason
        assert len(got_reason.encode()) <= 123


async def test_unknown_model_and_wrong_key():
    async with LiveEmulator() as emu:  # by default, only models Google serves
        code, reason = await closed_with(emu, [{"setup": {"model": "models/gemini-9"}}])
        assert code == 1008
        assert reason.startswith("models/gemini-9 is not found for API version v1beta")
        assert len(reason.encode()) <= 123  # Google's long message, truncated to the limit
        code, reason = await closed_with(emu, [SETUP], headers={"x-goog-api-key": "wrong"})
        assert (code, reason) == (1007, "API key not valid. Please pass a valid API key.")
    async with LiveEmulator(known_models={"gemini-2.5-flash-native-audio-preview-12-2025"}) as emu:
        code, _ = await closed_with(emu, [SETUP])  # a served model, but not on this emulator
        assert code == 1008


async def test_an_unknown_model_is_served_when_allowed():
    async with LiveEmulator(allow_unknown_models=True) as emu:
        async with connect(emu.ws_url, additional_headers={"x-goog-api-key": "test-key"}) as ws:
            await ws.send(json.dumps({"setup": {"model": "models/gemini-9"}}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
            assert emu.sessions[0].model == "gemini-9"


async def test_keys_are_read_from_every_place_clients_put_them_and_odd_paths_are_refused():
    async with LiveEmulator() as emu:
        for path, headers in [
            (PATH + "?key=test-key", {}),
            (PATH, {"Authorization": "Bearer test-key"}),
            (
                "//prefix" + PATH.replace("v1beta", "v1alpha") + "Constrained",
                {"Authorization": "Token test-key"},
            ),
            (
                "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
                {"Authorization": "Bearer test-key"},
            ),
        ]:
            async with connect(
                f"ws://127.0.0.1:{emu.port}{path}", additional_headers=headers
            ) as ws:
                await ws.send(json.dumps(SETUP))
                complete = json.loads(await ws.recv())["setupComplete"]
                # Vertex names the session (as recorded); the Gemini API sends {}.
                assert list(complete) == (["sessionId"] if "aiplatform" in path else [])
        with pytest.raises(InvalidStatus):
            async with connect(f"ws://127.0.0.1:{emu.port}/v1/chat"):
                pass


async def turn_end_delay(silence_ms: int | None, disabled: bool = False) -> float:
    """Seconds of trailing silence (audio time) the emulator needs before it answers."""
    detection = {"silenceDurationMs": silence_ms} if silence_ms else {}
    setup = {
        "setup": {
            "model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
            "realtimeInputConfig": {"automaticActivityDetection": detection},
        }
    }
    async with LiveEmulator(responder=ScriptedResponder([Reply(text="ok")])) as emu:
        async with connect(emu.ws_url, additional_headers={"x-goog-api-key": "test-key"}) as ws:
            await ws.send(json.dumps(setup))
            await ws.recv()
            pcm = speech(0.5)
            for i in range(0, len(pcm), 640):
                await ws.send(_audio(pcm[i : i + 640]))
            for sent in range(1, 200):
                await ws.send(_audio(silence(0.02)))
                await asyncio.sleep(0.001)
                if emu.sessions[0].turns:
                    return sent * 0.02
    return float("inf")


def _audio(pcm: bytes) -> str:
    data = base64.b64encode(pcm).decode()
    return json.dumps(
        {"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm;rate=16000"}}}
    )


async def test_silence_duration_from_setup_decides_when_the_turn_ends():
    short, long = await turn_end_delay(200), await turn_end_delay(1200)
    assert 0.18 <= short <= 0.4
    assert 1.15 <= long <= 1.45


async def test_with_vad_disabled_activity_start_and_end_drive_the_turn():
    setup = {
        "setup": {
            "model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
            "realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}},
        }
    }
    async with LiveEmulator(responder=ScriptedResponder([Reply(text="ok")])) as emu:
        async with connect(emu.ws_url, additional_headers={"x-goog-api-key": "test-key"}) as ws:
            await ws.send(json.dumps(setup))
            await ws.recv()
            for i in range(0, 32000, 640):  # a second of speech and silence, no activity signals
                await ws.send(_audio((speech(0.5) + silence(0.5))[i : i + 640]))
            await asyncio.sleep(0.1)
            assert emu.sessions[0].turns == []  # server VAD is off: audio alone is no turn
            await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
            await ws.send(_audio(speech(0.3)))
            await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
            await emu.wait_until(lambda: emu.sessions[0].turns, 5)
            assert emu.sessions[0].activity_events == ["start", "end"]
            assert emu.sessions[0].turns[0]["input_transcript"] == "(0.3 s of speech)"


def test_user_json_inside_struct_fields_keeps_its_own_keys():
    from pipecat_gemini_live.emulator import wire

    message = wire.normalise(
        {
            "toolResponse": {
                "functionResponses": [
                    {
                        "id": "a",
                        "name": "f",
                        "response": {"cityName": "Oslo", "inner": {"tempC": 3}},
                    }
                ]
            }
        }
    )
    (item,) = message["tool_response"]["function_responses"]
    assert item["response"] == {"cityName": "Oslo", "inner": {"tempC": 3}}
