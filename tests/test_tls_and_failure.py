"""Reaching a private endpoint, and what a call that cannot reach the model does.

TLS to a server whose certificate the system does not trust (the emulator with ``tls=True``)
is trusted per service with ``ssl=``; without it, the refusal is one fatal error that says how
to trust it, at once, not after a retry budget. A fatal error ends the pipeline by itself.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import pytest
from google.genai import types
from pipecat.frames.frames import ErrorFrame, LLMContextFrame, TTSAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import ConfigurationError, GeminiLiveError, GeminiLiveService
from pipecat_gemini_live.dropin import GeminiLiveLLMService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from pipecat_gemini_live.tokens import create_ephemeral_token
from tests.pipeline_kit import FrameLog, running_bot, silence, speech

UP = FrameDirection.UPSTREAM


@pytest.fixture(autouse=True)
def _system_trust_only(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.mark.parametrize("as_context", [False, True], ids=["pem-path", "ssl-context"])
async def test_ssl_trusts_a_private_endpoint_for_this_service(as_context):
    responder = ScriptedResponder([Reply(text="Over TLS.")])
    async with LiveEmulator(api_key="test-key", tls=True, responder=responder) as emu:
        trusted = ssl.create_default_context(cafile=str(emu.cert_path)) if as_context else None
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, ssl=trusted or emu.cert_path
        )
        assert llm.url.startswith("wss://")
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 10)
        assert not bot.head.frames(ErrorFrame, UP)


async def test_the_builtins_way_to_trust_an_endpoint_works_on_the_dropin():
    async with LiveEmulator(api_key="test-key", tls=True) as emu:
        context = ssl.create_default_context(cafile=str(emu.cert_path))
        llm = GeminiLiveLLMService(
            api_key="test-key",
            http_options=types.HttpOptions(
                base_url=emu.base_url, async_client_args={"ssl": context}
            ),
        )
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.3))
            await emu.wait_until(lambda: emu.sessions, 10)
        assert not bot.head.frames(ErrorFrame, UP)


async def test_an_untrusted_certificate_is_one_error_at_once_that_says_how_to_trust_it():
    async with LiveEmulator(api_key="test-key", tls=True) as emu:
        llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url)
        async with running_bot([llm]) as bot:
            started = time.monotonic()
            await bot.say(speech(0.3), speed=8.0)
            await bot.wait_for(lambda: bot.head.frames(ErrorFrame, UP), 10)
            took = time.monotonic() - started
            await asyncio.sleep(0.5)
        errors = bot.head.frames(ErrorFrame, UP)
        assert len(errors) == 1 and not llm.is_usable
        assert "not trusted" in errors[0].error and "ssl=" in errors[0].error
        assert took < 2.0, f"{took:.1f}s: retried a certificate that will never be trusted"
        assert llm.live_session is None or llm.live_session.connections == 0
        assert not emu.sessions


def test_ssl_is_refused_where_it_cannot_apply(tmp_path):
    with pytest.raises(ConfigurationError, match="not a TLS"):
        GeminiLiveService(api_key="k", base_url="ws://127.0.0.1:9", ssl=tmp_path / "ca.pem")
    with pytest.raises(ConfigurationError, match="no such file"):
        GeminiLiveService(api_key="k", base_url="https://h.example", ssl=tmp_path / "ca.pem")
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="not a PEM file"):
        GeminiLiveService(api_key="k", base_url="https://h.example", ssl=tmp_path / "bad.pem")


async def test_the_token_helper_trusts_with_ssl_and_says_how_when_it_cannot():
    async with LiveEmulator(api_key="test-key", tls=True) as emu:
        token = await create_ephemeral_token(
            "test-key", base_url=emu.rest_base_url, ssl=emu.cert_path
        )
        assert token.startswith("auth_tokens/")
        with pytest.raises(GeminiLiveError, match=r"not trusted.*ssl="):
            await create_ephemeral_token("test-key", base_url=emu.rest_base_url)


# ----------------------------------------------------------------------------- fatal = stopped


async def run_until_done(llm: GeminiLiveService, seconds: float) -> tuple[bool, FrameLog]:
    """Run ``[head, llm]`` with a first context, and whether the pipeline ended by itself
    within ``seconds``."""
    head = FrameLog(name="head")
    worker = PipelineWorker(Pipeline([head, llm]), idle_timeout_secs=None)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    while not head.counts["StartFrame"]:
        await asyncio.sleep(0.01)
    await worker.queue_frame(LLMContextFrame(LLMContext([{"role": "user", "content": "Hi"}])))
    try:
        await asyncio.wait_for(asyncio.shield(run), seconds)
        return True, head
    except asyncio.TimeoutError:
        await worker.cancel()
        await asyncio.wait_for(run, 5)
        return False, head


async def test_after_a_fatal_error_the_pipeline_ends_by_itself():
    async with LiveEmulator(api_key="right-key") as emu:
        llm = GeminiLiveService(api_key="wrong-key", base_url=emu.base_url)
        ended, head = await run_until_done(llm, 10)
    assert ended, "the pipeline kept running after the fatal error"
    (error,) = head.frames(ErrorFrame, UP)
    assert "API key" in error.error


async def test_an_app_that_handles_failures_itself_keeps_its_pipeline():
    async with LiveEmulator(api_key="right-key") as emu:
        llm = GeminiLiveService(api_key="wrong-key", base_url=emu.base_url, end_on_failure=False)
        ended, head = await run_until_done(llm, 2)
    assert not ended
    assert len(head.frames(ErrorFrame, UP)) == 1
