"""The pytest plugin's fixtures, and the slower faults: stalls and added latency."""

from __future__ import annotations

import asyncio
import json
import time

from websockets.asyncio.client import connect

from pipecat_gemini_live.emulator import LiveEmulator


async def setup_connection(emu: LiveEmulator):
    ws = await connect(emu.ws_url, additional_headers={"x-goog-api-key": "test-key"})
    await ws.send(json.dumps({"setup": {"model": "models/gemini-3.8-live"}}))
    assert json.loads(await ws.recv()) == {"setupComplete": {}}
    # 3.8 sends a resumption handle at once, asked for or not (as recorded).
    assert json.loads(await ws.recv())["sessionResumptionUpdate"]["resumable"] is True
    return ws


async def test_the_plugin_fixture_is_a_running_emulator(gemini_live_emulator):
    ws = await setup_connection(gemini_live_emulator)
    await ws.close()
    assert gemini_live_emulator.sessions[0].model == "gemini-3.8-live"


async def test_the_factory_fixture_takes_settings(gemini_live_emulator_factory):
    emu = await gemini_live_emulator_factory(api_key="other-key", pace=2.0)
    assert emu.api_key == "other-key" and emu.pace == 2.0 and emu.port > 0


async def test_a_stall_holds_every_message_then_the_connection_carries_on():
    async with LiveEmulator() as emu:
        ws = await setup_connection(emu)
        session = await emu.wait_for_session()
        emu.stall(0.5)
        started = time.monotonic()
        await ws.send(json.dumps({"realtimeInput": {"text": "are you there?"}}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert time.monotonic() - started >= 0.45
        while not reply:  # 3.8 opens a reply with a bare {}
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert "serverContent" in reply and session.texts_received == ["are you there?"]
        await ws.close()


async def test_added_latency_delays_each_server_message():
    async with LiveEmulator() as emu:
        ws = await setup_connection(emu)
        emu.latency = 0.2
        started = time.monotonic()
        await ws.send(json.dumps({"realtimeInput": {"text": "hi"}}))
        await asyncio.wait_for(ws.recv(), 5)
        assert time.monotonic() - started >= 0.19
        await ws.close()
