"""Speaking one reply onto the wire, as the session's profile shapes it.

Audio goes out in ``chunk_ms`` pieces, faster than real time by the profile's
``generation_speedup`` (the real server generates ahead of playback), with the output
transcript as separate messages (2.5), riding on the audio (3.x), or all before the audio
(Vertex). The speaker also keeps the server's estimate of the client's playout: where a client
playing each chunk as it arrives would be, which is how long ``turnComplete`` is held.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.behaviour import OUTPUT_RATE, Speech, synthesize
from pipecat_gemini_live.emulator.records import EmulatedSession

BURST = 8  # chunks per burst in "bursty" output mode


class Outbox(Protocol):
    """Sends on the session's current connection; False when there is none (the words are
    lost, as on the real service)."""

    async def send(self, data: bytes) -> bool: ...


class Speaker:
    def __init__(
        self,
        session: EmulatedSession,
        outbox: Outbox,
        *,
        pace: float,
        chunk_ms: int,
        mode: str,
        record: bool,
    ) -> None:
        self.session = session
        self.profile = session.profile
        self.out = outbox
        self.pace = pace
        self.chunk_bytes = OUTPUT_RATE * 2 * chunk_ms // 1000
        self.mode = mode
        self.record = record
        self._playout_end = 0.0

    async def speak(
        self,
        text: str,
        record: dict[str, Any],
        *,
        continuing: bool = False,
        speech: Speech | None = None,
    ) -> float:
        """Say ``text`` (in ``speech``'s voice if given); returns the seconds of audio sent.

        ``continuing``: more of a reply already under way (its transcript starts with a space,
        as Google's transcription chunks do).
        """
        if not text:
            return 0.0
        setup = self.session.setup
        modalities = (setup.get("generation_config") or {}).get("response_modalities")
        if modalities == ["TEXT"]:
            await self.out.send(wire.server_content(modelTurn={"parts": [{"text": text}]}))
            return 0.0
        audio, words = speech if speech is not None else synthesize(text)
        transcribe = "output_audio_transcription" in setup
        shape = self.profile.output_transcript
        lead = " " if continuing else ""
        if transcribe and shape == "upfront":
            await self._transcript_upfront(lead + "".join(word for word, _ in words))
        next_word = 0
        for offset in range(0, len(audio), self.chunk_bytes):
            piece = audio[offset : offset + self.chunk_bytes]
            spoken = ""
            if transcribe and shape != "upfront":
                while next_word < len(words) and words[next_word][1] < offset + len(piece):
                    spoken += words[next_word][0]
                    next_word += 1
                if spoken:
                    spoken, lead = lead + spoken, ""
            if spoken and shape == "separate":
                await self.out.send(wire.server_content(outputTranscription={"text": spoken}))
            await self._send_audio(piece, spoken if shape == "combined" else "", record)
            await self._pace(len(piece) / 2 / OUTPUT_RATE, chunk_index=offset // self.chunk_bytes)
        if transcribe and self.profile.transcript_finished == "after_audio":
            await self.finish_transcript()
        return len(audio) / 2 / OUTPUT_RATE

    async def _transcript_upfront(self, transcript: str) -> None:
        """Vertex: the whole transcript (in two pieces, as recorded) before the audio."""
        first, _, rest = transcript.partition(" ")
        for piece in (first, " " + rest if rest else ""):
            if piece:
                await self.out.send(wire.server_content(outputTranscription={"text": piece}))
        if self.profile.transcript_finished == "after_transcript":
            await self.finish_transcript()

    async def finish_transcript(self) -> None:
        await self.out.send(wire.server_content(outputTranscription={"finished": True}))

    async def _send_audio(self, pcm: bytes, transcript: str, record: dict[str, Any]) -> None:
        profile = self.profile
        if profile.empty_frames:
            await self.out.send(b"{}")
        message = wire.audio_message(
            pcm, mime=profile.audio_mime, role=profile.model_turn_role, transcript=transcript
        )
        if not await self.out.send(message):
            return
        now = time.monotonic()
        record.setdefault("first_audio_at", now)
        record["audio_bytes_sent"] += len(pcm)
        if self.session.connection_log:
            connection = self.session.connection_log[-1]
            connection.audio_bytes_sent += len(pcm)
            if self.record:
                connection.output_audio.extend(pcm)
        if self.pace > 0:
            seconds = len(pcm) / 2 / OUTPUT_RATE
            self._playout_end = max(self._playout_end, now) + seconds / self.pace

    async def _pace(self, seconds: float, chunk_index: int) -> None:
        """Steady: one chunk per chunk duration (sped up as the model is). Bursty: ``BURST``
        chunks at once, then a pause as long as they last (the real service sometimes
        delivers audio like that)."""
        if self.pace <= 0:
            await asyncio.sleep(0)
        elif self.mode == "bursty":
            pause = BURST * seconds / self.pace if (chunk_index + 1) % BURST == 0 else 0.0
            await asyncio.sleep(pause)
        else:
            await asyncio.sleep(seconds / (self.pace * self.profile.generation_speedup))

    async def wait_for_playout(self) -> None:
        """Until a client playing the audio as it came would have finished it."""
        remaining = self._playout_end - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)

    def reset_playout(self) -> None:
        self._playout_end = 0.0
