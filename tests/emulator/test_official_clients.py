"""Wire fidelity: the official google-genai client, unmodified and over TLS, and Pipecat's own
built-in GeminiLiveLLMService hold conversations with the emulator."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from google import genai
from google.genai import errors, types

from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import silence, speech

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def sdk_client(emu: LiveEmulator, key: str = "test-key") -> genai.Client:
    context = ssl.create_default_context(cafile=str(emu.cert_path))
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=emu.base_url, api_version="v1beta", async_client_args={"ssl": context}
        ),
    )


CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
    session_resumption=types.SessionResumptionConfig(),
    tools=[
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(
                    name="get_weather",
                    description="Weather for a city",
                    parameters=types.Schema(
                        type=types.Type.OBJECT,
                        properties={"city": types.Schema(type=types.Type.STRING)},
                    ),
                )
            ]
        )
    ],
)


async def send_audio(session, pcm: bytes) -> None:
    for i in range(0, len(pcm), 3200):
        await session.send_realtime_input(
            audio=types.Blob(data=pcm[i : i + 3200], mime_type="audio/pcm;rate=16000")
        )


async def one_turn(session) -> list[types.LiveServerMessage]:
    """``receive()`` stops after each turnComplete, so a turn is one pass of it."""
    return [message async for message in session.receive()]


async def test_sdk_converses_with_audio_transcripts_tools_barge_in_go_away_and_resumption():
    responder = ScriptedResponder(
        [
            Reply(text="Hello there.", input_transcript="Hi."),
            Reply(
                tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
                after_tool=Reply(text="It is sunny."),
                input_transcript="Weather in Paris?",
            ),
            Reply(text="A long story " * 20, input_transcript="Tell me a story."),
        ]
    )
    async with LiveEmulator(api_key="test-key", tls=True, responder=responder, pace=2.0) as emu:
        client = sdk_client(emu)
        async with client.aio.live.connect(model=MODEL, config=CONFIG) as session:
            # A spoken turn: audio reply with both transcripts.
            await send_audio(session, speech(0.6) + silence(0.8))
            messages = await one_turn(session)
            audio = b"".join(m.data for m in messages if m.data)
            assert len(audio) > 24000  # over half a second of 24 kHz speech
            said = "".join(
                m.server_content.input_transcription.text
                for m in messages
                if m.server_content and m.server_content.input_transcription
            )
            heard = "".join(
                m.server_content.output_transcription.text
                for m in messages
                if m.server_content and m.server_content.output_transcription
            )
            assert said.strip() == "Hi." and heard.strip() == "Hello there."
            assert any(m.server_content and m.server_content.generation_complete for m in messages)
            assert messages[-1].usage_metadata.response_token_count > 0

            # A tool call round trip. (A user answers a moment after the bot has finished:
            # speech the instant turnComplete arrives is still answered with `interrupted`,
            # since the client may be playing the reply's end.)
            await asyncio.sleep(0.5)
            await send_audio(session, speech(0.6, seed=2) + silence(0.8))
            call = None
            async for message in session.receive():
                if message.tool_call:
                    call = message.tool_call.function_calls[0]
                    await session.send_tool_response(
                        function_responses=types.FunctionResponse(
                            id=call.id, name=call.name, response={"result": "sunny"}
                        )
                    )
            assert call is not None and call.args == {"city": "Paris"}
            assert emu.sessions[0].tool_responses[call.id][0]["response"] == {"result": "sunny"}

            # Barge-in: the user speaks over a long reply.
            await asyncio.sleep(0.5)
            await send_audio(session, speech(0.6, seed=3) + silence(0.8))
            interrupted = False
            async for message in session.receive():
                if message.data and not interrupted:
                    await send_audio(session, speech(0.6, seed=4))
                if message.server_content and message.server_content.interrupted:
                    interrupted = True
            assert interrupted and emu.sessions[0].interruptions == 1

            # goAway, then resume the same conversation on a new connection with the handle.
            await emu.go_away(time_left=5.0)
            go_away = None
            async for message in session.receive():
                if message.go_away:
                    go_away = message.go_away
                    break
                if message.session_resumption_update:
                    continue
            assert go_away is not None and go_away.time_left == "5s"
        handle = emu.sessions[0].handles_issued[-1]

        resumed = CONFIG.model_copy(
            update={"session_resumption": types.SessionResumptionConfig(handle=handle)}
        )
        async with client.aio.live.connect(model=MODEL, config=resumed) as session:
            await send_audio(session, speech(0.5, seed=5) + silence(0.8))
            await one_turn(session)
        assert len(emu.sessions) == 1 and emu.sessions[0].connections == 2


@pytest.mark.parametrize(
    ("code", "reason"), [(1011, "Internal error occurred."), (1008, "policy"), (1007, "bad")]
)
async def test_sdk_sees_close_codes_as_api_errors(code, reason):
    async with (
        LiveEmulator(api_key="test-key", tls=True) as emu,
        sdk_client(emu).aio.live.connect(model=MODEL, config=CONFIG) as session,
    ):
        await emu.wait_for_session()
        await emu.close(code=code, reason=reason)
        with pytest.raises(errors.APIError) as caught:
            async for _ in session.receive():
                pass
        assert caught.value.code == code and reason in str(caught.value)


async def test_sdk_with_a_wrong_key_gets_googles_invalid_key_close():
    async with LiveEmulator(api_key="test-key", tls=True) as emu:
        with pytest.raises(errors.APIError) as caught:
            async with sdk_client(emu, key="wrong").aio.live.connect(model=MODEL, config=CONFIG):
                pass
        assert caught.value.code == 1007 and "API key not valid" in str(caught.value)


async def test_pipecats_built_in_service_converses_and_calls_tools(monkeypatch):
    from pipecat.frames.frames import LLMContextFrame, TTSAudioRawFrame
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService

    from tests.pipeline_kit import running_bot

    responder = ScriptedResponder(
        [
            Reply(text="Welcome."),  # the greeting the built-in asks for on its first context
            Reply(
                tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"})],
                after_tool=Reply(text="Rome is warm."),
            ),
        ]
    )
    async with LiveEmulator(api_key="test-key", tls=True, responder=responder) as emu:
        monkeypatch.setenv("SSL_CERT_FILE", str(emu.cert_path))
        llm = GeminiLiveLLMService(
            api_key="test-key",
            settings=GeminiLiveLLMService.Settings(model=f"models/{MODEL}", voice="Puck"),
            http_options=types.HttpOptions(base_url=emu.base_url, api_version="v1beta"),
        )
        calls = []

        async def get_weather(params):
            calls.append(params.arguments)
            await params.result_callback({"forecast": "warm"})

        llm.register_function("get_weather", get_weather)
        async with running_bot([llm]) as bot:
            context = LLMContext([{"role": "system", "content": "Be brief."}])
            await bot.worker.queue_frame(LLMContextFrame(context))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 15)
            await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: emu.sessions[0].tool_responses, 15)
            await emu.wait_until(
                lambda: len(emu.sessions[0].turns) == 2 and "usage" in emu.sessions[0].turns[1], 15
            )
        assert calls == [{"city": "Rome"}]
        (response,) = next(iter(emu.sessions[0].tool_responses.values()))
        assert response["name"] == "get_weather"
        # The built-in sends 16 kHz frames as they come (no rechunking); the emulator heard them.
        assert emu.sessions[0].audio_seconds_received > 1.0
        await asyncio.sleep(0)


async def test_pipecats_built_in_service_is_interrupted_by_a_barge_in(monkeypatch):
    from pipecat.frames.frames import InterruptionFrame, LLMContextFrame, TTSAudioRawFrame
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService

    from tests.pipeline_kit import running_bot

    responder = ScriptedResponder([Reply(text="A long welcome that goes on and on " * 4)])
    async with LiveEmulator(api_key="test-key", tls=True, responder=responder, pace=1.0) as emu:
        monkeypatch.setenv("SSL_CERT_FILE", str(emu.cert_path))
        llm = GeminiLiveLLMService(
            api_key="test-key",
            settings=GeminiLiveLLMService.Settings(model=f"models/{MODEL}", voice="Puck"),
            http_options=types.HttpOptions(base_url=emu.base_url, api_version="v1beta"),
        )
        async with running_bot([llm]) as bot:
            greet = LLMContext([{"role": "user", "content": "Hello"}])
            await bot.worker.queue_frame(LLMContextFrame(greet))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 15)
            await bot.say(speech(0.6) + silence(0.3), speed=1.0)
            await bot.wait_for(lambda: bot.tail.frames(InterruptionFrame), 10)
        assert emu.sessions[0].interruptions == 1
