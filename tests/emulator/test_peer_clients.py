"""Wire fidelity beyond Pipecat's pins: google-genai 3.x and LiveKit's Google realtime plugin,
unmodified, hold whole conversations with the emulator over TLS.

Neither installs beside Pipecat 1.14 (it pins google-genai < 3; LiveKit brings its own stack), so
they live in a venv of their own, ``.venv-peers`` (``.ci/run`` makes it; see the README), and
each client is a small program in ``tests/peers/`` that this module runs there as a subprocess
against an emulator it starts here, then checks the JSON summary the client prints (what it
received) against the script and against what the emulator recorded (what it received).

Without ``.venv-peers`` these tests skip, unless ``REQUIRE_PEER_CLIENTS`` is set (CI sets it),
when they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec

ROOT = Path(__file__).resolve().parents[2]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
PEERS = ROOT / "tests" / "peers"
CLIENT_TIMEOUT = 40.0

# The conversation both clients hold (see each client's docstring): what the user says (as
# the emulator transcribes it) and what the model answers.
STORY = "A long story " * 20
SCRIPT = [
    ("Hi.", "Hello there."),
    ("Weather in Paris?", "It is sunny."),  # after the get_weather call is answered
    ("Tell me a story.", STORY.strip()),  # talked over: only its start is heard
    ("Wait.", "Sorry, go on."),  # the talking-over, a turn of its own
    ("I am back.", "Welcome back."),  # on the resumed connection, after goAway
]
INTERRUPTED = 2  # index of the turn that is talked over
SPOKEN_SECONDS = 7.0  # all the input audio either client sends (speech and silence)


GREETING = "Welcome, how can I help?"  # LiveKit's client asks for it with generate_reply()


def script(*, greeting: bool = False) -> ScriptedResponder:
    replies = [Reply(text=answer, input_transcript=said) for said, answer in SCRIPT]
    replies[1] = Reply(
        tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
        after_tool=Reply(text=SCRIPT[1][1]),
        input_transcript=SCRIPT[1][0],
    )
    replies[INTERRUPTED] = Reply(text=STORY, input_transcript=SCRIPT[INTERRUPTED][0])
    return ScriptedResponder(([Reply(text=GREETING)] if greeting else []) + replies)


class RecordingEmulator(LiveEmulator):
    """Also notes each upgrade request's path and headers (the API version, who is calling)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests: list[dict[str, str]] = []

    def _check_request(self, connection, request):
        self.requests.append(
            {
                "path": request.path,
                "user_agent": request.headers.get("user-agent", ""),
                "api_client": request.headers.get("x-goog-api-client", ""),
            }
        )
        return super()._check_request(connection, request)


@pytest.fixture
def peers_python() -> Path:
    if PEERS_PYTHON.exists():
        return PEERS_PYTHON
    reason = (
        f"needs the peer clients' venv at {PEERS_PYTHON.parent.parent} (google-genai 3.6.1, "
        "livekit-agents and livekit-plugins-google 1.8.9); .ci/run makes it, see the README"
    )
    if os.environ.get("REQUIRE_PEER_CLIENTS"):
        pytest.fail(reason)
    pytest.skip(reason)


async def go_away_after_turn_4(emu: LiveEmulator, time_left: float = 5.0) -> str:
    """Once turn 4 ("Wait.") is complete and its resumption handle sent, send goAway; returns
    the latest handle issued, the one the client should resume with."""
    session = await emu.wait_for_session(CLIENT_TIMEOUT)

    def handle_sent() -> bool:
        finished = [turn for turn in session.turns if "usage" in turn]
        # A handle at setup, then one after each turnComplete (the interrupted turn's too).
        return (
            bool(finished)
            and finished[-1]["input_transcript"] == SCRIPT[3][0]
            and len(session.handles_issued) == 1 + len(finished)
        )

    await emu.wait_until(handle_sent, CLIENT_TIMEOUT)
    handle = session.handles_issued[-1]
    await emu.go_away(time_left=time_left)
    return handle


async def run_client(
    python: Path, client: str, emu: LiveEmulator, *args: str, go_away: bool = True
) -> tuple[dict[str, Any], str | None]:
    """Run ``tests/peers/<client>`` against ``emu``; returns its summary and the handle it
    should have resumed with (when ``go_away``)."""
    assert emu.cert_path is not None
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.pop("PYTHONPATH", None)  # nothing of this venv leaks into the peers venv
    process = await asyncio.create_subprocess_exec(
        str(python),
        str(PEERS / client),
        "--base-url",
        emu.base_url,
        "--cert",
        str(emu.cert_path),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(PEERS),
    )
    server_side = asyncio.ensure_future(go_away_after_turn_4(emu)) if go_away else None
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        out, err = await process.communicate()
        pytest.fail(f"{client} did not finish in {CLIENT_TIMEOUT:g} s:\n{err.decode()[-4000:]}")
    finally:
        if server_side is not None and not server_side.done():
            server_side.cancel()
    sys.stderr.write(err.decode())  # shown by pytest when the test fails
    assert out.strip(), f"{client} printed no summary (exit {process.returncode})"
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["errors"] == [], summary["errors"]
    assert process.returncode == 0
    handle = None
    if server_side is not None:
        assert server_side.done(), "the client finished before the goAway"
        handle = server_side.result()
    return summary, handle


def check_emulator_side(
    emu: RecordingEmulator, resume_handle: str | None, *, greeting: bool = False
) -> None:
    """What the emulator itself heard, for either client's full conversation (``greeting``: it
    began with a content turn asking for the greeting)."""
    assert len(emu.sessions) == 1, "the resumed connection did not continue the session"
    session = emu.sessions[0]
    assert session.connections == 2 and len(emu.requests) == 2
    assert resume_handle is not None
    assert session.setup["session_resumption"].get("handle") == resume_handle
    # Every turn completes, the interrupted one too (as Google's do, with its usage).
    assert [c.turns_completed for c in session.connection_log] == [4 + greeting, 1]
    said = [None] * greeting + [said for said, _ in SCRIPT]
    assert [t["input_transcript"] for t in session.turns] == said
    assert session.interruptions == 1
    assert session.audio_mime_types == {"audio/pcm;rate=16000"}
    assert abs(session.audio_seconds_received - SPOKEN_SECONDS) < 0.05
    (call,) = session.tool_calls_sent
    assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
    assert list(session.tool_responses) == [call["id"]]


async def test_google_genai_3_converses_with_tools_barge_in_and_resumption(peers_python):
    async with RecordingEmulator(api_key="test-key", tls=True, responder=script(), pace=2.0) as emu:
        summary, handle = await run_client(
            peers_python, "genai3_client.py", emu, "--api-version", "v1beta"
        )
    check_emulator_side(emu, handle)
    session = emu.sessions[0]
    assert summary["sdk_version"] == "3.6.1"
    assert all("google-genai-sdk/3.6.1" in r["user_agent"] for r in emu.requests)
    assert all(".v1beta.GenerativeService.BidiGenerateContent" in r["path"] for r in emu.requests)

    turns = summary["turns"]
    assert [t["input_transcript"].strip() for t in turns] == [said for said, _ in SCRIPT]
    assert [t["connection"] for t in turns] == [1, 1, 1, 1, 2]
    for index, (turn, sent) in enumerate(zip(turns, session.turns, strict=True)):
        # Every byte of reply audio the emulator sent reached the client, in 24 kHz PCM.
        assert turn["audio_bytes"] == sent["audio_bytes_sent"] > 0
        assert turn["audio_mime_types"] == ["audio/pcm;rate=24000"]
        if index == INTERRUPTED:
            assert turn["interrupted"], "the client saw no serverContent.interrupted"
            assert not turn["generation_complete"]
            assert turn["usage"]["response"] == sent["usage"]["responseTokenCount"]
            assert STORY.startswith(turn["output_transcript"])
            assert 0 < len(turn["output_transcript"]) < len(STORY) // 4
        else:
            assert turn["output_transcript"] == SCRIPT[index][1]
            assert turn["audio_bytes"] > 24000  # over half a second of speech
            assert turn["generation_complete"] and not turn["interrupted"]
            assert turn["usage"]["response"] == sent["usage"]["responseTokenCount"] > 0
            assert turn["usage"]["response_modalities"] == ["AUDIO"]

    (call,) = summary["tool_calls"]
    expected_call = {"id": session.tool_calls_sent[0]["id"], "name": "get_weather"}
    assert call == {**expected_call, "args": {"city": "Paris"}}
    assert turns[1]["tool_call_ids"] == [call["id"]]
    (response,) = session.tool_responses[call["id"]]
    assert response == {**expected_call, "response": {"result": "sunny in Paris"}}

    assert summary["go_away_time_left"] == "5s"
    assert summary["resumed_with"] == handle == summary["handles"][-1]
    assert summary["handles"] == session.handles_issued[:5]  # setup's, then one per turn


async def test_google_genai_3_default_api_version_v1_is_served(peers_python):
    """3.x talks to ``…v1.GenerativeService…`` unless told otherwise (2.x: v1beta)."""
    responder = ScriptedResponder([Reply(text=SCRIPT[0][1], input_transcript=SCRIPT[0][0])])
    async with RecordingEmulator(api_key="test-key", tls=True, responder=responder) as emu:
        summary, _ = await run_client(
            peers_python, "genai3_client.py", emu, "--scenario", "turn", go_away=False
        )
    (request,) = emu.requests
    path = request["path"]
    assert path.endswith(
        "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"
    )
    (turn,) = summary["turns"]
    assert turn["input_transcript"].strip() == "Hi." and turn["output_transcript"] == "Hello there."
    assert turn["audio_bytes"] == emu.sessions[0].turns[0]["audio_bytes_sent"] > 24000


async def test_livekit_google_realtime_plugin_greets_converses_calls_tools_and_resumes(
    peers_python,
):
    responder = script(greeting=True)
    async with RecordingEmulator(
        api_key="test-key", tls=True, responder=responder, pace=2.0
    ) as emu:
        summary, handle = await run_client(peers_python, "livekit_client.py", emu)
    check_emulator_side(emu, handle, greeting=True)
    session = emu.sessions[0]
    assert summary["plugin_version"] == "1.8.9"
    for request in emu.requests:  # the plugin's default: google-genai 3's v1 path
        assert ".v1.GenerativeService.BidiGenerateContent" in request["path"]
        assert "livekit-agents/1.8.9" in request["api_client"]
        assert "google-genai-sdk/3.6.1" in request["user_agent"]
    # The plugin sends the user's audio in 50 ms blobs, whatever frames it is given.
    assert {size for _, size in session.audio_chunks} == {1600}
    # generate_reply(instructions=...): the instructions as a model turn, then a "." user turn.
    (asked,) = session.client_content
    assert asked == {
        "turns": [
            {"parts": [{"text": "Greet the user."}], "role": "model"},
            {"parts": [{"text": "."}], "role": "user"},
        ],
        "turn_complete": True,
    }

    assert summary["connections"] == 2
    assert summary["final_input_transcripts"] == [said for said, _ in SCRIPT]
    generations = summary["generations"]
    # The tool turn is two generations for the plugin: the call (it ends that generation),
    # then the spoken result once the response is in.
    calling = [g for g in generations if g["function_calls"]]
    (caller,) = calling
    assert caller["audio_bytes"] == 0 and caller["text"] == ""
    audible = [g for g in generations if not g["function_calls"]]
    greeted, audible = audible[0], audible[1:]
    # The greeting resolves generate_reply's future (user_initiated), the others do not.
    assert summary["greeting_user_initiated"] is True
    assert [g["user_initiated"] for g in generations] == [True] + [False] * (len(generations) - 1)
    assert greeted["text"] == GREETING and greeted["connection"] == 1
    assert greeted["audio_bytes"] == session.turns[0]["audio_bytes_sent"] > 24000
    assert len(audible) == len(SCRIPT)
    assert [g["connection"] for g in audible] == [1, 1, 1, 1, 2]
    for index, (generation, sent) in enumerate(zip(audible, session.turns[1:], strict=True)):
        assert generation["audio_bytes"] == sent["audio_bytes_sent"] > 0
        assert generation["sample_rates"] == [24000]
        if index == INTERRUPTED:
            assert generation["interrupted"], "the plugin reported no barge-in"
            # The interrupted turn's usage comes with its turnComplete, as Google sends it.
            assert generation["usage"]["output_tokens"] == sent["usage"]["responseTokenCount"]
            assert STORY.startswith(generation["text"])
            assert 0 < len(generation["text"]) < len(STORY) // 4
        else:
            assert not generation["interrupted"]
            assert generation["text"] == SCRIPT[index][1]
            assert generation["audio_bytes"] > 24000
            usage = sent["usage"]
            assert generation["usage"]["output_tokens"] == usage["responseTokenCount"] > 0
            assert generation["usage"]["input_tokens"] == usage["promptTokenCount"]
    assert summary["interruptions"] == 1

    (call,) = caller["function_calls"]
    assert call["call_id"] == session.tool_calls_sent[0]["id"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    (response,) = session.tool_responses[call["call_id"]]
    assert response["id"] == call["call_id"] and response["name"] == "get_weather"
    assert json.loads(response["response"]["output"]) == {"forecast": "sunny in Paris"}
