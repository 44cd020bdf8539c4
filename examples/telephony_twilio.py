"""A phone bot: Twilio Media Streams (8 kHz µ-law over a WebSocket) into Gemini Live.

    python examples/telephony_twilio.py [--host 127.0.0.1] [--port 8080] [--verbose]

Point a Twilio number's TwiML at ``<Connect><Stream url="wss://your-host/ws"/></Connect>``; the
server listens on 127.0.0.1 unless you pass ``--host`` (``--host 0.0.0.0`` for every interface,
e.g. behind a tunnel). Offline (no ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``, in the environment or
a ``.env`` file) the bot talks to the bundled emulator, which answers each turn with a canned
sentence in a tone voice, and any client that speaks Twilio's media-stream JSON
(``tests/test_telephony.py`` has one) can call it.
The 8 kHz phone audio is resampled to 16 kHz on the way in and the 24 kHz reply to 8 kHz µ-law on
the way out; nothing else in the pipeline knows it is a phone call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from example_support import (
    KeySource,
    log_environment,
    progress,
    serve,
    start_example,
    uvicorn_log_level,
)

os.environ.update(log_environment(__name__))  # before Pipecat's import, which logs a banner

from fastapi import FastAPI, WebSocket
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveService

INSTRUCTION = "You answer the phone for a bakery. Be brief and friendly."


def create_app(make_llm: Callable[[], GeminiLiveService]) -> FastAPI:
    """The FastAPI app; ``make_llm`` builds one service per call."""
    app = FastAPI()

    @app.websocket("/ws")
    async def call(websocket: WebSocket) -> None:
        await websocket.accept()
        # Twilio opens with a "connected" then a "start" event that names the stream.
        start: dict = {}
        while start.get("event") != "start":
            start = json.loads(await websocket.receive_text())
        serializer = TwilioFrameSerializer(
            stream_sid=start["start"]["streamSid"],
            call_sid=start["start"].get("callSid"),
            # Hanging up goes through Twilio's REST API, which needs credentials.
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        transport = FastAPIWebsocketTransport(
            websocket,
            FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                add_wav_header=False,
                serializer=serializer,
            ),
        )
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        pipeline = Pipeline(
            [
                transport.input(),
                aggregators.user(),
                make_llm(),
                transport.output(),
                aggregators.assistant(),
            ]
        )
        worker = PipelineWorker(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=8000, audio_out_sample_rate=8000),
            enable_rtvi=False,
        )

        @transport.event_handler("on_client_disconnected")
        async def on_client_disconnected(transport, client) -> None:
            await worker.cancel()

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()

    return app


@contextlib.asynccontextmanager
async def service_factory(key: KeySource) -> AsyncIterator[Callable[[], GeminiLiveService]]:
    """Google's Live API with an API key, else the bundled emulator."""
    if key.online:
        print(f"Using Google's Live API: {key.describe()}.")
        yield lambda: GeminiLiveService(system_instruction=INSTRUCTION)
        return
    from pipecat_gemini_live.emulator import LiveEmulator

    print(f"Offline: {key.describe()}, so the bundled Live API emulator plays Gemini.")
    print("  Its answers are canned (it does not hear the caller) and its voice is tones.")
    async with LiveEmulator(api_key="test-key", pace=1.0) as emulator:
        progress(f"  the emulator listens at {emulator.base_url}")
        yield lambda: GeminiLiveService(
            api_key="test-key", base_url=emulator.base_url, system_instruction=INSTRUCTION
        )


async def main(host: str, port: int, key: KeySource, verbose: bool = False) -> None:
    import uvicorn

    async with service_factory(key) as make_llm:
        config = uvicorn.Config(
            create_app(make_llm), host=host, port=port, log_level=uvicorn_log_level(verbose)
        )
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        announce = f"Twilio media stream endpoint: ws://{shown}:{port}/ws (Ctrl-C to stop)"
        await serve(uvicorn.Server(config), announce)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Gemini Live phone bot (Twilio media streams)")
    parser.add_argument("--host", default="127.0.0.1", help="the interface to listen on")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's and uvicorn's logs")
    args = parser.parse_args()
    key = start_example(args.verbose)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.host, args.port, key, args.verbose))
