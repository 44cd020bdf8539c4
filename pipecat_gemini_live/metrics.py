"""Latency and usage bookkeeping, pure.

TTFB here is what a caller hears: from the end of the user's speech (the last voiced audio
the service sent) to the first byte of the reply's audio, measured on every turn. Usage is
reported once per model turn: the server may repeat a growing snapshot within a turn, so the
largest snapshot of the turn is the turn's usage and summing turns never double counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.metrics.metrics import LLMTokenUsage

from pipecat_gemini_live.events import Usage

# A 16 kHz PCM16 chunk whose RMS is above this counts as speech (about -36 dBFS).
SPEECH_RMS_THRESHOLD = 500.0


@dataclass
class SpeechClock:
    """Tracks when the user last made a sound, from the audio the service sends."""

    last_voiced_at: float | None = None
    voiced_since_reply: bool = False

    def on_chunk_sent(self, rms: float, sent_at: float) -> bool:
        """Note a chunk on its way out; True if it has speech in it."""
        if rms >= SPEECH_RMS_THRESHOLD:
            # A chunk is sent once its last sample has arrived: the user was speaking until
            # (about) the moment it was sent.
            self.last_voiced_at = sent_at
            self.voiced_since_reply = True
            return True
        return False

    def ttfb_start(self) -> float | None:
        """End of the user's speech for the reply that is starting, or None (no speech)."""
        if not self.voiced_since_reply:
            return None
        self.voiced_since_reply = False
        return self.last_voiced_at


class UsageTracker:
    """Collapses usage messages into one figure per model turn."""

    def __init__(self) -> None:
        self._turn: Usage | None = None

    def observe(self, usage: Usage) -> None:
        if self._turn is None or usage.total_tokens >= self._turn.total_tokens:
            self._turn = usage

    def end_turn(self) -> Usage | None:
        """The finished turn's usage (its largest snapshot), or None if none was reported."""
        usage, self._turn = self._turn, None
        return usage


def to_token_usage(usage: Usage) -> LLMTokenUsage:
    return LLMTokenUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.response_tokens,
        total_tokens=usage.total_tokens or usage.prompt_tokens + usage.response_tokens,
        cache_read_input_tokens=usage.cached_tokens or None,
        reasoning_tokens=usage.thoughts_tokens or None,
        input_audio_tokens=usage.prompt_tokens_for("AUDIO"),
        output_audio_tokens=usage.response_tokens_for("AUDIO"),
    )


@dataclass
class VoiceMeter:
    """The user's speech as the audio sent shows it, decided the way Pipecat's VAD does: a
    start at the first voiced chunk, a stop once ``stop_secs`` have passed without one.

    Times are wall-clock seconds (``time.time()``, Pipecat's clock for these frames); a chunk is
    sent when its last sample has arrived, so it spans ``chunk_seconds`` before ``sent_at``.
    """

    stop_secs: float = 0.2
    speaking: bool = False
    onset_at: float | None = None
    last_voiced_at: float | None = None

    def voiced(self, sent_at: float, chunk_seconds: float) -> bool:
        """A chunk with speech in it; True if it starts the user's speech."""
        self.last_voiced_at = sent_at
        if self.speaking:
            return False
        self.speaking = True
        self.onset_at = sent_at - chunk_seconds
        return True

    def quiet(self, now: float) -> bool:
        """Time passes without speech; True if that ends the user's speech."""
        if not self.speaking or self.last_voiced_at is None:
            return False
        if now - self.last_voiced_at < self.stop_secs:
            return False
        self.speaking = False
        return True
