"""The user's side of the conversation as Pipecat frames: VAD frames, turn frames, transcripts.

- ``VADUserStarted/StoppedSpeakingFrame`` come from the audio this service sends (its level,
  chunk by chunk, decided as Pipecat's VAD decides, ``stop_secs`` 0.2): Pipecat's latency
  observer then measures from the true end of the user's speech, on every model, whether or not
  the server reports voice activity.
- ``UserStartedSpeakingFrame`` comes at the onset: the server's ``voiceActivity`` start (3.8),
  or the onset in the audio sent (models that report none), or at the latest the server's
  barge-in or first transcript. ``UserStoppedSpeakingFrame`` comes when the server ends the
  turn (its voice activity end, or the reply's start). A sound the server never answers (a
  cough) is closed again after a while.
- Each sentence of the user's transcript goes out once, as a broadcast pair: the upstream copy
  for the user aggregator, the downstream one for observers; RTVI reports it once.

With the server's VAD off, Pipecat's own VAD and turn strategies make all of these, and this
room only follows.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from pipecat.frames.frames import (
    InterimTranscriptionFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.utils.time import time_now_iso8601

from pipecat_gemini_live.metrics import VoiceMeter
from pipecat_gemini_live.turns import TurnTracker

if TYPE_CHECKING:
    from pipecat_gemini_live.service import GeminiLiveService

VAD_STOP_SECS = 0.2  # as Pipecat's VAD (VAD_STOP_SECS)
UNANSWERED_SECONDS = 3.0  # a sound the server has not made a turn of by then was not one


class UserTurnFrames:
    def __init__(self, service: GeminiLiveService, turns: TurnTracker, chunk_seconds: float):
        self._service = service
        self._turns = turns
        self._chunk_seconds = chunk_seconds
        self._meter = VoiceMeter(stop_secs=VAD_STOP_SECS)
        self._timer: asyncio.TimerHandle | None = None

    async def chunk_sent(self, voiced: bool, sent_at: float) -> None:
        """One chunk of the user's audio went to the model (``sent_at``: ``time.time()``)."""
        if self._service.local_turns:
            return  # Pipecat's VAD speaks for the audio
        if voiced:
            if self._meter.voiced(sent_at, self._chunk_seconds):
                await self._service.broadcast_frame(
                    VADUserStartedSpeakingFrame, start_secs=self._chunk_seconds, timestamp=sent_at
                )
                await self._service.apply(self._turns.on_local_onset())
            self._arm(VAD_STOP_SECS + 0.01, self._check_quiet)
        else:
            await self._check_quiet()

    async def _check_quiet(self) -> None:
        now = time.time()
        last = self._meter.last_voiced_at
        if last is not None and self._meter.quiet(now):
            await self._service.broadcast_frame(
                VADUserStoppedSpeakingFrame, stop_secs=now - last, timestamp=now
            )
            self._arm(UNANSWERED_SECONDS, self._check_unanswered)

    async def _check_unanswered(self) -> None:
        if not self._meter.speaking:
            await self._service.apply(self._turns.on_speech_unanswered())

    async def started(self) -> None:
        if not self._service.local_turns:
            await self._service.broadcast_frame(UserStartedSpeakingFrame)

    async def stopped(self) -> None:
        if not self._service.local_turns:
            await self._service.broadcast_frame(UserStoppedSpeakingFrame)

    async def sentence(self, text: str) -> None:
        await self._service.broadcast_frame(
            TranscriptionFrame, finalized=True, **self._transcript(text)
        )

    async def interim(self, text: str) -> None:
        await self._service.broadcast_frame(InterimTranscriptionFrame, **self._transcript(text))

    def _transcript(self, text: str) -> dict[str, Any]:
        return {
            "text": text,
            "user_id": "user",
            "timestamp": time_now_iso8601(),
            "language": self._service.language,
        }

    def _arm(self, delay: float, check: Any) -> None:
        """Run ``check`` after ``delay`` unless the user speaks again first (Pipecat's task
        manager holds the task it runs in)."""
        self.close()
        self._timer = asyncio.get_running_loop().call_later(
            delay, lambda: self._service.create_task(check(), "user_turn_check")
        )

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
