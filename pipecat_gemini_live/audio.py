"""Streaming audio conversion: any-rate mono/stereo PCM16 in, 16 kHz mono fixed chunks out.

Resampling each frame on its own clicks at every frame boundary, so the converter keeps the
resampler's filter state between frames (``soxr.ResampleStream``, as Pipecat's own streaming
resampler does) and carries partial samples over instead of dropping or padding them.

The resampler runs at soxr's ``LQ`` setting: a 16-bit anti-aliasing filter (images and aliases
-87 dB, flat to 6 kHz, -13 dB at 7 kHz; the output is PCM16, so more precision is below its
noise). The sharper ``MQ``/``HQ``/``VHQ`` filters emit output in blocks of about 30 ms, so a
chunk often waits for the next input frame: at 48 kHz that costs about 16 ms of mean latency
(35 ms at 8 kHz) and a quarter more resampler calls. ``LQ`` emits with each input frame,
behind its filter's delay of about 12 ms (some 200 samples at 16 kHz): at 48 kHz a chunk
that ends near a frame's end still waits for the next frame (the benchmark's 20 ms).
"""

from __future__ import annotations

import io
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

with warnings.catch_warnings():  # Python 3.11-3.12 warn; 3.13+ get it from audioop-lts
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # one C call per level, where numpy takes four (Pipecat uses it too)

RESAMPLER_QUALITY = "LQ"  # why: see the module docstring


class AudioFormatError(ValueError):
    """Audio that cannot be converted; the message says what was wrong and what to send."""


@dataclass(frozen=True)
class InputIssue:
    """Something odd about the input that was handled, reported once for the caller to log."""

    kind: str
    message: str


class InputAudioConverter:
    """Any-rate, any-channel PCM16 frames in -> fixed-size 16 kHz mono PCM16 chunks out."""

    def __init__(self, *, target_rate: int = 16000, chunk_ms: int = 40) -> None:
        if not isinstance(chunk_ms, int) or not 10 <= chunk_ms <= 1000:
            raise AudioFormatError(
                f"chunk_ms must be a whole number from 10 to 1000, got {chunk_ms!r}."
            )
        if target_rate * chunk_ms % 1000:
            raise AudioFormatError(
                f"chunk_ms={chunk_ms} does not give a whole number of samples at {target_rate} Hz."
            )
        self.target_rate = target_rate
        self.chunk_ms = chunk_ms
        self._chunk_bytes = 2 * target_rate * chunk_ms // 1000
        self._out = bytearray()
        self._leftover = b""  # bytes of an incomplete input sample frame, kept for the next push
        # Whole input sample frames not converted yet: conversion waits until they would
        # complete a chunk, so the resampler runs about once per chunk, not once per frame
        # (each call costs more than the samples in it at 48 kHz), without delaying any chunk.
        self._pending = bytearray()
        self._source: tuple[int, int] | None = None  # (rate, channels) of the current stream
        self._resampler: soxr.ResampleStream | None = None
        self._issues: list[InputIssue] = []
        self._reported: set[str] = set()

    @property
    def chunk_bytes(self) -> int:
        return self._chunk_bytes

    @property
    def pending_bytes(self) -> int:
        """Audio held back (converted or not) until it makes a whole chunk; 0 after a flush."""
        return len(self._out) + len(self._pending)

    def push(self, audio: bytes, sample_rate: int, num_channels: int) -> list[bytes]:
        """Convert one frame; returns the complete chunks it made (possibly none)."""
        if (
            type(sample_rate) is int
            and type(num_channels) is int
            and not self._leftover
            and (sample_rate, num_channels) == self._source
            and isinstance(audio, (bytes, bytearray, memoryview))
            and not len(audio) % (2 * num_channels)
        ):
            # The steady state: whole samples of the format already streaming.
            return self._push_whole(audio, sample_rate, num_channels)
        if not isinstance(audio, (bytes, bytearray, memoryview)):
            raise AudioFormatError(f"audio must be PCM16 bytes, got {type(audio).__name__}.")
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise AudioFormatError(
                f"sample_rate must be a positive number of Hz, got {sample_rate!r}."
            )
        if not isinstance(num_channels, int) or num_channels <= 0:
            raise AudioFormatError(f"num_channels must be 1 or more, got {num_channels!r}.")

        source = (sample_rate, num_channels)
        if self._source is not None and source != self._source:
            self._note(
                "format_changed",
                f"input changed from {self._source[0]} Hz x{self._source[1]} to "
                f"{sample_rate} Hz x{num_channels} mid-stream; converting the new format",
            )
            self._convert_pending()
            self._drain_resampler()
            self._leftover = b""
        if self._source != source:
            self._source = source
            self._resampler = (
                soxr.ResampleStream(
                    sample_rate, self.target_rate, 1, dtype="int16", quality=RESAMPLER_QUALITY
                )
                if sample_rate != self.target_rate
                else None
            )

        data = self._leftover + bytes(audio) if self._leftover else audio
        frame_bytes = 2 * num_channels
        usable = len(data) - len(data) % frame_bytes
        if usable != len(data):
            self._note(
                "partial_frame",
                f"a frame of {len(audio)} bytes is not a whole number of {num_channels}-channel "
                "PCM16 samples; the remainder is kept and joined to the next frame",
            )
        self._leftover = bytes(data[usable:])
        if not usable:
            return self._take_chunks()
        whole = data if usable == len(data) else memoryview(data)[:usable]
        return self._push_whole(whole, sample_rate, num_channels)

    def _push_whole(
        self, whole: bytes | bytearray | memoryview, sample_rate: int, num_channels: int
    ) -> list[bytes]:
        if self._resampler is None and num_channels == 1 and not self._pending:
            self._out += whole  # already 16 kHz mono
        else:
            self._pending += whole
            needed = self._chunk_bytes - len(self._out)
            expected = len(self._pending) // num_channels * self.target_rate // sample_rate
            if expected >= needed:
                self._convert_pending()
        if len(self._out) < self._chunk_bytes:
            return []  # most frames only top up the next chunk
        return self._take_chunks()

    def flush(self) -> list[bytes]:
        """End of stream: drain the resampler and pad the last chunk with silence."""
        self._convert_pending()
        self._drain_resampler()
        self._leftover = b""
        self._source = None
        self._resampler = None
        chunks = self._take_chunks()
        if self._out:
            self._out.extend(bytes(self._chunk_bytes - len(self._out)))
            chunks.extend(self._take_chunks())
        return chunks

    @property
    def has_issues(self) -> bool:
        return bool(self._issues)

    def take_issues(self) -> list[InputIssue]:
        if not self._issues:
            return []
        issues, self._issues = self._issues, []
        return issues

    def _convert_pending(self) -> None:
        if self._pending and self._source is not None:
            self._convert(memoryview(self._pending), self._source[1])
            self._pending = bytearray()

    def _convert(self, pcm: memoryview, num_channels: int) -> None:
        samples = np.frombuffer(pcm, dtype="<i2")
        if num_channels > 1:
            samples = (
                samples.reshape(-1, num_channels).astype(np.int32).sum(axis=1) // num_channels
            ).astype(np.int16)
        if self._resampler is None:
            self._out += samples.tobytes() if num_channels > 1 else pcm
        else:
            # Given a column, soxr returns one (no squeeze); its bytes are the samples in order.
            self._out += self._resampler.resample_chunk(samples[:, np.newaxis]).tobytes()

    def _drain_resampler(self) -> None:
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros((0, 1), np.int16), last=True)
            self._out += tail.tobytes()

    def _take_chunks(self) -> list[bytes]:
        size = self._chunk_bytes
        count = len(self._out) // size
        if not count:
            return []
        chunks = [bytes(self._out[i * size : (i + 1) * size]) for i in range(count)]
        del self._out[: count * size]
        return chunks

    def _note(self, kind: str, message: str) -> None:
        if kind not in self._reported:
            self._reported.add(kind)
            self._issues.append(InputIssue(kind, message))


def pcm16_rms(chunk: bytes) -> float:
    """Root-mean-square level of mono PCM16 (0 to 32768)."""
    return float(audioop.rms(chunk[: len(chunk) - len(chunk) % 2], 2))


def wav_bytes(pcm: bytes, sample_rate: int, num_channels: int = 1) -> bytes:
    """PCM16 -> the bytes of a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(num_channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def read_wav(path: str | Path) -> tuple[bytes, int, int]:
    """A PCM16 WAV file -> (pcm, sample_rate, num_channels)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise AudioFormatError(
                    f"{path} has {8 * wav.getsampwidth()}-bit samples; convert it to 16-bit PCM "
                    "(e.g. sox in.wav -b 16 out.wav)."
                )
            return wav.readframes(wav.getnframes()), wav.getframerate(), wav.getnchannels()
    except wave.Error as error:
        raise AudioFormatError(f"{path} is not a PCM WAV file: {error}") from None
