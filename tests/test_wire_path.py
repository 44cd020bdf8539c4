"""The audio hot path at the socket: one frame, built once, that the server reads as the JSON it was.

The service writes audio frames itself (websockets' own send costs a system call per frame
for its mask and several layers of framing, 20 times a second); whatever the server sees must
be what websockets would have sent: text frames, the same bytes, a fresh mask each time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets.frames
from websockets.asyncio.server import serve
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from pipecat_gemini_live import protocol
from pipecat_gemini_live.connection import Connection, MaskKeys, text_frame


class Listener:
    """A bare WebSocket server: answers the setup, then keeps every message as it arrived."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.got = asyncio.Event()

    async def handler(self, ws: Any) -> None:
        await ws.recv()  # the setup
        await ws.send('{"setupComplete":{}}')
        async for message in ws:
            self.messages.append(message)
            self.got.set()


async def connected(listener: Listener, server: Any) -> Connection:
    port = next(iter(server.sockets)).getsockname()[1]
    connection = await Connection.open(
        f"ws://127.0.0.1:{port}/", {}, open_timeout=5, ping_interval=None, ping_timeout=None
    )
    await connection.set_up(protocol.realtime_text("setup"), 5)
    return connection


async def until(listener: Listener, count: int) -> None:
    while len(listener.messages) < count:
        listener.got.clear()
        await asyncio.wait_for(listener.got.wait(), 5)


async def test_audio_arrives_as_text_frames_holding_the_json_it_was_made_as():
    listener = Listener()
    async with serve(listener.handler, "127.0.0.1", 0, max_size=None) as server:
        connection = await connected(listener, server)
        # Payloads of each length class of a frame header: 7-bit, 16-bit and 64-bit.
        chunks = [b"", bytes(range(256)) * 6 + b"\x01\x02", b"\x7f\xff" * 40000]
        for pcm in chunks:
            await connection.send(protocol.realtime_audio(pcm, sample_rate=24000))
        await until(listener, len(chunks))
        await connection.close()

    for pcm, message in zip(chunks, listener.messages, strict=True):
        assert isinstance(message, str)  # a text frame, as websockets' send(str) makes
        assert json.loads(message) == json.loads(protocol.realtime_audio(pcm, 24000).encode())
        assert json.loads(message)["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=24000"


async def test_audio_behind_unsent_bytes_goes_through_websockets_in_order():
    """With a backlog in the transport (a slow network), websockets' send does the writing,
    so its flow control applies; the server still reads text frames, in order."""
    listener = Listener()
    async with serve(listener.handler, "127.0.0.1", 0, max_size=None) as server:
        connection = await connected(listener, server)
        ws = connection.raw
        through_websockets = []
        send = ws.send

        async def counted(message: Any, **kwargs: Any) -> None:
            through_websockets.append(message)
            await send(message, **kwargs)

        ws.send = counted
        await connection.send(protocol.realtime_audio(b"\x01\x00"))
        ws.transport.get_write_buffer_size = lambda: 1  # as if bytes were still waiting
        await connection.send(protocol.realtime_audio(b"\x02\x00"))
        del ws.transport.get_write_buffer_size
        await connection.send(protocol.realtime_audio(b"\x03\x00"))
        await until(listener, 3)
        await connection.close()

    assert [json.loads(m)["realtimeInput"]["audio"]["data"] for m in through_websockets] == ["AgA="]
    datas = [json.loads(m)["realtimeInput"]["audio"]["data"] for m in listener.messages]
    assert datas == ["AQA=", "AgA=", "AwA="]
    assert all(isinstance(m, str) for m in listener.messages)


def test_a_frame_is_byte_for_byte_what_websockets_writes(monkeypatch):
    mask = b"\x11\x22\x33\x44"
    monkeypatch.setattr(websockets.frames.secrets, "token_bytes", lambda n: mask)
    for length in (0, 5, 125, 126, 65535, 65536, 70000):
        payload = bytes(i % 251 for i in range(length))
        expected = Frame(Opcode.TEXT, payload).serialize(mask=True, extensions=[])
        assert text_frame(payload, mask) == expected, length


def test_every_frame_gets_its_own_mask_across_refills():
    keys = MaskKeys()
    taken = [keys.take() for _ in range(600)]  # more than one draw of 256
    assert all(len(key) == 4 for key in taken)
    assert len(set(taken)) > 590  # random 32-bit keys: a repeat or two at most


async def test_a_socket_websockets_is_closing_takes_no_frame_from_us(monkeypatch):
    """Closing (our close frame sent, or the transport shutting): websockets' send decides
    (it raises ConnectionClosed, and the session keeps the message for the next connection),
    so no data frame follows a close frame on the wire."""
    listener = Listener()
    async with serve(listener.handler, "127.0.0.1", 0, max_size=None) as server:
        connection = await connected(listener, server)
        ws = connection.raw
        through_websockets: list[Any] = []
        written: list[bytes] = []

        async def kept(message: Any, **kwargs: Any) -> None:
            through_websockets.append(message)

        monkeypatch.setattr(ws, "send", kept)
        monkeypatch.setattr(ws.transport, "write", written.append)
        monkeypatch.setattr(ws.protocol, "state", State.CLOSING)
        await connection.send(protocol.realtime_audio(b"\x01\x00"))
        monkeypatch.setattr(ws.protocol, "state", State.OPEN)
        monkeypatch.setattr(ws.transport, "is_closing", lambda: True)
        await connection.send(protocol.realtime_audio(b"\x02\x00"))
        monkeypatch.undo()
        await connection.close()

    assert written == []
    datas = [json.loads(m)["realtimeInput"]["audio"]["data"] for m in through_websockets]
    assert datas == ["AQA=", "AgA="]
