"""Gemini-only features reach the wire in the right shape, or are refused with the models that
support them: translation, languages, thinking and thoughts, affective dialog, proactive audio."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import LLMThoughtTextFrame, TTSAudioRawFrame

from pipecat_gemini_live import ConfigurationError, GeminiLiveService, TranslationSettings
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from tests.pipeline_kit import running_bot, silence, speech

Settings = GeminiLiveService.Settings


async def setup_sent(emu: LiveEmulator, **kwargs) -> dict:
    llm = GeminiLiveService(api_key="test-key", base_url=emu.base_url, **kwargs)
    async with running_bot([llm]) as bot:
        await bot.say(silence(0.1))
        await emu.wait_for_session()
    return emu.sessions[-1].setup


async def test_translation_and_language_reach_generation_config():
    async with LiveEmulator(api_key="test-key") as emu:
        setup = await setup_sent(
            emu,
            settings=Settings(
                language="es-US",
                translation=TranslationSettings("es", echo_target_language=False),
            ),
        )
    generation = setup["generation_config"]
    assert generation["translation_config"] == {
        "target_language_code": "es",
        "echo_target_language": False,
    }
    assert generation["speech_config"]["language_code"] == "es-US"


def test_bad_language_codes_are_refused_with_an_example():
    with pytest.raises(ConfigurationError, match="BCP-47 code such as"):
        TranslationSettings("Spanish")
    with pytest.raises(ConfigurationError, match="BCP-47 code such as"):
        GeminiLiveService(api_key="k", settings=Settings(language="english please"))


async def test_thought_summaries_become_thought_frames_on_a_thinking_model():
    reply = Reply(text="Four.", thought="Two plus two is four.")
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            model="gemini-3.8-live-extended-thinking",
            settings=Settings(thinking_level="high", include_thoughts=True),
        )
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.5) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame), 10)
        thinking = emu.sessions[0].setup["generation_config"]["thinking_config"]
    assert thinking == {"thinking_level": "HIGH", "include_thoughts": True}
    assert [f.text for f in bot.tail.frames(LLMThoughtTextFrame)] == ["Two plus two is four."]


@pytest.mark.parametrize(
    ("model", "settings", "message"),
    [
        ("gemini-3.8-live", Settings(include_thoughts=True), "does not think"),
        ("gemini-3.8-live", Settings(affective_dialog=True), "does not support affective"),
        ("gemini-3.8-live", Settings(proactive_audio=False), "rejects proactive_audio=False"),
        ("gemini-3.1-flash-live-preview", Settings(proactive_audio=True), "proactive audio"),
        ("gemini-3.8-live", Settings(thinking_budget=512), "does not take a thinking budget"),
    ],
)
def test_features_a_model_lacks_are_refused_naming_the_models_that_have_them(
    model, settings, message
):
    with pytest.raises(ConfigurationError, match=message) as error:
        GeminiLiveService(api_key="k", model=model, settings=settings)
    if "rejects" not in message:  # (always-on proactive audio says "leave it unset" instead)
        assert "gemini-" in str(error.value).split(message, 1)[1]  # names the models that do


async def test_affective_dialog_and_proactive_audio_reach_setup_on_2_5():
    async with LiveEmulator(api_key="test-key") as emu:
        setup = await setup_sent(
            emu,
            model="gemini-2.5-flash-native-audio-preview-12-2025",
            settings=Settings(affective_dialog=True, proactive_audio=True, thinking_budget=256),
        )
    assert setup["generation_config"]["enable_affective_dialog"] is True
    assert setup["proactivity"] == {"proactive_audio": True}
    assert setup["generation_config"]["thinking_config"] == {"thinking_budget": 256}
