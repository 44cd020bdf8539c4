"""Input audio for the peer clients, in the standard library only (the peers venv has neither
this package nor the main test kit): voiced, speech-like PCM16 that the emulator's energy VAD
hears as speech, and silence that ends the turn. The same signal as ``tests.pipeline_kit.speech``
in spirit: harmonics of a wandering pitch under a syllable envelope."""

from __future__ import annotations

import math
import random
import sys
from array import array

RATE = 16000


def speech(seconds: float, seed: int = 0, rate: int = RATE) -> bytes:
    phase0 = random.Random(seed).uniform(0, 6)
    samples = array("h")
    phase = 0.0
    for n in range(int(seconds * rate)):
        t = n / rate
        pitch = 140 + 30 * math.sin(2 * math.pi * 0.7 * t + phase0)
        phase += 2 * math.pi * pitch / rate
        voice = sum(math.sin(k * phase) / k for k in range(1, 6))
        envelope = 0.55 + 0.45 * abs(math.sin(2 * math.pi * 2.5 * t))
        samples.append(int(0.25 * 32767 * voice / 2.3 * envelope))
    if sys.byteorder == "big":
        samples.byteswap()  # the wire wants little-endian
    return samples.tobytes()


def silence(seconds: float, rate: int = RATE) -> bytes:
    return bytes(2 * int(seconds * rate))
