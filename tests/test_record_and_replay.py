"""Record a call, replay it: a real conversation turned into a regression test.

``GeminiLiveService(record_to=...)`` writes every frame of the call with its time, in the format
of the real-traffic recordings; ``LiveEmulator.replay()`` plays the server's side of it back to
a bot, waiting where the recorded client spoke. The bot, given the same input, gets the same
call.
"""

from __future__ import annotations

import json

from pipecat.frames.frames import TranscriptionFrame, TTSAudioRawFrame, TTSTextFrame

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from pipecat_gemini_live.recording import CUT_MEDIA_CHARS, Recording
from tests.pipeline_kit import Bot, running_bot, silence, speech

KEY = "test-secret-key-that-must-never-be-written"
SCRIPT = [
    Reply(
        input_transcript="What is the weather in Oslo?",
        tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})],
        after_tool=Reply(text="It is snowing in Oslo."),
    ),
    Reply(input_transcript="Thanks.", text="You are welcome."),
]


async def a_call(llm: GeminiLiveService) -> tuple[Bot, list[dict]]:
    calls: list[dict] = []

    async def get_weather(params):
        calls.append({"id": params.tool_call_id, "args": dict(params.arguments)})
        await params.result_callback({"sky": "snow"})

    llm.register_function("get_weather", get_weather)
    async with running_bot([llm]) as bot:
        for turn in (1, 2):
            await bot.say(speech(0.8, seed=turn) + silence(0.8), speed=8.0)
            await bot.wait_for(lambda turn=turn: llm.usage.turns == turn, 10)
    return bot, calls


async def test_a_recorded_call_replays_to_a_new_bot_as_it_happened(tmp_path):
    path = tmp_path / "call.json"
    async with LiveEmulator(api_key=KEY, responder=ScriptedResponder(SCRIPT)) as emu:
        llm = GeminiLiveService(api_key=KEY, base_url=emu.base_url, record_to=path)
        first, first_calls = await a_call(llm)

    text = path.read_text()
    assert KEY not in text  # the key travels in a header, and is redacted anywhere else
    recording = Recording.load(path)
    assert recording.model == "models/gemini-3.8-live" and recording.endpoint == "gemini-api"
    kinds = [next(iter(i.data), "{}") for i in recording.interactions]  # 3.8 sends bare {}s
    assert kinds[:2] == ["setup", "setupComplete"] and "toolCall" in kinds
    assert "toolResponse" in kinds and kinds.count("realtimeInput") > 20
    assert all(i.at is not None and i.connection == 1 for i in recording.interactions)

    async with LiveEmulator.replay(path) as replay:
        llm = GeminiLiveService(api_key="any-key", base_url=replay.base_url)
        second, second_calls = await a_call(llm)
        session = replay.sessions[0]
        assert session.replay_errors == []
        await replay.wait_until(lambda: session.replay_finished)

    def heard(bot: Bot) -> tuple[bytes, str, str]:
        return (
            b"".join(f.audio for f in bot.tail.frames(TTSAudioRawFrame)),
            "".join(f.text for f in bot.tail.frames(TranscriptionFrame)),
            "".join(f.text for f in bot.tail.frames(TTSTextFrame)),
        )

    assert heard(second) == heard(first)
    assert heard(first)[2] == "It is snowing in Oslo.You are welcome."
    assert second_calls == first_calls and first_calls[0]["args"] == {"city": "Oslo"}
    (answer,) = session.tool_responses[first_calls[0]["id"]]
    assert answer["response"] == {"sky": "snow"}


async def test_a_recording_can_keep_only_the_start_of_each_payload(tmp_path):
    path = tmp_path / "small.json"
    async with LiveEmulator(api_key=KEY, responder=ScriptedResponder(SCRIPT)) as emu:
        llm = GeminiLiveService(
            api_key=KEY, base_url=emu.base_url, record_to=path, record_audio="cut"
        )
        await a_call(llm)
    payloads = [
        part["inlineData"]["data"]
        for i in Recording.load(path).interactions
        for part in ((i.data.get("serverContent") or {}).get("modelTurn") or {}).get("parts", [])
        if "inlineData" in part
    ] + [
        i.data["realtimeInput"]["audio"]["data"]
        for i in Recording.load(path).interactions
        if "audio" in i.data.get("realtimeInput", {})
    ]
    assert payloads and all(len(data) <= CUT_MEDIA_CHARS for data in payloads)


def test_a_recording_cut_off_by_a_crash_still_loads_to_its_last_whole_frame(tmp_path):
    path = tmp_path / "crashed.json"
    frames = [{"setup": {"model": "models/gemini-3.8-live"}}, {"setupComplete": {}}]
    body = ",\n".join(
        json.dumps({"kind": "message", "direction": d, "at": 0.1, "data": f})
        for d, f in zip(("sent", "received"), frames, strict=True)
    )
    text = '{"model": "models/gemini-3.8-live", "interactions": [\n' + body + ',\n{"kind": "mes'
    path.write_text(text)
    recording = Recording.load(path)
    assert [i.data for i in recording.interactions] == frames
