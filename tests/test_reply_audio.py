"""The bot's audio as frames: one TTSAudioRawFrame per server audio chunk, in whole samples."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pipecat.frames.frames import TTSAudioRawFrame

from pipecat_gemini_live.events import AudioChunk
from pipecat_gemini_live.metrics import SpeechClock
from pipecat_gemini_live.reply import ReplyEmitter


class Service:
    """What the emitter needs of the service: somewhere to push frames."""

    def __init__(self) -> None:
        self.pushed: list[Any] = []
        self.session_config = SimpleNamespace(text_output=False, model="m")

    async def push_frame(self, frame: Any, direction: Any = None) -> None:
        self.pushed.append(frame)


async def test_a_sample_split_across_server_chunks_is_joined_and_nothing_is_lost():
    service = Service()
    reply = ReplyEmitter(service, SpeechClock(), model="m", prices=None)  # type: ignore[arg-type]
    chunks = (b"\x01\x02\x03", b"\x04\x05", b"\x06\x07\x08", b"\x09", b"\x0a", b"\x0b\x0c")
    for data in chunks:
        await reply.audio(AudioChunk(data, 24000))
    audio = [f.audio for f in service.pushed if isinstance(f, TTSAudioRawFrame)]
    assert audio == [b"\x01\x02", b"\x03\x04", b"\x05\x06\x07\x08", b"\x09\x0a", b"\x0b\x0c"]
    assert all(f.sample_rate == 24000 and f.num_channels == 1 for f in service.pushed)


async def test_a_half_sample_left_at_the_end_of_a_reply_does_not_reach_the_next_one():
    service = Service()
    reply = ReplyEmitter(service, SpeechClock(), model="m", prices=None)  # type: ignore[arg-type]
    await reply.audio(AudioChunk(b"\x01\x02\x03", 24000))
    await reply.ended()
    await reply.audio(AudioChunk(b"\x04\x05", 24000))
    audio = [f.audio for f in service.pushed if isinstance(f, TTSAudioRawFrame)]
    assert audio == [b"\x01\x02", b"\x04\x05"]
