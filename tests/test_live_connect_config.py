"""google-genai's LiveConnectConfig as the escape hatch for setup fields the settings do not
model: merged into the setup the server gets, refused (by name, with the setting to use) for
the fields the settings own, and refused as the SDK refuses it for the wrong backend."""

from __future__ import annotations

import pytest
from google.genai import types

from pipecat_gemini_live import ConfigurationError, GeminiLiveService, VertexSettings, protocol
from pipecat_gemini_live.emulator import LiveEmulator
from tests.pipeline_kit import running_bot, speech

SAFETY = [
    types.SafetySetting(
        category=types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
        threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
    )
]


async def test_fields_the_settings_do_not_model_reach_the_server():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            live_connect_config=types.LiveConnectConfig(safety_settings=SAFETY),
        )
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.2))
            await emu.wait_for_session()
        setup = emu.sessions[0].setup
        assert setup["safety_settings"] == [
            {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}
        ]
        # Merged, not replacing: what the settings set is still there.
        assert setup["generation_config"]["response_modalities"] == ["AUDIO"]


def test_a_dict_in_either_spelling_and_free_form_keys_kept():
    llm = GeminiLiveService(
        api_key="k",
        base_url="ws://127.0.0.1:9",
        live_connect_config={"safetySettings": [], "labels": {"cost_center": "a_b"}},
    )
    setup = protocol.setup_message(llm.session_config)["setup"]
    assert setup["labels"] == {"cost_center": "a_b"}  # a label's name is the user's own


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (types.LiveConnectConfig(temperature=0.2), r"generationConfig.temperature .*temperature="),
        (
            types.LiveConnectConfig(speech_config=types.SpeechConfig(language_code="fr-FR")),
            r"languageCode .*language=",
        ),
        (
            types.LiveConnectConfig(
                realtime_input_config=types.RealtimeInputConfig(
                    automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
                )
            ),
            r"automaticActivityDetection .*VADSettings",
        ),
        (types.LiveConnectConfig(explicit_vad_signal=True), "only supported in"),
        ({"safety_setting": []}, "not a LiveConnectConfig"),
        (
            types.LiveConnectConfig(http_options=types.HttpOptions(timeout=1)),
            "base_url= and headers=",
        ),
    ],
)
def test_what_the_settings_own_or_the_backend_refuses_is_an_error_that_says_so(config, message):
    with pytest.raises(ConfigurationError, match=message):
        GeminiLiveService(api_key="k", base_url="ws://127.0.0.1:9", live_connect_config=config)


def test_a_vertex_only_field_is_taken_on_vertex():
    llm = GeminiLiveService(
        api_key="k",
        model="gemini-live-2.5-flash-native-audio",
        vertex=VertexSettings(),
        live_connect_config=types.LiveConnectConfig(explicit_vad_signal=True),
    )
    assert protocol.setup_message(llm.session_config)["setup"]["explicitVadSignal"] is True
