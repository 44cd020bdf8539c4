"""The emulator's server profiles against Google's own frames.

For each recording in ``tests/recorded/``, a raw client sends the emulator what the recorded
client sent Google (its setup, history, questions, audio, tool results), and the emulator,
scripted to say what the real model said, must answer with the same kinds of message in the
same order: the same landmarks (setup, handles, voice activity, transcripts, thoughts, tool
calls, generationComplete, turnComplete with its usage spelling, Vertex's bookends), and between
them the same kinds of body (audio with or without rate, with or without its transcript riding
along, bare ``{}`` frames). Lengths differ (the emulator speaks its own audio), so repeats of a
kind are not counted; everything else is.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from typing import Any

import pytest
from websockets.asyncio.client import connect

from pipecat_gemini_live.emulator import LiveEmulator, ScriptedResponder, profile_for
from pipecat_gemini_live.recording import CUT_MEDIA_CHARS, Recording
from tests.pipeline_kit import silence, speech
from tests.recorded_kit import landmarks, recordings, script_from

API_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"

# Recordings of an older server than the profile follows, and what was different then.
OLDER_SERVERS = {
    # No `at` times (an older cassette format), and no voiceActivity messages: 3.8 added them
    # later (the newer 3.8 recording, 8bfb414b, has both).
    "eba52de1": {"voice_activity": False},
}


def _messages(recording: Recording, direction: str) -> list[dict[str, Any]]:
    return [i.data for i in recording.interactions if i.direction == direction]


async def converse(emu: LiveEmulator, recording: Recording) -> list[dict[str, Any]]:
    """Send what the recorded client sent; answer tool calls as it did; return what came."""
    path = VERTEX_PATH if recording.endpoint == "vertex" else API_PATH
    received: list[dict[str, Any]] = []
    results = {
        answer["name"]: answer["response"]
        for message in _messages(recording, "sent")
        for answer in (message.get("tool_response") or message.get("toolResponse") or {}).get(
            "functionResponses", []
        )
    }
    turns = sum(
        bool((m.get("serverContent") or {}).get("turnComplete"))
        for m in _messages(recording, "received")
    )
    async with connect(
        f"ws://127.0.0.1:{emu.port}{path}", additional_headers={"x-goog-api-key": "k"}
    ) as ws:

        async def read() -> None:
            while (
                sum(bool((m.get("serverContent") or {}).get("turnComplete")) for m in received)
                < turns
            ):
                message = json.loads(await ws.recv())
                received.append(message)
                for call in (message.get("toolCall") or {}).get("functionCalls") or []:
                    answer = {"name": call["name"], "response": results[call["name"]]}
                    if call.get("id"):
                        answer["id"] = call["id"]
                    await ws.send(json.dumps({"toolResponse": {"functionResponses": [answer]}}))

        reader = asyncio.create_task(read())
        done_before = 0
        audio: list[str] = []
        for item in recording.interactions:
            message = item.data
            realtime = message.get("realtime_input") or message.get("realtimeInput") or {}
            if audio and "audio" not in realtime:
                await _send_audio(ws, audio)
                audio = []
            if item.direction == "received":
                done_before += bool((message.get("serverContent") or {}).get("turnComplete"))
                continue
            if "tool_response" in message or "toolResponse" in message:
                continue  # answered as the calls come
            if "audio" in realtime:
                audio.append(realtime["audio"]["data"])
                continue
            while (
                sum(bool((m.get("serverContent") or {}).get("turnComplete")) for m in received)
                < done_before
            ):
                await asyncio.sleep(0.01)
            await ws.send(json.dumps(message))
        if audio:
            await _send_audio(ws, audio)
        await asyncio.wait_for(reader, 20)
        await asyncio.sleep(0.05)
    return received


async def _send_audio(ws: Any, blobs: list[str]) -> None:
    """The recorded audio where it is whole; the recorder cut it in most files, so there a
    spoken turn of the same kind (speech, then the silence that ends it) stands in."""
    if all(len(data) > CUT_MEDIA_CHARS for data in blobs):
        chunks = blobs
    else:
        pcm = speech(2.0) + silence(1.2)
        chunks = [base64.b64encode(pcm[i : i + 3200]).decode() for i in range(0, len(pcm), 3200)]
    for data in chunks:
        blob = {"data": data, "mime_type": "audio/pcm;rate=16000"}
        await ws.send(json.dumps({"realtime_input": {"audio": blob}}))


@pytest.mark.parametrize("path", recordings(), ids=lambda p: p.stem[:60])
async def test_the_profile_for_a_recorded_model_answers_as_google_did(path):
    recording = Recording.load(path)
    profile = profile_for(recording.model, recording.endpoint)  # type: ignore[arg-type]
    assert profile is not None, f"no profile for {recording.model} on {recording.endpoint}"
    for commit, differences in OLDER_SERVERS.items():
        if commit in path.name:
            profile = replace(profile, **differences)
    script = script_from(recording, split_tool_turns=profile.split_tool_turn)
    async with LiveEmulator(
        api_key=None, responder=ScriptedResponder(script), profile=profile
    ) as emu:
        emulated = await converse(emu, recording)
    assert landmarks(emulated) == landmarks(_messages(recording, "received"))


async def test_a_barge_in_over_a_generated_reply_comes_in_the_recorded_order():
    """pydantic-ai's test_handle_barge_in_over_live_speech (2.5, not kept here for its size,
    its order described in the recordings' README): the reply is all generated and still
    playing when the user speaks again; the server sends generationComplete, interrupted,
    turnComplete with the old turn's usage, and only then the new speech's transcript."""
    from pipecat_gemini_live.emulator import Reply

    story = "Once upon a time there was a very long story that went on and on."
    script = ScriptedResponder(
        [Reply(text=story, input_transcript="Tell me a story."), Reply(text="Yes?")]
    )
    setup = {
        "model": "models/gemini-2.5-flash-native-audio-preview-09-2025",
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    async with LiveEmulator(api_key=None, responder=script, pace=1.0) as emu:
        async with connect(emu.ws_url, additional_headers={"x-goog-api-key": "k"}) as ws:
            await ws.send(json.dumps({"setup": setup}))
            received = [json.loads(await ws.recv())]
            await _send_audio(ws, ["cut"])  # a spoken question: speech, then silence
            while "generationComplete" not in json.dumps(received[-1]):
                received.append(json.loads(await ws.recv()))
            await _send_audio(ws, ["cut"])  # talks over the reply the client still plays
            while sum("turnComplete" in json.dumps(m) for m in received) < 2:
                received.append(json.loads(await ws.recv()))
    sequence = landmarks(received)
    start = sequence.index("generationComplete")
    assert sequence[start : start + 6] == [
        "generationComplete",
        "interrupted",
        "turnComplete+usage",
        "in",  # the barge-in's words, after its turn closed
        "thought",
        frozenset({"audio", "out"}),
    ]
