"""Vertex AI and ephemeral tokens against the emulator: endpoint, auth, model path, the Vertex
wire differences, token creation over REST, and the token rules."""

from __future__ import annotations

import threading

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.frames.frames import ErrorFrame, TTSAudioRawFrame

from pipecat_gemini_live import (
    ConfigurationError,
    GeminiLiveService,
    VertexSettings,
    create_ephemeral_token,
)
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from tests.pipeline_kit import running_bot, silence, speech


class FakeGoogleCredentials:
    """Stands in for google-auth credentials: refresh() mints a token, as a real one would
    by calling Google's token endpoint (which blocks, so it must not run on the event loop)."""

    def __init__(self, token: str) -> None:
        self._next_token = token
        self.token: str | None = None
        self.quota_project_id = "billing-project"
        self.refreshed_on: list[str] = []

    @property
    def valid(self) -> bool:
        return self.token is not None

    def refresh(self, request: object) -> None:
        self.refreshed_on.append(threading.current_thread().name)
        self.token = self._next_token


async def test_vertex_uses_credentials_the_vertex_path_and_the_vertex_wire_rules():
    credentials = FakeGoogleCredentials("ya29.vertex-access-token")
    reply = Reply(
        tool_calls=[ToolCallSpec("track_order", id="call-1")], after_tool=Reply(text="Shipped.")
    )
    async with LiveEmulator(
        api_key="ya29.vertex-access-token", responder=ScriptedResponder([reply])
    ) as emu:
        llm = GeminiLiveService(
            base_url=emu.base_url,
            tools=[FunctionSchema("track_order", "Where an order is.", {}, [])],
            vertex=VertexSettings(
                project="my-project", location="europe-west4", credentials=credentials
            ),
        )

        async def track_order(params):
            await params.result_callback({"status": "shipped"})

        llm.register_function("track_order", track_order, cancel_on_interruption=False)
        assert "LlmBidiService" in llm.url and "v1beta1" in llm.url
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await emu.wait_until(lambda: emu.sessions and emu.sessions[0].turns, 10)
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 5)
            # 3.8 runs calls NON_BLOCKING unless told otherwise, and Vertex takes no
            # `behavior`: the model talks on while the call runs, and the result follows.
            await emu.wait_until(lambda: "call-1" in emu.sessions[0].tool_responses, 5)
        session = emu.sessions[0]
    assert session.setup["model"] == (
        "projects/my-project/locations/europe-west4/publishers/google/models/gemini-3.8-live"
    )
    assert credentials.refreshed_on and "MainThread" not in credentials.refreshed_on
    # Vertex takes the call's id (recorded), but not .scheduling or async declarations.
    (response,) = session.tool_responses["call-1"]
    assert response == {"id": "call-1", "name": "track_order", "response": {"status": "shipped"}}
    (declaration,) = session.setup["tools"][0]["function_declarations"]
    assert "behavior" not in declaration


async def test_a_browser_style_client_connects_with_an_ephemeral_token_created_over_rest():
    async with LiveEmulator(api_key="server-key") as emu:
        token = await create_ephemeral_token("server-key", uses=1, base_url=emu.rest_base_url)
        assert token.startswith("auth_tokens/") and emu.rest.requests[0]["uses"] == 1
        llm = GeminiLiveService(api_key=token, base_url=emu.base_url)
        assert "v1alpha" in llm.url and llm.url.endswith("BidiGenerateContentConstrained")
        assert token not in repr(llm)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.5) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 10)
        assert emu.tokens.tokens[token].sessions_opened == 1

        # The token's one use is spent: a second call is refused, once, with the reason.
        again = GeminiLiveService(api_key=token, base_url=emu.base_url)
        async with running_bot([again]) as bot:
            await bot.say(speech(0.3))
            try:
                await bot.wait_for(lambda: bot.head.frames(ErrorFrame), 10)
            except AssertionError:
                print("DBG head", bot.head.counts, "tail", bot.tail.counts)
                raise
        (error,) = bot.head.frames(ErrorFrame)
        assert "used too many times" in error.error and "create_ephemeral_token" in error.error


async def test_a_token_creation_with_the_wrong_key_fails():
    async with LiveEmulator(api_key="server-key") as emu:
        with pytest.raises(Exception, match=r"401|API key not valid"):
            await create_ephemeral_token("wrong-key", base_url=emu.rest_base_url)


def test_tokens_need_v1alpha():
    with pytest.raises(ConfigurationError, match="only by the v1alpha Live API"):
        GeminiLiveService(api_key="auth_tokens/abc", api_version="v1beta")
