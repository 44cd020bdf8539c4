"""LiveKit's Google realtime plugin, unmodified, holds a conversation with a Live API server.

Runs in the peers venv (``.venv-peers``: livekit-agents and livekit-plugins-google 1.8.9 on
google-genai 3.6.1; no pipecat, no pipecat_gemini_live) and prints one JSON summary on stdout of
what it received, for ``tests/emulator/test_peer_clients.py`` to check against the script.

    .venv-peers/bin/python tests/peers/livekit_client.py --base-url https://127.0.0.1:PORT \\
        --cert cert.pem [--api-version v1beta]

No LiveKit room and no agent framework: ``RealtimeModel(http_options=HttpOptions(base_url=...,
async_client_args={"ssl": ctx}))`` (the plugin hands ``http_options`` to the google-genai client
it builds, which always speaks wss), ``model.session()``, audio in as ``rtc.AudioFrame``s through
``push_audio``, and what comes back read from each ``generation_created`` event's message stream
(audio frames and transcript text) and function stream. A tool call is answered the way the
agent framework answers it: the ``FunctionCallOutput`` is appended to the session's chat context
and ``update_chat_ctx`` sends it as a ``toolResponse``.

The conversation: first the greeting an agent asks for with ``generate_reply(instructions=...)``
(sent as client content), then five user turns:
  1. a spoken turn (voiced audio, then silence so the server's VAD ends it);
  2. a spoken turn answered with a tool call, then the spoken result;
  3. a spoken turn whose long reply the client talks over at its first audio frame (barge-in;
     the plugin reports it as ``input_speech_started`` during the generation), and the
     talking-over ends with silence, a turn of its own (4);
  then the server's ``goAway``: the plugin reconnects by itself with the latest resumption
  handle, and turn 5 is spoken on the new connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import ssl
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from google.genai import types
from livekit import rtc
from livekit.agents import llm
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.plugins.google import __version__ as plugin_version
from livekit.plugins.google.realtime import RealtimeModel
from peer_audio import RATE, silence, speech

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
FRAME = RATE // 50  # 20 ms frames, as a microphone track delivers them
STEP_TIMEOUT = 15.0


@llm.function_tool(name="get_weather", description="Weather for a city")
async def get_weather(city: str) -> str:
    """Declared to the model through the plugin; the client answers calls itself (below)."""
    return f"sunny in {city}"


class Recorder:
    """The session's events, in order, and each generation's streams as they were read."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.events: list[str] = []
        self.generations: list[dict[str, Any]] = []
        self.final_input_transcripts: list[str] = []
        self.connections = 0
        self.errors: list[str] = []
        self.tool_outputs_sent: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._talk_over: Callable[[], None] | None = None
        session.on("generation_created", self._on_generation)
        session.on("input_speech_started", lambda _ev: self.events.append("speech_started"))
        session.on("input_speech_stopped", lambda _ev: self.events.append("speech_stopped"))
        session.on("input_audio_transcription_completed", self._on_transcription)
        session.on("metrics_collected", self._on_metrics)
        session.on("error", lambda ev: self.errors.append(f"{ev.error!r}"))

    # -------------------------------------------------------------------- events

    def _on_generation(self, event: llm.GenerationCreatedEvent) -> None:
        self.events.append("generation_created")
        generation: dict[str, Any] = {
            "response_id": event.response_id,
            "user_initiated": event.user_initiated,
            "audio_bytes": 0,
            "audio_frames": 0,
            "sample_rates": [],
            "text": "",
            "function_calls": [],
            "usage": None,
            "interrupted": False,
            "connection": self.connections,
            "done": False,
        }
        self.generations.append(generation)
        task = asyncio.create_task(self._read(event, generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_transcription(self, event: llm.InputTranscriptionCompleted) -> None:
        if event.is_final:
            self.final_input_transcripts.append(event.transcript)

    def _on_metrics(self, metrics: Any) -> None:
        if not isinstance(metrics, RealtimeModelMetrics):
            return
        if not metrics.request_id:  # the plugin reports each connection it opens this way
            self.connections += 1
            self.events.append("connected")
            return
        for generation in self.generations:
            if generation["response_id"] == metrics.request_id:
                generation["usage"] = {
                    "input_tokens": metrics.input_tokens,
                    "output_tokens": metrics.output_tokens,
                    "total_tokens": metrics.total_tokens,
                    "output_audio_tokens": metrics.output_token_details.audio_tokens,
                }

    async def _read(self, event: llm.GenerationCreatedEvent, generation: dict[str, Any]) -> None:
        async def audio(stream: Any) -> None:
            async for frame in stream:
                generation["audio_bytes"] += len(frame.data.tobytes())
                generation["audio_frames"] += 1
                if frame.sample_rate not in generation["sample_rates"]:
                    generation["sample_rates"].append(frame.sample_rate)
                if self._talk_over is not None:
                    talk, self._talk_over = self._talk_over, None
                    talk()

        async def text(stream: Any) -> None:
            async for piece in stream:
                generation["text"] += piece

        async def messages() -> None:
            async for message in event.message_stream:
                await asyncio.gather(audio(message.audio_stream), text(message.text_stream))

        async def functions() -> None:
            async for call in event.function_stream:
                generation["function_calls"].append(
                    {"call_id": call.call_id, "name": call.name, "arguments": call.arguments}
                )
                await self._answer(call)

        try:
            await asyncio.gather(messages(), functions())
        except Exception as error:
            self.errors.append(f"reading a generation: {error!r}")
        generation["done"] = True

    async def _answer(self, call: llm.FunctionCall) -> None:
        """What the agent framework does with a tool's result on a realtime session."""
        arguments = json.loads(call.arguments or "{}")
        output = json.dumps({"forecast": await get_weather(**arguments)})
        context = self.session.chat_ctx.copy()
        context.items.append(
            llm.FunctionCallOutput(
                name=call.name, call_id=call.call_id, output=output, is_error=False
            )
        )
        await self.session.update_chat_ctx(context)
        self.tool_outputs_sent.append({"call_id": call.call_id, "output": output})

    # -------------------------------------------------------------------- driving

    def talk_over_next_audio(self, pcm: bytes) -> None:
        """Push ``pcm`` the moment the next reply audio frame is read (a barge-in)."""
        self._talk_over = lambda: push(self.session, pcm)

    async def wait(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not predicate():
            if self.errors or time.monotonic() > deadline:
                raise TimeoutError(f"waiting for {what}; errors: {self.errors}")
            await asyncio.sleep(0.01)

    def done_with_audio(self, count: int) -> bool:
        """``count`` finished generations that carried audio."""
        audible = [g for g in self.generations if g["done"] and g["audio_bytes"]]
        return len(audible) >= count

    def mark_interruptions(self) -> int:
        """``input_speech_started`` not followed at once by ``generation_created`` is the
        plugin's barge-in signal (a new generation also begins with one, right before it)."""
        count = 0
        generation = -1
        for index, event in enumerate(self.events):
            if event == "generation_created":
                generation += 1
            elif event == "speech_started":
                following = self.events[index + 1] if index + 1 < len(self.events) else ""
                if following != "generation_created" and generation >= 0:
                    self.generations[generation]["interrupted"] = True
                    count += 1
        return count


def push(session: Any, pcm: bytes) -> None:
    for offset in range(0, len(pcm), 2 * FRAME):
        chunk = pcm[offset : offset + 2 * FRAME]
        session.push_audio(
            rtc.AudioFrame(
                data=chunk, sample_rate=RATE, num_channels=1, samples_per_channel=len(chunk) // 2
            )
        )


async def converse(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    context = ssl.create_default_context(cafile=args.cert)
    options: dict[str, Any] = {"base_url": args.base_url, "async_client_args": {"ssl": context}}
    if args.api_version:
        options["api_version"] = args.api_version
    model = RealtimeModel(
        api_key=args.key,
        model=MODEL,
        instructions="Be brief.",
        http_options=types.HttpOptions(**options),
    )
    session = model.session()
    # Before the session task first runs, so the first setup already declares the tool.
    await session.update_tools([get_weather])
    recorder = Recorder(session)
    summary["recorder"] = recorder
    try:
        await recorder.wait(lambda: recorder.connections >= 1, "the first connection")

        # An agent's greeting: the future resolves with the generation that answers it.
        greeting = await asyncio.wait_for(
            session.generate_reply(instructions="Greet the user."), STEP_TIMEOUT
        )
        summary["greeting_user_initiated"] = greeting.user_initiated
        await recorder.wait(lambda: recorder.done_with_audio(1), "the greeting")

        await asyncio.sleep(args.pause)  # the user listens to the end of the reply
        push(session, speech(0.6, seed=1) + silence(0.8))
        await recorder.wait(lambda: recorder.done_with_audio(2), "the reply to turn 1")

        await asyncio.sleep(args.pause)  # the user listens to the end of the reply
        push(session, speech(0.6, seed=2) + silence(0.8))
        await recorder.wait(lambda: recorder.done_with_audio(3), "the reply after the tool call")

        await asyncio.sleep(args.pause)  # the user listens to the end of the reply
        recorder.talk_over_next_audio(speech(0.6, seed=4))  # no silence yet: still talking
        push(session, speech(0.6, seed=3) + silence(0.8))
        await recorder.wait(lambda: recorder.done_with_audio(4), "the interrupted reply")
        push(session, silence(0.8))  # the talking-over ends: a turn of its own
        await recorder.wait(lambda: recorder.done_with_audio(5), "the reply to turn 4")

        # The server's goAway (the test sends it now) makes the plugin reconnect on its own.
        await recorder.wait(lambda: recorder.connections >= 2, "the resumed connection")
        push(session, speech(0.6, seed=5) + silence(0.8))
        await recorder.wait(lambda: recorder.done_with_audio(6), "the reply on the new connection")
    finally:
        summary["handle_at_end"] = session.session_resumption_handle
        await session.aclose()
        await model.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="https://127.0.0.1:PORT")
    parser.add_argument("--cert", required=True, help="PEM file of the server's certificate")
    parser.add_argument("--key", default="test-key")
    parser.add_argument("--api-version", default=None, help="default: the SDK's (v1 on 3.x)")
    parser.add_argument(
        "--pause",
        type=float,
        default=1.0,
        help="seconds the user waits after a reply's audio ends (a server holds turnComplete "
        "until the client should have played it; speech before that interrupts it)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    summary: dict[str, Any] = {"errors": []}
    try:
        asyncio.run(converse(args, summary))
    except Exception as error:
        summary["errors"].append(f"{type(error).__name__}: {error}")
        traceback.print_exc(file=sys.stderr)
    recorder: Recorder | None = summary.pop("recorder", None)
    if recorder is not None:
        interruptions = recorder.mark_interruptions()
        summary.update(
            {
                "connections": recorder.connections,
                "events": recorder.events,
                "generations": recorder.generations,
                "final_input_transcripts": recorder.final_input_transcripts,
                "tool_outputs_sent": recorder.tool_outputs_sent,
                "interruptions": interruptions,
            }
        )
        summary["errors"].extend(recorder.errors)
    summary["plugin_version"] = plugin_version
    print(json.dumps(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
