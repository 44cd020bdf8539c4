"""The least a Live API stage can do: the benchmark's floor for the service's own CPU.

``WireFloor`` converts the microphone's frames to 16 kHz chunks (this package's converter),
sends each as one audio message through this package's connection, and turns the server's
audio into ``TTSAudioRawFrame``s: the work every Live API client must do per chunk and per
reply message, on the same code paths as the service, and nothing else (no session
supervision, turns, transcripts, tools, metrics, reconnection or interruption handling).
What the service costs above it is what its own logic costs; what it costs is a floor no
client on this stack (Pipecat, asyncio, websockets, TLS) goes below.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    TTSAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_gemini_live import protocol
from pipecat_gemini_live.access import Access
from pipecat_gemini_live.audio import InputAudioConverter
from pipecat_gemini_live.config import SessionConfig
from pipecat_gemini_live.connection import Connection
from pipecat_gemini_live.events import AudioChunk
from pipecat_gemini_live.models import capabilities_for

CHUNK_MS = 50  # the service's default input_chunk_ms


class WireFloor(FrameProcessor):
    """Microphone frames in, audio messages out; server audio in, ``TTSAudioRawFrame``s out."""

    def __init__(self, *, base_url: str, model: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._access = Access(api_key=api_key, base_url=base_url, api_version=None, vertex=None)
        # The service's own setup at its defaults (transcripts and resumption asked for), so
        # the same messages come back; transcripts are parsed and dropped here.
        capabilities = capabilities_for(model)
        self._setup_message = protocol.setup(SessionConfig(capabilities.model, capabilities))
        self._converter = InputAudioConverter(chunk_ms=CHUNK_MS)
        self._connection: Connection | None = None
        self._receiving: asyncio.Task[None] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and self._connection is not None:
            for chunk in self._converter.push(frame.audio, frame.sample_rate, frame.num_channels):
                await self._connection.send(protocol.realtime_audio(chunk))
        elif isinstance(frame, StartFrame):
            await self._open()
        elif isinstance(frame, (EndFrame, CancelFrame)):
            await self._close()
        await self.push_frame(frame, direction)

    async def _open(self) -> None:
        connection = await Connection.open(
            self._access.url,
            await self._access.headers(),
            open_timeout=10,
            ping_interval=None,
            ping_timeout=None,
            ssl_context=self._access.ssl,
        )
        await connection.set_up(self._setup_message, timeout=10)
        self._connection = connection
        # Named as Pipecat names a processor's tasks, so the benchmark charges it to this stage.
        self._receiving = asyncio.get_running_loop().create_task(
            self._receive(connection), name=f"{self.name}::receive"
        )

    async def _receive(self, connection: Connection) -> None:
        while True:
            for event in await connection.receive():
                if isinstance(event, AudioChunk):
                    await self.push_frame(TTSAudioRawFrame(event.data, event.sample_rate, 1))

    async def _close(self) -> None:
        if self._receiving is not None:
            # An error that ended the receiving is raised here, not lost with the task.
            self._receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiving
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._receiving = None
