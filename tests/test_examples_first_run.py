"""The examples on a first run: a ``.env`` file is read, ``GEMINI_API_KEY`` counts as well as
``GOOGLE_API_KEY``, servers listen where ``--host`` says, Pipecat's logs stay quiet unless
``--verbose``, and an offline answer that is scripted says so (and ``--speech`` really hears
and speaks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline_kit import free_port

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ROOT = EXAMPLES.parent
sys.path.insert(0, str(EXAMPLES))

import example_support  # noqa: E402
from example_support import (  # noqa: E402
    KEY_VARIABLES,
    KeySource,
    find_env_file,
    load_env,
    log_environment,
)


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither key set; whatever a test's .env sets is removed again afterwards."""
    for name in KEY_VARIABLES:
        monkeypatch.setenv(name, "")  # records the real value (or its absence) for teardown
        monkeypatch.delenv(name)


# ----------------------------------------------------------------------------- keys and .env


def test_a_gemini_api_key_in_a_dotenv_file_is_read_and_named(no_keys, tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("# my keys\nGEMINI_API_KEY=from-the-file\n")
    key = load_env(env_file)
    assert key == KeySource("GEMINI_API_KEY", env_file) and key.online
    assert os.environ["GEMINI_API_KEY"] == "from-the-file"
    assert example_support.api_key() == "from-the-file"
    assert key.describe() == f"GEMINI_API_KEY is set (from {env_file})"


def test_the_environment_wins_over_the_file_and_google_api_key_comes_first(
    no_keys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    env_file = tmp_path / ".env"
    env_file.write_text("GEMINI_API_KEY=from-the-file\nGOOGLE_API_KEY=google-from-the-file\n")
    monkeypatch.setenv("GEMINI_API_KEY", "from-the-environment")
    key = load_env(env_file)
    # The order GeminiLiveService reads them: GOOGLE_API_KEY (here from the file) first.
    assert key == KeySource("GOOGLE_API_KEY", env_file)
    assert os.environ["GEMINI_API_KEY"] == "from-the-environment"
    assert example_support.api_key() == "google-from-the-file"


def test_no_key_anywhere_means_the_emulator(no_keys, tmp_path: Path):
    (tmp_path / ".env").write_text("OTHER=1\n")
    key = load_env(tmp_path / ".env")
    assert key == KeySource(None) and not key.online
    assert "GOOGLE_API_KEY or GEMINI_API_KEY" in key.describe()


def test_the_dotenv_file_is_found_in_the_current_directory_or_above(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    (tmp_path / ".env").write_text("GEMINI_API_KEY=x\n")
    deeper = tmp_path / "a" / "b"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)
    assert find_env_file() == tmp_path / ".env"
    assert find_env_file(deeper) == tmp_path / ".env"


def test_logs_are_quieted_only_when_an_example_runs_as_a_script(monkeypatch):
    monkeypatch.delenv("LOGURU_LEVEL", raising=False)
    assert log_environment("__main__", ["quickstart.py"]) == {"LOGURU_LEVEL": "WARNING"}
    assert log_environment("__main__", ["quickstart.py", "--verbose"]) == {}
    assert log_environment("quickstart", ["pytest"]) == {}  # imported by a test: untouched
    monkeypatch.setenv("LOGURU_LEVEL", "INFO")
    assert log_environment("__main__", ["quickstart.py"]) == {}  # the user's own choice wins


# ----------------------------------------------------------------------------- the servers


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Run:
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None


@contextlib.contextmanager
def running_example(script: str, *args: str, cwd: Path, until: str, timeout: float = 40):
    """Start an example as a user would (no key in the environment, no LOGURU_LEVEL), wait for
    it to print ``until``, and stop it with Ctrl-C when the block ends; its output on the Run."""
    env = {k: v for k, v in os.environ.items() if k not in (*KEY_VARIABLES, "LOGURU_LEVEL")}
    env.update(PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,127.0.0.2,localhost")
    child = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = Run()
    assert child.stdout is not None
    try:
        deadline = time.monotonic() + timeout
        while until not in run.stdout:
            line = child.stdout.readline()
            if not line or time.monotonic() > deadline:
                child.kill()
                out, err = child.communicate()
                pytest.fail(f"{script} never printed {until!r}:\n{run.stdout}{out}\n{err}")
            run.stdout += line
        yield run
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        try:
            out, err = child.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
        run.stdout, run.stderr, run.returncode = run.stdout + out, err, child.returncode


def loopback_alias() -> str:
    """127.0.0.2: on the loopback, but not 127.0.0.1 (Linux routes all of 127/8 to lo)."""
    try:
        free_port("127.0.0.2")
    except OSError:
        pytest.skip("this system has no 127.0.0.2 on the loopback")
    return "127.0.0.2"


def needs_the_examples_extra(script: str) -> None:
    for module in ("fastapi", "uvicorn", *(["aiortc"] if script == "webrtc_browser.py" else [])):
        pytest.importorskip(module, reason='needs the examples extra: pip install -e ".[examples]"')


SERVERS = [
    ("telephony_twilio.py", "Twilio media stream endpoint: ws://{host}:{port}/ws"),
    ("webrtc_browser.py", "Open http://{host}:{port}/"),
]


@pytest.mark.parametrize(("script", "announce"), SERVERS)
def test_a_server_listens_on_host_and_is_quiet_unless_verbose(
    script: str, announce: str, tmp_path: Path
):
    needs_the_examples_extra(script)
    host = loopback_alias()
    port = free_port(host)
    with running_example(
        script, "--host", host, "--port", str(port), cwd=tmp_path, until="Ctrl-C"
    ) as run:
        assert announce.format(host=host, port=port) in run.stdout
        assert listening(host, port)
        assert not listening("127.0.0.1", port)  # only where --host says
    assert "Offline: no GOOGLE_API_KEY or GEMINI_API_KEY" in run.stdout
    # Quiet: no Pipecat banner, no DEBUG/INFO lines from Pipecat or uvicorn.
    for noise in ("Pipecat 1.14", "| DEBUG", "| INFO", "INFO:", "Uvicorn running"):
        assert noise not in run.stderr + run.stdout, run.stderr
    with running_example(
        script, "--port", str(free_port("127.0.0.1")), "--verbose", cwd=tmp_path, until="Ctrl-C"
    ) as verbose:
        assert "ws://127.0.0.1:" in verbose.stdout or "http://127.0.0.1:" in verbose.stdout
    assert "Pipecat 1.14" in verbose.stderr and "INFO" in verbose.stderr


def test_the_phone_bot_takes_a_gemini_api_key_from_the_dotenv_file(tmp_path: Path):
    """The key in the current directory's .env sends the bot to Google (no call is made here,
    so nothing connects: the server only starts)."""
    needs_the_examples_extra("telephony_twilio.py")
    (tmp_path / ".env").write_text("GEMINI_API_KEY=not-a-real-key\n")
    port = free_port("127.0.0.1")
    with running_example(
        "telephony_twilio.py", "--port", str(port), cwd=tmp_path, until="Ctrl-C"
    ) as run:
        assert listening("127.0.0.1", port)
    assert f"Using Google's Live API: GEMINI_API_KEY is set (from {tmp_path / '.env'})" in (
        run.stdout
    )
    assert "emulator" not in run.stdout


# ----------------------------------------------------------------------------- the quickstart


async def test_the_quickstart_says_its_offline_answer_is_scripted(
    no_keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import quickstart

    code = await quickstart.main(
        quickstart.DEFAULT_QUESTION, tmp_path / "reply.wav", KeySource(None)
    )
    out = capsys.readouterr().out
    assert code == 0 and (tmp_path / "reply.wav").stat().st_size > 24000
    assert "Its answer is scripted (it does not hear the question) and its voice is tones." in out
    assert "--speech" in out  # how to hear it answer in words
    for step in ("Starting the emulator", "Streaming the question", "Waiting for the reply"):
        assert step in out
    assert f"assistant: {quickstart.SCRIPTED_ANSWER}  (scripted)" in out
    assert "user: What's the weather like in Paris today?  (scripted, not heard)" in out


async def test_the_quickstart_with_speech_hears_the_question_and_answers_in_words(
    no_keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from pipecat_gemini_live.emulator.speech import missing_speech_extra, shared_recognizer

    problem = missing_speech_extra()
    if problem and os.environ.get("REQUIRE_OFFLINE_SPEECH"):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)
    import quickstart

    from pipecat_gemini_live.audio import read_wav

    output = tmp_path / "reply.wav"
    code = await quickstart.main(quickstart.DEFAULT_QUESTION, output, KeySource(None), speech=True)
    out = capsys.readouterr().out
    assert code == 0
    assert "scripted" not in out
    heard_line = next(line for line in out.splitlines() if "user:" in line)
    assert "paris" in heard_line.lower() and "(heard by Whisper)" in heard_line
    assert "assistant: Today in Paris it is sunny and 21 degrees." in out
    pcm, rate, _ = read_wav(output)
    assert "sunny" in (await shared_recognizer().transcribe_async(pcm, rate)).lower()
