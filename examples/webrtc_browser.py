"""A browser voice bot: your microphone over WebRTC (Pipecat's SmallWebRTC) into Gemini Live.

    python examples/webrtc_browser.py [--host 127.0.0.1] [--port 7860] [--verbose]

Open the printed URL, press Connect and speak. The page (``examples/web/``, plain JS, nothing
loaded from the internet) shows the transcript of both sides and who is speaking; the bot sends
those events over the WebRTC data channel, so the page needs no RTVI client. Offline (no
``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``, in the environment or a ``.env`` file) the bot talks
to the bundled emulator, which answers every turn with a canned sentence in a deterministic tone
"voice"; with a key it talks to Google. ICE uses host candidates only (no STUN/TURN), so browser
and bot must reach each other directly (same machine or LAN).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

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

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterruptionFrame,
    MetricsFrame,
    OutputTransportMessageUrgentFrame,
    TranscriptionFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import Reply, UserTurn

WEB_DIR = Path(__file__).parent / "web"
INSTRUCTION = "You are a friendly voice assistant in a web page. Keep answers short."
MESSAGE_TYPE = "gemini-live-event"  # our data-channel messages; Pipecat's own are "signalling"


class BrowserEvents(FrameProcessor):
    """Tells the page what is said and who is speaking, as data-channel messages.

    Sits between the service and ``transport.output()``: the user's words, the speaking states
    and the bot's words come down from the service; the bot's speaking states come up from the
    output transport (which knows when audio is really being played).
    """

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        event = self._event(frame, direction)
        if event is not None:
            # Urgent: sent at once, not queued behind the reply audio waiting to be played.
            message = {"type": MESSAGE_TYPE, **event}
            await self.push_frame(OutputTransportMessageUrgentFrame(message=message))

    @staticmethod
    def _event(frame: Frame, direction: FrameDirection) -> dict[str, Any] | None:
        down = direction == FrameDirection.DOWNSTREAM
        if isinstance(frame, TranscriptionFrame) and down:
            return {"event": "transcript", "role": "user", "text": frame.text, "spaced": False}
        if isinstance(frame, TTSTextFrame) and down:
            spaced = frame.includes_inter_frame_spaces  # the service keeps the spaces
            return {"event": "transcript", "role": "bot", "text": frame.text, "spaced": spaced}
        if isinstance(frame, (UserStartedSpeakingFrame, UserStoppedSpeakingFrame)) and down:
            speaking = isinstance(frame, UserStartedSpeakingFrame)
            return {"event": "speaking", "role": "user", "speaking": speaking}
        if isinstance(frame, (BotStartedSpeakingFrame, BotStoppedSpeakingFrame)) and not down:
            speaking = isinstance(frame, BotStartedSpeakingFrame)
            return {"event": "speaking", "role": "bot", "speaking": speaking}
        if isinstance(frame, InterruptionFrame) and down:
            return {"event": "interrupted"}
        if isinstance(frame, MetricsFrame) and down:
            ttfb = [d.value for d in frame.data if isinstance(d, TTFBMetricsData) and d.model]
            if ttfb:
                return {"event": "ttfb", "seconds": ttfb[0]}
        return None


async def run_bot(connection: SmallWebRTCConnection, llm: GeminiLiveService) -> None:
    """One pipeline per browser connection, until the peer leaves or the app stops."""
    transport = SmallWebRTCTransport(
        connection, TransportParams(audio_in_enabled=True, audio_out_enabled=True)
    )
    context = LLMContext()
    aggregators = LLMContextAggregatorPair(context)
    pipeline = Pipeline(
        [
            transport.input(),
            aggregators.user(),
            llm,
            BrowserEvents(),
            transport.output(),
            aggregators.assistant(),
        ]
    )
    worker = PipelineWorker(
        pipeline,
        # 16 kHz is what Gemini takes in and 24 kHz what it speaks: no resampling in the service.
        params=PipelineParams(
            enable_metrics=True, audio_in_sample_rate=16000, audio_out_sample_rate=24000
        ),
        enable_rtvi=False,
    )

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport: SmallWebRTCTransport, client: Any) -> None:
        await worker.cancel()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    try:
        await runner.run()
    except asyncio.CancelledError:
        await worker.cancel()
        raise


def create_app(make_llm: Callable[[], GeminiLiveService], web_dir: Path = WEB_DIR) -> FastAPI:
    """The FastAPI app: the page, and ``POST /api/offer`` (one bot per WebRTC offer)."""
    handler = SmallWebRTCRequestHandler()  # no ICE servers: host candidates only, works offline
    bots: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # Shutting down: hang up on every browser and stop their bots.
        for bot in list(bots):
            bot.cancel()
        await asyncio.gather(*bots, return_exceptions=True)
        await handler.close()

    app = FastAPI(lifespan=lifespan)
    app.state.bots = bots  # the running bots, one per connected browser

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(web_dir / "index.html")

    @app.post("/api/offer")
    async def offer(body: dict[str, Any]) -> dict[str, Any]:
        async def start_bot(connection: SmallWebRTCConnection) -> None:
            bot = asyncio.create_task(run_bot(connection, make_llm()))
            bots.add(bot)
            bot.add_done_callback(bots.discard)

        answer = await handler.handle_web_request(SmallWebRTCRequest.from_dict(body), start_bot)
        return dict(answer or {})

    app.mount("/", StaticFiles(directory=web_dir), name="web")
    return app


class OfflineResponder:
    """Stands in for Gemini offline: it cannot understand speech, so it says how long you spoke
    (a canned answer, and the page shows it as one)."""

    def reply(self, turn: UserTurn, setup: dict[str, Any]) -> Reply:
        if turn.kind == "speech":
            seconds = f"{turn.speech_seconds:.1f} seconds"
            return Reply(
                input_transcript=f"({seconds} of speech)",
                text=f"(Emulator, canned answer) I heard {seconds} of speech. Set GOOGLE_API_KEY"
                " or GEMINI_API_KEY to talk to Gemini.",
            )
        return Reply(
            text="(Emulator, canned answer) Hello! Set GOOGLE_API_KEY or GEMINI_API_KEY to talk"
            " to Gemini."
        )


@contextlib.asynccontextmanager
async def service_factory(key: KeySource) -> AsyncIterator[Callable[[], GeminiLiveService]]:
    """Google's Live API with an API key, else the bundled emulator."""
    if key.online:
        print(f"Using Google's Live API: {key.describe()}.")
        yield lambda: GeminiLiveService(voice="Aoede", system_instruction=INSTRUCTION)
        return
    from pipecat_gemini_live.emulator import LiveEmulator

    print(f"Offline: {key.describe()}, so the bundled Live API emulator plays Gemini.")
    print(
        "  Its answers are canned (it hears how long you spoke, not what) and its voice is tones."
    )
    responder = OfflineResponder()
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emulator:
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
        # Browsers give the microphone only to secure pages; http://localhost counts as secure.
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        announce = f"Open http://{shown}:{port}/ in Chrome or Firefox and press Connect."
        await serve(uvicorn.Server(config), announce + " (Ctrl-C to stop)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Gemini Live browser bot (SmallWebRTC)")
    parser.add_argument("--host", default="127.0.0.1", help="the interface to listen on")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's and uvicorn's logs")
    args = parser.parse_args()
    key = start_example(args.verbose)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.host, args.port, key, args.verbose))
