"""What the user sends the model: microphone audio, camera and screen images, and (with the
server's VAD off) the turns Pipecat's own VAD decides.

Audio is converted as it streams (any rate and channel count to 16 kHz mono chunks) and its
level is measured chunk by chunk: the service times replies from the end of the user's speech
and derives Pipecat's VAD frames from it. Images are paced, resized and encoded off the event
loop. A frame that cannot be used is reported once per kind, and the call goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from loguru import logger
from pipecat.frames.frames import InputAudioRawFrame, InputImageRawFrame

from pipecat_gemini_live import protocol
from pipecat_gemini_live.audio import AudioFormatError, InputAudioConverter, pcm16_rms
from pipecat_gemini_live.metrics import SpeechClock
from pipecat_gemini_live.vision import FramePacer, ImageFormatError, VideoSettings, encode_jpeg

if TYPE_CHECKING:
    from pipecat_gemini_live.service import GeminiLiveService


class UserInput:
    def __init__(
        self,
        service: GeminiLiveService,
        *,
        chunk_ms: int,
        local_vad_preroll_ms: int,
        video: VideoSettings | None,
        on_chunk: Callable[[bool, float], Awaitable[None]],
    ) -> None:
        self._service = service
        self._converter = InputAudioConverter(chunk_ms=chunk_ms)
        self._chunk_seconds = chunk_ms / 1000
        self._preroll: deque[bytes] = deque(maxlen=max(1, local_vad_preroll_ms // chunk_ms))
        self._on_chunk = on_chunk
        self.speech = SpeechClock()
        self._video = FramePacer(video or VideoSettings())
        self._video_task: asyncio.Task[None] | None = None
        self._reported: set[str] = set()
        self.audio_paused = False
        self.video_paused = False

    @property
    def chunk_seconds(self) -> float:
        return self._chunk_seconds

    @property
    def pending_bytes(self) -> int:
        """Audio held back until it makes a whole chunk."""
        return self._converter.pending_bytes

    async def audio(self, frame: InputAudioRawFrame) -> None:
        if self.audio_paused:
            return
        try:
            chunks = self._converter.push(frame.audio, frame.sample_rate, frame.num_channels)
        except AudioFormatError as error:
            # A frame that cannot be audio (no rate, no channels): reported, once per kind,
            # and the conversation goes on with the frames that are.
            await self.report_unusable("input audio frame", error)
            return
        if self._converter.has_issues:
            for issue in self._converter.take_issues():
                logger.warning(f"{self._service}: input audio: {issue.message}")
        if not chunks:
            return  # most frames only top up the next chunk
        now = time.time()
        service = self._service
        for chunk in chunks:
            voiced = self.speech.on_chunk_sent(pcm16_rms(chunk), now)
            message = protocol.realtime_audio(chunk)
            session = service.live_session
            if session is not None and service.open_for_input:
                await session.send(message)  # what send_to_model does, once connected
            else:
                await service.send_to_model(message)
                session = service.live_session
            if voiced and session is not None:
                session.note_user_speech()  # no connection switch mid-turn
            if service.local_turns:
                self._preroll.append(chunk)
            await self._on_chunk(voiced, now)

    def image(self, frame: InputImageRawFrame, *, user_speaking: bool) -> None:
        """Paced, and one encode at a time: a frame arriving while the last one is still being
        encoded is skipped rather than queued (the newest picture is the useful one)."""
        if self.video_paused or not self._service.open_for_input:
            return
        if self._video_task is not None and not self._video_task.done():
            return
        if self._video.should_send(time.monotonic(), user_speaking=user_speaking):
            self._video_task = self._service.create_task(self._send_image(frame), "encode_image")

    async def _send_image(self, frame: InputImageRawFrame) -> None:
        try:
            jpeg = await asyncio.to_thread(
                encode_jpeg, frame.image, frame.size, frame.format, self._video.settings
            )
        except ImageFormatError as error:
            await self.report_unusable("image frame", error)
            return
        await self._service.send_to_model(protocol.realtime_video(jpeg))

    async def local_user_started(self) -> None:
        """Pipecat's VAD decided the user started (the server's VAD is off)."""
        send = self._service.send_to_model
        await send(protocol.activity_start())
        # Pipecat's VAD fires after the speech began; the server ignored that audio (it came
        # before activityStart), so it goes again inside the activity.
        while self._preroll:
            await send(protocol.realtime_audio(self._preroll.popleft()))

    async def local_user_stopped(self) -> None:
        send = self._service.send_to_model
        for chunk in self._converter.flush():
            await send(protocol.realtime_audio(chunk))
        self._preroll.clear()
        await send(protocol.activity_end())

    async def report_unusable(self, what: str, error: Exception) -> None:
        """One ErrorFrame per kind of bad input frame, not one per frame (a camera or a
        transport sends the same bad frame many times a second)."""
        if str(error) not in self._reported:
            self._reported.add(str(error))
            await self._service.push_error(error_msg=f"{self._service}: unusable {what}: {error}")
