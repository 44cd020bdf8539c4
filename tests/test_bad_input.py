"""Every kind of bad input, in one table: what the caller gets back, and that nothing crashes,
hangs or leaks the key.

Three outcomes, by who can fix what:

- ``config``: a setting that can never work raises ``ConfigurationError`` at construction,
  before any connection, with a message that names the valid values;
- ``error``: a problem found during the call pushes exactly one ``ErrorFrame`` (upstream, as
  Pipecat services report errors) that says what was wrong and what to do; the pipeline still
  ends cleanly;
- ``recovered``: input the service can use after all (odd-length or any-rate audio) or a
  transient fault (a garbled message, a dropped connection) is handled with a logged warning,
  and the conversation goes on: an ErrorFrame there would make an app end a working call.

The API key is a recognisable secret in every case, and must appear in no message, no log line
and no ``repr``.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from loguru import logger
from pipecat.frames.frames import ErrorFrame, InputAudioRawFrame, LLMFullResponseEndFrame
from pipecat.processors.frame_processor import FrameDirection

from pipecat_gemini_live import ConfigurationError, GeminiLiveService, VADSettings
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec
from pipecat_gemini_live.models import ModelCapabilities
from pipecat_gemini_live.session import RetryPolicy
from tests.pipeline_kit import Bot, running_bot, silence, speech

KEY = "secret-key-7f3a-do-not-log"  # not Google-shaped: Pipecat's own redaction won't hide it
FAST_RETRY = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
CASE_SECONDS = 20.0  # a case that takes longer than this has hung


@dataclass
class Outcome:
    """What one bad input produced."""

    errors: list[str] = field(default_factory=list)  # ErrorFrames the service pushed
    replied: bool = False  # a reply arrived after the bad input
    texts: list[str] = field(default_factory=list)  # anything else a caller may show or log


@dataclass
class Case:
    name: str
    expect: str  # "config" | "error" | "recovered"
    says: str  # what the error (or, when recovered, the warning) must say: a regex
    run: Callable[[pytest.MonkeyPatch], Awaitable[Outcome]]
    check: Callable[[Outcome], None] | None = None


# ---------------------------------------------------------------------------- helpers


Runner = Callable[[pytest.MonkeyPatch], Awaitable[Outcome]]


def construct(**kwargs: Any) -> Runner:
    """A case that should fail at construction; returns the exception's text."""

    async def run(monkeypatch: pytest.MonkeyPatch) -> Outcome:
        settings = kwargs.pop("settings", None)
        try:
            GeminiLiveService(api_key=KEY, settings=settings, **kwargs)
        except ConfigurationError as error:
            return Outcome(errors=[str(error)])
        return Outcome()

    return run


def vad(**values: Any) -> Runner:
    async def run(monkeypatch: pytest.MonkeyPatch) -> Outcome:
        try:
            VADSettings(**values)
        except ConfigurationError as error:
            return Outcome(errors=[str(error)])
        return Outcome()

    return run


async def no_key(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    try:
        GeminiLiveService()
    except ConfigurationError as error:
        return Outcome(errors=[str(error)])
    return Outcome()


def errors_of(bot: Bot) -> list[str]:
    return [frame.error for frame in bot.head.frames(ErrorFrame, FrameDirection.UPSTREAM)]


async def call(
    act: Callable[[Bot, LiveEmulator], Awaitable[None]],
    *,
    emulator: dict[str, Any] | None = None,
    service: dict[str, Any] | None = None,
    tools: dict[str, Any] | None = None,
    expect_reply: bool = True,
) -> Outcome:
    """A real pipeline against the emulator: ``act`` does the bad thing; then, if a reply is
    expected, the user speaks and the call must answer."""
    options = {"api_key": KEY, **(emulator or {})}
    async with LiveEmulator(**options) as emu:
        llm = GeminiLiveService(api_key=KEY, base_url=emu.base_url, **(service or {}))
        for name, handler in (tools or {}).items():
            llm.register_function(name, handler)
        outcome = Outcome(texts=[repr(llm)])
        async with running_bot([llm]) as bot:
            await act(bot, emu)
            if expect_reply:
                ended = len(bot.tail.frames(LLMFullResponseEndFrame))
                await bot.say(speech(0.5, seed=3) + silence(0.8))
                await bot.wait_for(
                    lambda: len(bot.tail.frames(LLMFullResponseEndFrame)) > ended, 10
                )
                outcome.replied = True
            outcome.errors = errors_of(bot)
        return outcome


async def wait_for_error(bot: Bot) -> None:
    await bot.wait_for(lambda: bool(errors_of(bot)), 10)


# ---------------------------------------------------------------------------- runtime cases


async def wrong_key(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(speech(0.3), speed=8.0)
        await wait_for_error(bot)
        await bot.say(speech(0.3), speed=8.0)  # more input after the failure: no reconnect
        await asyncio.sleep(0.2)

    return await call(act, emulator={"api_key": "the-right-key"}, expect_reply=False)


async def model_the_server_does_not_serve(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(speech(0.3), speed=8.0)
        await wait_for_error(bot)

    return await call(
        act,
        emulator={"known_models": {"gemini-3.8-live"}},
        service={
            "model": "gemini-4-live",
            "model_capabilities": ModelCapabilities(model="gemini-4-live"),
        },
        expect_reply=False,
    )


async def feature_the_server_refuses(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(speech(0.3), speed=8.0)
        await emu.wait_for_session()
        await emu.close(1008, "Operation is not implemented, or supported, or enabled.")
        await wait_for_error(bot)

    return await call(act, expect_reply=False)


async def server_gone_for_good(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(speech(0.3), speed=8.0)
        await emu.wait_for_session()
        await emu.stop()  # stops listening and drops the call: every reconnect is refused
        await wait_for_error(bot)

    return await call(act, service={"retry": FAST_RETRY}, expect_reply=False)


async def unusable_audio_frame(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.worker.queue_frame(InputAudioRawFrame(b"\x00\x01", 0, 1))  # no sample rate
        await bot.worker.queue_frame(InputAudioRawFrame(b"\x00\x01", 0, 1))  # reported once
        await wait_for_error(bot)

    return await call(act)


def tool_case(handler: Callable[[Any], Awaitable[None]]) -> Runner:
    """The model calls ``lookup``; the answer after the tool is the reply that must arrive."""

    async def run(monkeypatch: pytest.MonkeyPatch) -> Outcome:
        reply = Reply(
            text="Checking.",
            tool_calls=[ToolCallSpec("lookup", id="c1")],
            after_tool=Reply(text="Sorry, that did not work."),
        )

        async def act(bot: Bot, emu: LiveEmulator) -> None:
            pass

        outcome = await call(
            act, emulator={"responder": ScriptedResponder([reply])}, tools={"lookup": handler}
        )
        return outcome

    return run


async def handler_that_raises(params: Any) -> None:
    raise RuntimeError("database is down")


async def handler_returning_non_json(params: Any) -> None:
    await params.result_callback({"when": datetime.datetime(2026, 1, 1), "ids": {1, 2}})


async def odd_length_audio(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        pcm = speech(0.3, 48000) + silence(0.2, 48000)
        for i in range(0, len(pcm), 1921):  # frames split mid-sample
            await bot.worker.queue_frame(InputAudioRawFrame(pcm[i : i + 1921], 48000, 1))
        await bot.say(silence(0.05, 48000), 48000)

    return await call(act)


async def stereo_at_an_odd_rate(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(speech(0.6, 44100, 2) + silence(0.8, 44100, 2), 44100, 2)
        await bot.wait_for(lambda: bool(bot.tail.frames(LLMFullResponseEndFrame)), 10)
        session = await emu.wait_for_session()
        assert {rate for rate, _ in session.audio_chunks} == {16000}  # mono 16 kHz on the wire
        await bot.say(speech(0.3, 11025) + silence(0.3, 11025), 11025)  # and a phone-ish rate

    return await call(act)


async def empty_audio_frame(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        for _ in range(3):
            await bot.worker.queue_frame(InputAudioRawFrame(b"", 16000, 1))

    return await call(act)


async def malformed_server_message(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(silence(0.2))
        await emu.wait_for_session()
        await emu.send_raw(b"{this is not json")
        await emu.send_raw(b'{"serverContent": {"modelTurn": "not an object"}}')

    return await call(act)


async def dropped_connection(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    async def act(bot: Bot, emu: LiveEmulator) -> None:
        await bot.say(silence(0.2))
        session = await emu.wait_for_session()
        await emu.wait_until(lambda: bool(session.handles_issued))
        await emu.reset()
        await emu.wait_until(lambda: session.connections == 2, 5)

    return await call(act, service={"retry": FAST_RETRY})


# ---------------------------------------------------------------------------- the table


def answered_with_error(outcome: Outcome) -> None:
    assert outcome.replied  # the model got an error response and went on


CASES = [
    # config: refused at construction, naming the valid values
    Case("bad voice name", "config", r"Unknown voice.*Zephyr \(Bright\)", construct(voice="Vesta")),
    Case(
        "unknown model",
        "config",
        r"Unknown Live model.*gemini-3\.8-live.*model_capabilities=ModelCapabilities",
        construct(model="gemini-live-9"),
    ),
    Case("missing API key", "config", r"GOOGLE_API_KEY.*GEMINI_API_KEY", no_key),
    Case(
        "unsupported feature for the model",
        "config",
        r"affective dialog\. Models that do",
        construct(settings=GeminiLiveService.Settings(affective_dialog=True)),
    ),
    Case(
        "thinking level the model does not take",
        "config",
        r"valid levels: low, medium, high",
        construct(
            model="gemini-3.8-live-extended-thinking",
            settings=GeminiLiveService.Settings(thinking_level="max"),
        ),
    ),
    Case(
        "bad VAD sensitivity", "config", r"LOW or Sensitivity\.HIGH", vad(start_sensitivity="loud")
    ),
    Case("bad VAD duration", "config", r"milliseconds", vad(silence_duration_ms=-5)),
    Case("base_url with a bad scheme", "config", r"ws://host:port", construct(base_url="ftp://x")),
    Case("unknown API version", "config", r"v1alpha, v1beta, v1", construct(api_version="v7")),
    Case(
        "audio chunk size out of range",
        "config",
        r"between 10 and 1000",
        construct(input_chunk_ms=5),
    ),
    Case(
        "temperature out of range",
        "config",
        r"temperature must be between",
        construct(settings=GeminiLiveService.Settings(temperature=3.0)),
    ),
    # error: one ErrorFrame during the call
    Case(
        "wrong API key",
        "error",
        r"1007.*API key not valid.*Check the API key you passed as api_key, or set GOOGLE_API_KEY",
        wrong_key,
    ),
    Case(
        "model the server does not serve",
        "error",
        r"1008.*not available for this API version",
        model_the_server_does_not_serve,
    ),
    Case(
        "feature the server refuses",
        "error",
        r"1008.*does not support a feature in the setup",
        feature_the_server_refuses,
    ),
    Case(
        "server gone for good",
        "error",
        r"could not connect to ws://.*Gave up after 3 attempts.*Check base_url",
        server_gone_for_good,
    ),
    Case("unusable audio frame", "error", r"sample_rate must be a positive", unusable_audio_frame),
    Case(
        "tool handler that raises",
        "error",
        r"lookup.*database is down",
        tool_case(handler_that_raises),
        answered_with_error,
    ),
    Case(
        "tool result that is not JSON",
        "error",
        r"'lookup' cannot be sent to the model.*datetime.*Return only JSON values",
        tool_case(handler_returning_non_json),
        answered_with_error,
    ),
    # recovered: a warning, and the conversation goes on
    Case("odd-length audio frames", "recovered", r"not a whole number", odd_length_audio),
    Case("stereo audio at odd rates", "recovered", r"", stereo_at_an_odd_rate),
    Case("empty audio frames", "recovered", r"", empty_audio_frame),
    Case("malformed server message", "recovered", r"not JSON", malformed_server_message),
    Case("dropped connection", "recovered", r"\(1006\).*reconnecting", dropped_connection),
]

# Every kind the issue names; the table may hold more, never fewer.
REQUIRED = {
    "bad voice name",
    "unknown model",
    "missing API key",
    "wrong API key",
    "odd-length audio frames",
    "stereo audio at odd rates",
    "empty audio frames",
    "tool handler that raises",
    "tool result that is not JSON",
    "malformed server message",
    "dropped connection",
    "unsupported feature for the model",
    "bad VAD sensitivity",
    "bad VAD duration",
    "base_url with a bad scheme",
}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_bad_input(case: Case, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture):
    logs: list[str] = []
    sink = logger.add(lambda message: logs.append(str(message)), level="DEBUG")
    try:
        outcome = await asyncio.wait_for(case.run(monkeypatch), CASE_SECONDS)  # no hang
    finally:
        logger.remove(sink)
    out, err = capfd.readouterr()
    warnings = [line for line in logs if "| WARNING" in line or "| ERROR" in line]

    if case.expect in ("config", "error"):
        assert len(outcome.errors) == 1, outcome.errors  # one clear error, not a cascade
        assert re.search(case.says, outcome.errors[0], re.S), outcome.errors[0]
    else:
        assert outcome.errors == []
        assert outcome.replied
        if case.says:
            assert any(re.search(case.says, line) for line in warnings), warnings
    if case.check is not None:
        case.check(outcome)
    print(f"\n{case.expect:<9} {case.name}: {(outcome.errors or ['(no error)'])[0][:150]}")
    # Nothing secret anywhere a user or an operator could see.
    for text in [*outcome.errors, *outcome.texts, *logs, out, err]:
        assert KEY not in text


def test_the_table_covers_every_kind_of_bad_input():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED, REQUIRED - set(names)
    kinds = {expect: sum(case.expect == expect for case in CASES) for expect in ("config", "error")}
    kinds["recovered"] = len(CASES) - sum(kinds.values())
    print(
        f"\nbad-input suite: {len(CASES)} kinds of bad input "
        f"({kinds['config']} refused at construction, {kinds['error']} reported once with an "
        f"ErrorFrame, {kinds['recovered']} recovered from)"
    )
