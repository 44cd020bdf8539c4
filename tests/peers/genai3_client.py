"""google-genai 3.x, unmodified, holds a conversation with a Live API server (the emulator).

Runs in the peers venv (``.venv-peers``: google-genai 3.6.1, no pipecat, no pipecat_gemini_live)
and prints one JSON summary on stdout of what it received, for
``tests/emulator/test_peer_clients.py`` to check against the emulator's script.

    .venv-peers/bin/python tests/peers/genai3_client.py --base-url https://127.0.0.1:PORT \\
        --cert cert.pem [--api-version v1beta] [--scenario full|turn]

Only public SDK options are used: ``HttpOptions(base_url=..., api_version=...,
async_client_args={"ssl": ctx})`` trusts the server's self-signed certificate (the SDK always
speaks wss). Without ``--api-version`` the SDK's own default is used (``v1`` since 3.0).

Scenario ``turn``: one spoken turn. Scenario ``full``, five user turns:
  1. a spoken turn (voiced audio, then silence so the server's VAD ends it);
  2. a spoken turn answered with a tool call; the client sends the function response;
  3. a spoken turn whose long reply the client talks over as soon as the audio starts (barge-in);
     the talking-over is itself a turn (4), ended by silence;
  then it waits for the server's ``goAway`` and reconnects with the last resumption handle it was
  given, and speaks one more turn (5) on the new connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import traceback
from typing import Any

from google import genai
from google.genai import types
from peer_audio import silence, speech

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
CHUNK = 3200  # 100 ms of 16 kHz PCM16 per realtime_input message
STEP_TIMEOUT = 15.0

TOOLS = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                description="Weather for a city",
                parameters=types.Schema(
                    type=types.Type.OBJECT,
                    properties={"city": types.Schema(type=types.Type.STRING)},
                ),
            )
        ]
    )
]


def config(handle: str | None = None) -> types.LiveConnectConfig:
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        system_instruction="Be brief.",
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        session_resumption=types.SessionResumptionConfig(handle=handle),
        tools=TOOLS,
    )


class Summary:
    """What the client saw, turn by turn (a turn ends at ``turnComplete``)."""

    def __init__(self) -> None:
        self.turns: list[dict[str, Any]] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.handles: list[str] = []
        self.go_away: str | None = None
        self.resumed_with: str | None = None
        self.connections = 0
        self.session_ids: list[str | None] = []
        self.errors: list[str] = []
        self._turn = self._new_turn()

    @staticmethod
    def _new_turn() -> dict[str, Any]:
        return {
            "audio_bytes": 0,
            "audio_mime_types": [],
            "input_transcript": "",
            "output_transcript": "",
            "generation_complete": False,
            "interrupted": False,
            "tool_call_ids": [],
            "usage": None,
            "connection": 0,
        }

    def see(self, message: types.LiveServerMessage) -> None:
        turn = self._turn
        turn["connection"] = self.connections
        content = message.server_content
        if content is not None:
            for part in (content.model_turn.parts or []) if content.model_turn else []:
                blob = part.inline_data
                if blob is not None and blob.data:
                    turn["audio_bytes"] += len(blob.data)
                    if blob.mime_type not in turn["audio_mime_types"]:
                        turn["audio_mime_types"].append(blob.mime_type)
            if content.input_transcription and content.input_transcription.text:
                turn["input_transcript"] += content.input_transcription.text
            if content.output_transcription and content.output_transcription.text:
                turn["output_transcript"] += content.output_transcription.text
            turn["generation_complete"] |= bool(content.generation_complete)
            turn["interrupted"] |= bool(content.interrupted)
        if message.tool_call is not None:
            for call in message.tool_call.function_calls or []:
                self.tool_calls.append({"id": call.id, "name": call.name, "args": call.args})
                turn["tool_call_ids"].append(call.id)
        if message.usage_metadata is not None:
            usage = message.usage_metadata
            turn["usage"] = {
                "prompt": usage.prompt_token_count,
                "response": usage.response_token_count,
                "total": usage.total_token_count,
                "response_modalities": [
                    str(d.modality.value if d.modality else None)
                    for d in usage.response_tokens_details or []
                ],
            }
        update = message.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            self.handles.append(update.new_handle)
        if message.go_away is not None:
            self.go_away = message.go_away.time_left
        if content is not None and content.turn_complete:
            self.turns.append(turn)
            self._turn = self._new_turn()

    def as_json(self) -> dict[str, Any]:
        return {
            "sdk_version": genai.__version__,
            "connections": self.connections,
            "session_ids": self.session_ids,
            "turns": self.turns,
            "tool_calls": self.tool_calls,
            "handles": self.handles,
            "go_away_time_left": self.go_away,
            "resumed_with": self.resumed_with,
            "errors": self.errors,
        }


async def listen(args: argparse.Namespace) -> None:
    """A user answers a moment after the bot has finished. Speech the instant a reply ends
    talks over its last words (the client may still be playing them), and a server answers
    that with ``interrupted``."""
    await asyncio.sleep(args.pause)


async def send_audio(session: Any, pcm: bytes) -> None:
    for offset in range(0, len(pcm), CHUNK):
        await session.send_realtime_input(
            audio=types.Blob(data=pcm[offset : offset + CHUNK], mime_type="audio/pcm;rate=16000")
        )


async def one_turn(session: Any, summary: Summary) -> None:
    """``receive()`` yields up to and including one ``turnComplete``."""
    async for message in session.receive():
        summary.see(message)


async def step(what: str, coroutine: Any) -> None:
    try:
        await asyncio.wait_for(coroutine, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise TimeoutError(f"waiting {STEP_TIMEOUT:g} s for {what}") from None


async def tool_turn(session: Any, summary: Summary) -> None:
    async for message in session.receive():
        summary.see(message)
        calls = (message.tool_call.function_calls or []) if message.tool_call else []
        for call in calls:
            await session.send_tool_response(
                function_responses=types.FunctionResponse(
                    id=call.id, name=call.name, response={"result": f"sunny in {call.args['city']}"}
                )
            )


async def barge_in_turn(session: Any, summary: Summary) -> None:
    talked_over = False
    async for message in session.receive():
        summary.see(message)
        if message.data and not talked_over:
            talked_over = True
            await send_audio(session, speech(0.6, seed=4))  # no silence yet: still talking


async def wait_for_go_away(session: Any, summary: Summary) -> None:
    while summary.go_away is None:
        async for message in session.receive():
            summary.see(message)
            if summary.go_away is not None:
                return


async def converse(args: argparse.Namespace, summary: Summary) -> None:
    context = ssl.create_default_context(cafile=args.cert)
    options: dict[str, Any] = {"base_url": args.base_url, "async_client_args": {"ssl": context}}
    if args.api_version:
        options["api_version"] = args.api_version
    client = genai.Client(api_key=args.key, http_options=types.HttpOptions(**options))

    async with client.aio.live.connect(model=MODEL, config=config()) as session:
        summary.connections += 1
        summary.session_ids.append(session.session_id)
        await send_audio(session, speech(0.6, seed=1) + silence(0.8))
        await step("the reply to turn 1", one_turn(session, summary))
        if args.scenario == "turn":
            return

        await listen(args)
        await send_audio(session, speech(0.6, seed=2) + silence(0.8))
        await step("the tool call and the reply after it", tool_turn(session, summary))

        await listen(args)
        await send_audio(session, speech(0.6, seed=3) + silence(0.8))
        await step("the interrupted reply", barge_in_turn(session, summary))
        await send_audio(session, silence(0.8))  # the talking-over ends: a turn of its own
        await step("the reply to turn 4", one_turn(session, summary))

        await step("goAway", wait_for_go_away(session, summary))

    handle = summary.handles[-1] if summary.handles else None
    summary.resumed_with = handle
    async with client.aio.live.connect(model=MODEL, config=config(handle)) as session:
        summary.connections += 1
        summary.session_ids.append(session.session_id)
        await send_audio(session, speech(0.6, seed=5) + silence(0.8))
        await step("the reply on the resumed connection", one_turn(session, summary))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="https://127.0.0.1:PORT")
    parser.add_argument("--cert", required=True, help="PEM file of the server's certificate")
    parser.add_argument("--key", default="test-key")
    parser.add_argument("--api-version", default=None, help="default: the SDK's (v1 on 3.x)")
    parser.add_argument("--scenario", choices=("full", "turn"), default="full")
    parser.add_argument(
        "--pause", type=float, default=0.5, help="seconds the user waits after a reply"
    )
    args = parser.parse_args()
    summary = Summary()
    try:
        asyncio.run(converse(args, summary))
    except Exception as error:  # report it: the test shows it
        summary.errors.append(f"{type(error).__name__}: {error}")
        traceback.print_exc(file=sys.stderr)
    print(json.dumps(summary.as_json()))
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
