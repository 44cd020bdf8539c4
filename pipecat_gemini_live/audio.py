"""Streaming audio conversion: any-rate mono/stereo PCM16 in, 16 kHz mono fixed chunks out.

Resampling each frame on its own clicks at every frame boundary, so the converter keeps the
filter's state between frames and carries partial samples over instead of dropping or padding
them.

A whole multiple of 16 kHz (48 kHz from WebRTC, 32 kHz, 96 kHz) goes through
:class:`Decimator`: a linear-phase FIR low-pass (flat to 5 kHz, -0.5 dB at 6 kHz, -6 dB at
7 kHz, -26 dB at 8 kHz, aliases from 9 kHz up below -86 dB) that returns one sample for every
``factor`` it is given, so a chunk leaves with the frame that completes it, 0.7 ms behind its
input. Other rates go through soxr's stream resampler (as Pipecat's own) at ``LQ``, a 16-bit
filter (images -87 dB, flat to 6 kHz, -13 dB at 7 kHz) that emits in blocks behind a delay of
about 12 ms (some 200 samples at 16 kHz), so a chunk ending near a frame's end waits for the
next frame; the sharper ``MQ``/``HQ``/``VHQ`` filters hold back about 30 ms.
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

RESAMPLER_QUALITY = "LQ"  # for rates that are not a multiple of 16 kHz; see the docstring


class Decimator:
    """Streaming downsampling by a whole factor (48 -> 16 kHz is 3), by a linear-phase FIR.

    Causal and sample-exact: after ``n`` input samples exactly ``n // factor`` are out, each
    the filter's view of the input up to its own last sample, so the signal comes out
    :attr:`delay_seconds` late but no sample waits for later input. The filter is a Kaiser
    windowed sinc, 24 taps per input sample an output replaces. Outputs are computed
    ``BLOCK`` at a time as one matrix product (each block's stretch of input times the filter
    laid out once per output), which costs less than soxr's call per chunk; one convolution
    per phase would cost three times more.
    """

    TAPS_PER_PHASE = 24
    CUTOFF_HZ = 7000.0  # the -6 dB point, at 16 kHz out (see the module docstring)
    KAISER_BETA = 8.6
    BLOCK = 16

    def __init__(self, factor: int, out_rate: int = 16000) -> None:
        self.factor = factor
        taps = self.TAPS_PER_PHASE * factor
        centred = np.arange(taps) - (taps - 1) / 2
        kernel = np.sinc(2 * self.CUTOFF_HZ / (out_rate * factor) * centred)
        kernel *= np.kaiser(taps, self.KAISER_BETA)
        kernel /= kernel.sum()
        # Output k of a block is the kernel (symmetric: no need to reverse it) over the block's
        # input from factor * k.
        self._stretch = factor * (self.BLOCK - 1) + taps  # input one block reads
        self._matrix = np.zeros((self._stretch, self.BLOCK))
        for k in range(self.BLOCK):
            self._matrix[factor * k : factor * k + taps, k] = kernel
        self._span = taps - factor  # input before an output's own ``factor`` samples
        # Input not used up yet (the filter's history first) is ``_input[_start:_start +
        # _held]``; it moves to the front only when the buffer's end is reached, and the
        # products go to one array too, so a call allocates only what it returns (cold, each
        # numpy call costs more than the arithmetic).
        self._input = np.zeros(self._span + 8192 * factor)
        self._start, self._held = 0, self._span
        self._products = np.zeros((4096 // self.BLOCK, self.BLOCK))
        # Below this peak no output can leave the int16 range (the kernel's negative lobes
        # let a full-scale step overshoot a little); ``_quiet`` counts the newest input
        # samples known to be below it.
        self._safe_peak = int(32767 / np.abs(kernel).sum())
        self._quiet = self._span
        self.delay_seconds = ((taps - 1) / 2 - (factor - 1)) / (out_rate * factor)
        # What a drain feeds: enough silence to bring out the signal still behind the delay.
        self._drain_input = np.zeros(int(np.ceil(self.delay_seconds * out_rate)) * factor, np.int16)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Mono int16 in, mono int16 out; input not making a whole output waits for the next."""
        factor, block, held = self.factor, self.BLOCK, self._held
        total = held + len(samples)
        count = max(0, (total - self._span) // factor)
        blocks = -(-count // block)
        # The last block reads past the input: what lies there (zeros, or input already used)
        # reaches only outputs after ``count``, which are not kept.
        reach = max(total, self._span + factor * block * blocks)
        if self._start + reach > len(self._input):
            kept = self._input[self._start : self._start + held]
            if reach > len(self._input) // 2:
                self._input = np.zeros(4 * reach)
            self._input[:held] = kept
            self._start = 0
        if len(self._products) < blocks:
            self._products = np.zeros((2 * blocks, block))
        buffer, start = self._input, self._start
        buffer[start + held : start + total] = samples
        loud = audioop.max(samples.data, 2) > self._safe_peak  # samples: contiguous int16
        self._quiet = 0 if loud else self._quiet + len(samples)
        used = factor * count
        self._start, self._held = start + used, total - used
        if not count:
            return np.zeros(0, np.int16)
        # Each block's stretch of input as a row of one view (sliding_window_view's result,
        # without its checks, which cost more than the product).
        step = buffer.itemsize
        stretches = np.ndarray(
            (blocks, self._stretch),
            buffer.dtype,
            buffer,
            step * start,
            (step * factor * block, step),
        )
        products = np.matmul(stretches, self._matrix, out=self._products[:blocks])
        out = products.reshape(-1)[:count]
        np.rint(out, out=out)
        if self._quiet < total:  # a loud sample is among those these outputs read
            np.minimum(out, 32767, out=out)
            np.maximum(out, -32768, out=out)
        return out.astype(np.int16)

    def drain(self) -> np.ndarray:
        """The end of the stream: what is still in the filter, behind its delay."""
        return self.process(self._drain_input)


class _SoxrStream:
    """soxr's stream resampler behind :class:`Decimator`'s two methods."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self._stream = soxr.ResampleStream(
            in_rate, out_rate, 1, dtype="int16", quality=RESAMPLER_QUALITY
        )

    def process(self, samples: np.ndarray) -> np.ndarray:
        # Given a column, soxr returns one (no squeeze); its bytes are the samples in order.
        return self._stream.resample_chunk(samples[:, np.newaxis])

    def drain(self) -> np.ndarray:
        return self._stream.resample_chunk(np.zeros((0, 1), np.int16), last=True)


def make_resampler(in_rate: int, out_rate: int) -> Decimator | _SoxrStream | None:
    """The lowest-delay resampler for the pair; None when no resampling is needed."""
    if in_rate == out_rate:
        return None
    if in_rate % out_rate == 0:
        return Decimator(in_rate // out_rate, out_rate)
    return _SoxrStream(in_rate, out_rate)


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
        self._resampler: Decimator | _SoxrStream | None = None
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
            self._resampler = make_resampler(sample_rate, self.target_rate)

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
            self._out += self._resampler.process(samples).tobytes()

    def _drain_resampler(self) -> None:
        if self._resampler is not None:
            self._out += self._resampler.drain().tobytes()

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
