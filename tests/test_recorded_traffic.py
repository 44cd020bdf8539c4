"""Google's own recorded frames, replayed to GeminiLiveService in a real Pipecat pipeline.

Each recording in ``tests/recorded/`` is played back by the emulator's replay mode: the server's
frames exactly as Google sent them, in order, waiting where the recorded client spoke until this
client has done the same. The pipeline is driven with what the recorded client sent (its
history, its questions, its audio, its tool results), and everything the client should have got
is read off the recording (:mod:`tests.recorded_kit`): every audio byte, both transcripts, each
tool call run once with its id and arguments and answered once, the usage, and nothing spoken
of the model's thoughts. No error and no warning may come out of it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    ErrorFrame,
    InputImageRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData
from pipecat.processors.aggregators.llm_context import LLMContext

from pipecat_gemini_live import GeminiLiveService, VertexSettings
from pipecat_gemini_live.emulator import LiveEmulator
from pipecat_gemini_live.recording import CUT_MEDIA_CHARS, Recording
from tests.pipeline_kit import Bot, running_bot, silence, speech
from tests.recorded_kit import (
    b64,
    expected_from,
    normalised,
    recordings,
    setup_of,
    text_of,
)


class _Credentials:
    """Stands in for Google credentials: the replay server takes any bearer token."""

    valid = True
    token = "replay-token"
    quota_project_id = None


def service_for(recording: Recording, base_url: str) -> GeminiLiveService:
    setup = setup_of(recording)
    instruction = text_of(setup.get("systemInstruction") or {}) or None
    kwargs: dict[str, Any] = {
        "base_url": base_url,
        "model": recording.model_id,
        "system_instruction": instruction,
        "tools": _tools(setup),
    }
    if recording.endpoint == "vertex":
        parts = recording.model.split("/")
        project = parts[1] if parts[0] == "projects" else None
        location = parts[3] if parts[0] == "projects" else "us-central1"
        credentials = _Credentials() if project else None
        kwargs["vertex"] = VertexSettings(project, location, credentials)
        if not project:
            kwargs["api_key"] = "replay-key"
    else:
        kwargs["api_key"] = "replay-key"
    return GeminiLiveService(**kwargs)


def _tools(setup: dict[str, Any]) -> ToolsSchema | None:
    schemas = []
    for tool in setup.get("tools") or []:
        for function in tool.get("functionDeclarations") or []:
            parameters = (
                function.get("parameters")
                or function.get("parametersJsonSchema")
                or function.get("parameters_json_schema")
                or {}
            )
            schemas.append(
                FunctionSchema(
                    function["name"],
                    function.get("description") or function["name"],
                    parameters.get("properties") or {},
                    parameters.get("required") or [],
                )
            )
    return ToolsSchema(standard_tools=schemas) if schemas else None


async def drive(bot: Bot, recording: Recording) -> None:
    """Send what the recorded client sent: history and questions as Pipecat context, spoken
    turns as microphone audio (the recorded audio itself where it is whole), images as a
    camera frame. A turn the recorded client sent after a reply waits for that reply here too."""
    history: list[dict[str, Any]] = []
    seeded = False
    turns_done = 0  # turnCompletes the recorded server had sent before this client message
    audio: list[str] = []
    for item in [*recording.interactions, None]:
        message = {} if item is None else item.data
        realtime = message.get("realtime_input") or message.get("realtimeInput") or {}
        if audio and "audio" not in realtime:  # the end of a run of audio messages
            whole = all(len(data) > CUT_MEDIA_CHARS for data in audio)
            pcm = b"".join(b64(data) for data in audio) if whole else speech(2.0)
            await bot.say(pcm[: len(pcm) // 2 * 2] + silence(1.0), speed=20.0)
            audio = []
        if item is None:
            break
        if item.direction == "received":
            turns_done += bool((message.get("serverContent") or {}).get("turnComplete"))
            continue
        content = message.get("client_content") or message.get("clientContent")
        if content is not None:
            for turn in content.get("turns") or []:
                role = "assistant" if turn.get("role") == "model" else "user"
                history.append({"role": role, "content": text_of(turn)})
            if content.get("turnComplete", content.get("turn_complete")):
                if not seeded:
                    await bot.worker.queue_frame(LLMContextFrame(LLMContext(list(history))))
                    seeded = True
                else:
                    await bot.wait_for(lambda n=turns_done: len(_usage_frames(bot)) >= n)
                    await bot.worker.queue_frame(LLMMessagesAppendFrame(history, run_llm=True))
                history = []
        elif "video" in realtime:
            image = bytes(range(48)) * 256  # 64 x 64 RGB
            await bot.worker.queue_frame(InputImageRawFrame(image, (64, 64), "RGB"))
        elif "audio" in realtime:
            audio.append(realtime["audio"]["data"])


def _usage_frames(bot: Bot) -> list[Any]:
    return [
        d.value
        for m in bot.tail.frames(MetricsFrame)
        for d in m.data
        if isinstance(d, LLMUsageMetricsData)
    ]


@pytest.mark.parametrize("path", recordings(), ids=lambda p: p.stem[:60])
async def test_a_recorded_call_replays_with_every_byte_word_call_and_token(path):
    recording = Recording.load(path)
    expected = expected_from(recording)
    problems: list[str] = []
    sink = logger.add(
        lambda message: problems.append(str(message)),
        level="WARNING",
        filter="pipecat_gemini_live",
    )
    calls: list[dict[str, Any]] = []
    try:
        async with LiveEmulator.replay(recording) as emu:
            llm = service_for(recording, emu.base_url)
            for name, response in expected.tool_results.items():

                async def handler(params, response=response):
                    call = {"name": params.function_name, "args": dict(params.arguments)}
                    calls.append({"id": params.tool_call_id, **call})
                    await params.result_callback(response)

                llm.register_function(name, handler)
            async with running_bot([llm]) as bot:
                await drive(bot, recording)
                session = await emu.wait_for_session()
                await emu.wait_until(lambda: session.replay_finished, 20)
                await bot.wait_for(lambda: len(_usage_frames(bot)) >= expected.turns_completed, 10)
                await asyncio.sleep(0.1)  # anything still on its way down the pipeline
    finally:
        logger.remove(sink)

    assert session.replay_errors == []
    audio = b"".join(f.audio for f in bot.tail.frames(TTSAudioRawFrame))
    assert len(audio) == len(expected.delivered_audio)
    assert audio == expected.delivered_audio
    assert {(f.sample_rate, f.num_channels) for f in bot.tail.frames(TTSAudioRawFrame)} <= {
        (24000, 1)
    }
    heard = "".join(f.text for f in bot.tail.frames(TranscriptionFrame))
    assert normalised(heard) == normalised(expected.input_transcript)
    spoken = "".join(f.text for f in bot.tail.frames(TTSTextFrame))
    assert normalised(spoken) == normalised(expected.output_transcript)
    said = spoken + "".join(f.text for f in bot.tail.frames(LLMTextFrame))
    assert not any(thought.strip()[:20] in said for thought in expected.thoughts)
    assert calls == expected.tool_calls
    for call in expected.tool_calls:
        (answer,) = session.tool_responses[call["id"]]
        assert answer["name"] == call["name"]
    assert len(bot.tail.frames(InterruptionFrame)) == expected.interruptions
    usage = _usage_frames(bot)
    assert len(usage) == expected.turns_completed
    assert sum(u.prompt_tokens for u in usage) == expected.usage["prompt"]
    assert sum(u.completion_tokens for u in usage) == expected.usage["response"]
    assert sum(u.total_tokens for u in usage) == expected.usage["total"]
    assert llm.usage.total_tokens == expected.usage["total"]
    assert not bot.tail.frames(ErrorFrame) and not bot.head.frames(ErrorFrame)
    assert problems == []
