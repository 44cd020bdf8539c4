"""A browser call end to end: headless Chromium speaks a WAV through its fake microphone into the
browser example's own page, which sends it over WebRTC (SmallWebRTC, host candidates only) to a
real Pipecat pipeline around GeminiLiveService and the emulator, served by uvicorn on a real
socket; the page plays the reply, shows both sides' words and who is speaking.

Needs Debian's chromium at /usr/bin/chromium and ``playwright`` from PyPI (the test drives the
system browser; never run ``playwright install``), and ``pipecat-ai[webrtc]`` (aiortc).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.audio import read_wav, wav_bytes
from pipecat_gemini_live.emulator import Reply, UserTurn, VadSettings
from tests.pipeline_kit import free_port, silence

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and not os.environ.get("REQUIRE_BROWSER_TEST"):
    # CI sets REQUIRE_BROWSER_TEST (it installs chromium), so there a missing browser fails.
    pytest.skip(
        "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="needs playwright from PyPI (pip install playwright; it drives /usr/bin/chromium, "
    "no `playwright install`)",
)
pytest.importorskip("aiortc", reason="needs pipecat-ai[webrtc] (aiortc) for SmallWebRTC")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
QUESTION_WAV = EXAMPLES / "assets" / "question.wav"
QUESTION = "What's the weather like in Paris today?"
ANSWER = "Sunny and twenty-one degrees in Paris."
LEAD_IN = 3.0  # seconds of silence before the question: time for ICE, DTLS and the Live setup


class TimedResponder:
    """Answers the question, and notes when the emulator heard the user stop speaking.

    The emulator calls ``reply`` the moment its VAD has heard ``end_seconds`` of quiet, so the
    speech ended that long before (to within one 50 ms input chunk).
    """

    def __init__(self) -> None:
        self.speech_ends: list[float] = []  # time.time() of each end of speech
        self.turns: list[UserTurn] = []

    def reply(self, turn: UserTurn, setup: dict[str, Any]) -> Reply:
        self.speech_ends.append(time.time() - VadSettings.from_setup(setup).end_seconds)
        self.turns.append(turn)
        return Reply(input_transcript=QUESTION, text=ANSWER)


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def chromium_args(mic_wav: Path) -> list[str]:
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic_wav}%noloop",  # play once, then silence
        "--autoplay-policy=no-user-gesture-required",
    ]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_a_browser_speaks_into_the_page_and_hears_and_reads_the_reply(
    tmp_path: Path,
    gemini_live_emulator_factory: Callable[..., Any],
    record_property: Callable[[str, object], None],
) -> None:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    from webrtc_browser import create_app

    # The fake microphone: silence while the call connects, then the spoken question, once.
    pcm, rate, channels = read_wav(QUESTION_WAV)
    assert rate in (16000, 48000), "Chromium's fake capture wants 16 or 48 kHz"
    mic_wav = tmp_path / "mic.wav"
    mic_wav.write_bytes(
        wav_bytes(silence(LEAD_IN, rate, channels) + pcm + silence(0.5, rate, channels), rate)
    )

    responder = TimedResponder()
    emu = await gemini_live_emulator_factory(api_key="test-key", responder=responder, pace=1.0)
    app = create_app(lambda: GeminiLiveService(api_key="test-key", base_url=emu.base_url))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    console: list[str] = []
    try:
        await wait_until(lambda: server.started, 10, "uvicorn to start")
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch_persistent_context(
                str(tmp_path / "profile"),  # a fresh, empty profile
                executable_path=str(CHROMIUM),
                headless=True,
                args=chromium_args(mic_wav),
            )
            try:
                page = browser.pages[0] if browser.pages else await browser.new_page()
                page.on("console", lambda message: console.append(message.text))
                page.on("pageerror", lambda error: console.append(f"page error: {error}"))
                await page.goto(f"http://127.0.0.1:{port}/")
                await page.click("#connect")
                await page.wait_for_function(
                    "window.geminiLive.state === 'connected'", polling=50, timeout=15_000
                )
                # The whole exchange: the reply is heard, read, and the bot has finished.
                await page.wait_for_function(
                    """() => {
                        const g = window.geminiLive;
                        return g.transcript.some((l) => l.role === "bot" && l.text.includes("Paris"))
                            && g.speakingLog.some((e) => e.role === "bot" && !e.speaking);
                    }""",
                    polling=100,
                    timeout=25_000,
                )
                hooks = await page.evaluate("window.geminiLive")
                user_lines = await page.locator("#transcript .line.user").all_inner_texts()
                bot_lines = await page.locator("#transcript .line.bot").all_inner_texts()
                bot_indicator = await page.get_attribute("#bot-speaking", "class")
                user_indicator = await page.get_attribute("#user-speaking", "class")
                session = emu.sessions[0]

                await page.click("#connect")  # hang up: the bot's pipeline ends with the call
                await wait_until(lambda: not app.state.bots, 10, "the bot to end after hang-up")
            finally:
                await browser.close()
    except Exception:
        print("\n".join(["browser console:", *console]))
        raise
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)

    assert not hooks["errors"], hooks["errors"]
    # The user's speech reached the model: the emulator heard one utterance of about 2 s.
    assert session.audio_seconds_received > LEAD_IN + 1.5
    assert {rate for rate, _ in session.audio_chunks} == {16000}
    assert len(responder.turns) == 1 and 1.5 < responder.turns[0].speech_seconds < 3.5
    # The browser played audible bot audio for about as long as the answer lasts.
    bot_audio, mic = hooks["botAudioStats"], hooks["micStats"]
    assert mic["maxRms"] > 0.05, "the fake microphone was silent"
    assert bot_audio["maxRms"] > 0.05 and bot_audio["voicedMs"] > 1500
    # Both sides' words are on the page, each on its own line.
    assert user_lines == [QUESTION]
    assert bot_lines == [ANSWER]
    # The speaking indicators went on and off for both sides, and are off at the end.
    for role in ("user", "bot"):
        changes = [e["speaking"] for e in hooks["speakingLog"] if e["role"] == role]
        assert changes[:2] == [True, False], (role, hooks["speakingLog"])
    assert "on" not in (bot_indicator or "").split()
    assert "on" not in (user_indicator or "").split()

    # Latency from the end of the user's speech to the first audible bot audio in the browser.
    assert hooks["replies"], "the page did not see the user stop and the bot start"
    heard_ms = hooks["replies"][0]["ms"]  # both ends measured in the page
    server_ms = bot_audio["firstVoicedAt"] - responder.speech_ends[0] * 1000  # one host clock
    margin_ms = mic["firstVoicedAt"] - hooks["connectedAt"]
    print(
        f"\nLATENCY end of user speech -> first bot audio in the browser: {heard_ms:.0f} ms "
        f"(page: mic analyser -> speaker analyser); {server_ms:.0f} ms from the emulator's end "
        f"of speech; service TTFB {hooks['ttfb'][0] * 1000:.0f} ms. "
        f"(The call was up {margin_ms:.0f} ms before the speech began.)"
    )
    record_property("latency_ms", round(heard_ms))
    assert 0 < heard_ms < 4000
    assert 0 < server_ms < 4000
