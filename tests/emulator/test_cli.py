"""The emulator's command line, run as a user runs it: a separate process, read from its output.

What a new user needs from it: the URL to connect to (``listening on ...``), the key it takes,
the google-genai base URL and certificate with ``--tls``, the token endpoint, one line per
refused connection, a one-line error for a busy port, and a clean stop on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import re
import signal
import socket
import ssl
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pipecat.frames.frames import LLMContextFrame, TTSAudioRawFrame, TTSTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator
from tests.pipeline_kit import running_bot

ROOT = Path(__file__).parents[2]
RECORDED = ROOT / "tests" / "recorded"
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
END_OF_BANNER = "stops the emulator."
CERT_DIRS = "gemini-live-emulator-*"  # SelfSignedCertificate's temporary folders


class Cli:
    """``python -m pipecat_gemini_live.emulator`` in its own process, and what it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def read_banner(self) -> None:
        """Read up to the end of the start-up lines, then keep reading in the background."""
        assert self.process.stdout is not None
        while not self.lines or END_OF_BANNER not in self.lines[-1]:
            line = await asyncio.wait_for(self.process.stdout.readline(), 20)
            assert line, f"the emulator exited: {self.output}"
            self.lines.append(line.decode().rstrip("\n"))
        self._reader = asyncio.create_task(self._read_rest())

    async def _read_rest(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode().rstrip("\n"))

    def value(self, pattern: str) -> str:
        """The first group of ``pattern`` in the output so far."""
        match = re.search(pattern, self.output)
        assert match is not None, f"{pattern!r} not in:\n{self.output}"
        return match.group(1)

    @property
    def url(self) -> str:
        return self.value(r"listening on (\S+)")

    @property
    def ws_url(self) -> str:
        return self.value(r"WebSocket: +(\S+)")

    @property
    def key(self) -> str:
        return self.value(r"API key: +(\S+)")

    def refusals(self) -> list[str]:
        return [line for line in self.lines if line.startswith("Refused a connection")]

    async def wait_for_refusals(self, count: int, timeout: float = 5.0) -> list[str]:
        async with asyncio.timeout(timeout):
            while len(self.refusals()) < count:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # and no more than that
        return self.refusals()

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        return code


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NO_PROXY": "127.0.0.1,localhost", **extra}


@contextlib.asynccontextmanager
async def running_cli(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[Cli]:
    """The CLI on a free port (``--port 0`` unless ``args`` name one), read up to its banner."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipecat_gemini_live.emulator",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env or cli_env(),
    )
    cli = Cli(process)
    try:
        await cli.read_banner()
        yield cli
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if cli._reader is not None:
            await asyncio.wait_for(cli._reader, 5)


async def first_reply(
    url: str, key: str, model: str = MODEL, ssl_context: ssl.SSLContext | None = None
) -> dict:
    """Connect as any Live API client does; the server's first message (or its close)."""
    async with connect(
        url, additional_headers={"x-goog-api-key": key}, ssl=ssl_context, open_timeout=5
    ) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{model}"}}))
        try:
            return json.loads(await asyncio.wait_for(ws.recv(), 5))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return {"closed": [closed.rcvd.code, closed.rcvd.reason]}


# ---------------------------------------------------------------------------------- a real call


async def test_the_cli_replays_a_recorded_call_to_a_bot():
    path = RECORDED / "test_google_ws__test_text_in_audio_out_turn__90bb8907.json"
    async with running_cli("--replay", str(path)) as cli:
        llm = GeminiLiveService(
            api_key=cli.key,  # the key it printed
            base_url=cli.url,
            model="gemini-2.5-flash-native-audio-preview-09-2025",
        )
        async with running_bot([llm]) as bot:
            context = LLMContext([{"role": "user", "content": "Say a short greeting."}])
            await bot.worker.queue_frame(LLMContextFrame(context))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 10)
            await bot.wait_for(lambda: bot.tail.frames(TTSTextFrame), 10)
        assert "".join(f.text for f in bot.tail.frames(TTSTextFrame)) == "Hello there."
        assert await cli.stop() == 0


# ------------------------------------------------------------------------------ the README


async def test_the_readme_shows_what_the_cli_prints():
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"At start it prints .*?```text\n(.*?)```", readme, re.S)
    assert shown is not None

    def ports_hidden(text: str) -> list[str]:
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text).splitlines()

    async with running_cli() as cli:
        await first_reply(cli.ws_url, "wrong-key")
        await cli.wait_for_refusals(1)
    assert ports_hidden(shown.group(1)) == ports_hidden(cli.output)


# ------------------------------------------------------------------------------------- the key


async def test_the_cli_prints_the_key_it_takes_and_how_to_change_it():
    async with running_cli() as cli:
        assert cli.key == "test-key"
        assert "--api-key" in cli.value(r"API key: +(.*)")
        assert "--any-key" in cli.value(r"API key: +(.*)")
        assert "setupComplete" in await first_reply(cli.ws_url, cli.key)
        assert (await first_reply(cli.ws_url, "emulator-key"))["closed"][0] == 1007
    async with running_cli("--api-key", "sesame") as cli:
        assert cli.key == "sesame"
        assert "setupComplete" in await first_reply(cli.ws_url, "sesame")
        assert (await first_reply(cli.ws_url, "test-key"))["closed"][0] == 1007
    async with running_cli("--any-key") as cli:
        assert "any non-empty key" in cli.value(r"API key: +(.*)")
        assert "setupComplete" in await first_reply(cli.ws_url, "whatever")


def test_one_key_everywhere_the_cli_the_class_the_fixtures_and_the_docs():
    from pipecat_gemini_live.emulator import __main__ as cli_module

    default = inspect.signature(LiveEmulator).parameters["api_key"].default
    assert default == "test-key"  # the fixtures' too (tests/emulator/test_fixtures_and_faults.py)
    assert default == cli_module.DEFAULT_API_KEY  # the --api-key default
    # Every key literal a reader copies: README, docs, examples, the emulator's docstrings.
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").glob("*.py")]
    files += (ROOT / "pipecat_gemini_live" / "emulator").glob("*.py")
    keys = {
        (path.name, key)
        for path in files
        for key in re.findall(r"""api[_-]key["']?\s*[=:]\s*["']([^"'{}]+)["']""", path.read_text())
    }
    assert {key for _, key in keys} == {default}, sorted(keys)
    assert not [path.name for path in files if "emulator-key" in path.read_text()]


# ------------------------------------------------------------------------- refused connections


async def test_each_refused_connection_is_one_line_with_its_code_and_reason_even_when_quiet():
    # LOGURU_LEVEL=WARNING: the logger's INFO lines are off; the CLI still reports refusals.
    async with running_cli(env=cli_env(LOGURU_LEVEL="WARNING")) as cli:
        assert cli.refusals() == []
        assert "setupComplete" in await first_reply(cli.ws_url, cli.key)  # not refused
        await first_reply(cli.ws_url, "wrong-key")
        await first_reply(cli.ws_url, cli.key, model="gemini-9.9-imaginary")
        with pytest.raises(Exception, match="404"):
            await first_reply(cli.url + "/ws/not.a.live.endpoint?key=secret-123", cli.key)
        wrong_key, unknown_model, wrong_path = await cli.wait_for_refusals(3)
    assert wrong_key.startswith(
        "Refused a connection: 1007 API key not valid. Please pass a valid API key."
    )
    assert "test-key" in wrong_key  # says which key it takes
    assert unknown_model.startswith(
        "Refused a connection: 1008 models/gemini-9.9-imaginary is not found"
    )
    assert "--allow-unknown-models" in unknown_model
    assert wrong_path == (
        "Refused a connection: 404 Not Found: /ws/not.a.live.endpoint is not a Live API endpoint"
    )
    assert "secret-123" not in cli.output  # a key in the query string is never printed


async def test_refusals_are_printed_once_with_the_default_log_level():
    async with running_cli() as cli:
        await first_reply(cli.ws_url, "wrong-key")
        await cli.wait_for_refusals(1)
    assert cli.output.count("API key not valid") == 1  # the CLI's line, not also a log line


# --------------------------------------------------------------------------------------- TLS


async def test_with_tls_it_prints_the_wss_url_the_genai_base_url_and_the_certificate(
    monkeypatch, tmp_path
):
    async with running_cli("--tls", env=cli_env(TMPDIR=str(tmp_path))) as cli:
        assert cli.url.startswith("wss://127.0.0.1:")
        assert cli.ws_url.startswith(cli.url + "/ws/google.ai.generativelanguage.v1beta.")
        genai_base = cli.value(r'google-genai: .*"base_url": "(https://[^"]+)"')
        assert genai_base == cli.url.replace("wss://", "https://")
        cert = Path(cli.value(r"TLS certificate.*: (\S+)"))
        assert cert.is_file() and cert.parent.parent == tmp_path
        assert f"SSL_CERT_FILE={cert}" in cli.output

        # A WebSocket client trusting the certificate, at the printed URL.
        context = ssl.create_default_context(cafile=str(cert))
        assert "setupComplete" in await first_reply(cli.ws_url, cli.key, ssl_context=context)

        # google-genai at the printed base URL, trusting it the printed way (SSL_CERT_FILE).
        from google import genai
        from google.genai import types

        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        client = genai.Client(api_key=cli.key, http_options=types.HttpOptions(base_url=genai_base))
        config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            assert session is not None
        assert cli.refusals() == []


async def test_without_tls_it_says_google_genai_needs_it():
    async with running_cli() as cli:
        assert cli.url.startswith("ws://127.0.0.1:")
        assert cli.ws_url.startswith(cli.url + "/ws/")
        assert "--tls" in cli.value(r"google-genai: +(.*)")
        assert "https://" not in cli.output and "TLS certificate" not in cli.output


# ---------------------------------------------------------------------------- the token endpoint


async def test_it_prints_the_token_endpoint_and_the_endpoint_issues_tokens():
    async with running_cli() as cli:
        endpoint = cli.value(r"POST (http://\S+/v1alpha/auth_tokens)")
        assert not endpoint.startswith(cli.url.replace("ws://", "http://") + "/")  # its own port

        def create_token() -> dict:
            request = urllib.request.Request(
                endpoint, data=b"{}", method="POST", headers={"x-goog-api-key": cli.key}
            )
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(request, timeout=5) as response:
                return json.loads(response.read())

        token = await asyncio.to_thread(create_token)
    assert token["name"].startswith("auth_tokens/")


# ---------------------------------------------------------------------------- unknown models


async def test_unknown_models_are_refused_unless_allowed_and_the_cli_says_so():
    help_text = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pipecat_gemini_live.emulator", "--help",
        stdout=asyncio.subprocess.PIPE, env=cli_env(),
    )  # fmt: skip
    out, _ = await help_text.communicate()
    help_text_flat = " ".join(out.decode().split())
    assert "--allow-unknown-models" in help_text_flat
    assert "refused with 1008" in help_text_flat
    async with running_cli() as cli:
        assert "refused with 1008" in cli.value(r"models: +(.*)")
        reply = await first_reply(cli.ws_url, cli.key, model="gemini-9.9-imaginary")
        assert reply["closed"][0] == 1008
    async with running_cli("--allow-unknown-models") as cli:
        assert "any" in cli.value(r"models: +(.*)")
        assert "setupComplete" in await first_reply(cli.ws_url, cli.key, "gemini-9.9-imaginary")
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "--allow-unknown-models" in readme


# ------------------------------------------------------------------------------ a busy port


async def test_a_busy_port_is_one_line_and_exit_code_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for extra in ([], ["--tls"]):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "pipecat_gemini_live.emulator", "--port", str(port), *extra,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=cli_env(TMPDIR=str(tmp_path)),
            )  # fmt: skip
            out, err = await asyncio.wait_for(process.communicate(), 20)
            assert process.returncode == 2, err.decode()
            assert err.decode().strip().splitlines() == [
                f"Gemini Live emulator: port {port} is in use; pick another with --port"
            ]
            assert out == b""
            assert list(tmp_path.glob(CERT_DIRS)) == []  # the certificate made for it is gone


# ------------------------------------------------------------------------------ stopping


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_it_cleanly_removes_the_certificate_and_exits_0(signum, tmp_path):
    async with running_cli("--tls", env=cli_env(TMPDIR=str(tmp_path))) as cli:
        cert = Path(cli.value(r"TLS certificate.*: (\S+)"))
        assert cert.is_file()
        context = ssl.create_default_context(cafile=str(cert))
        async with connect(
            cli.ws_url, additional_headers={"x-goog-api-key": cli.key}, ssl=context
        ) as ws:  # a client still connected when the signal comes
            await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            assert "setupComplete" in json.loads(await ws.recv())
            assert await cli.stop(signum) == 0
            await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1001  # closed by the server going away, not dropped
    assert cli.lines[-1] == "Gemini Live emulator stopped"
    assert "Traceback" not in cli.output
    assert not cert.exists() and list(tmp_path.glob(CERT_DIRS)) == []
