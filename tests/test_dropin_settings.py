"""The built-in's spellings, mapped onto ours one by one, and what is refused (with a message
that says what to do). Each value is checked where it ends up: the setup message."""

from __future__ import annotations

import pytest
from google.genai import types
from pipecat.services.google.gemini_live.llm import (
    ContextWindowCompressionParams,
    GeminiMediaResolution,
    GeminiModalities,
    GeminiVADParams,
    InputParams,
)
from pipecat.services.settings import LLMSettings
from pipecat.transcriptions.language import Language

from pipecat_gemini_live import ConfigurationError, GeminiLiveService, VADSettings, protocol
from pipecat_gemini_live.dropin import GeminiLiveLLMService

THINKING = "gemini-3.1-flash-live-preview"  # takes thinking levels
BUDGET = "gemini-2.5-flash-native-audio-preview-12-2025"  # takes budgets, affective dialog
URL = "ws://127.0.0.1:9"


def setup_of(**settings) -> dict:
    """The setup message a service built with these Settings fields would send."""
    llm = GeminiLiveService(
        api_key="k", base_url=URL, settings=GeminiLiveService.Settings(**settings)
    )
    return protocol.setup_message(llm.session_config)["setup"]


@pytest.mark.parametrize(
    ("settings", "path", "expected"),
    [
        (
            {
                "vad": GeminiVADParams(
                    start_sensitivity=types.StartSensitivity.START_SENSITIVITY_HIGH,
                    end_sensitivity=types.EndSensitivity.END_SENSITIVITY_LOW,
                    prefix_padding_ms=40,
                    silence_duration_ms=300,
                )
            },
            "realtimeInputConfig.automaticActivityDetection",
            {
                "startOfSpeechSensitivity": "START_SENSITIVITY_HIGH",
                "endOfSpeechSensitivity": "END_SENSITIVITY_LOW",
                "prefixPaddingMs": 40,
                "silenceDurationMs": 300,
            },
        ),
        (
            {"vad": GeminiVADParams(disabled=True)},
            "realtimeInputConfig.automaticActivityDetection",
            {"disabled": True},
        ),
        (
            {"vad": {"disabled": True, "start_sensitivity": "START_SENSITIVITY_UNSPECIFIED"}},
            "realtimeInputConfig.automaticActivityDetection",
            {"disabled": True},
        ),
        (
            {"context_window_compression": ContextWindowCompressionParams(enabled=True)},
            "contextWindowCompression",
            {"slidingWindow": {}},
        ),
        (
            {"context_window_compression": {"enabled": True, "trigger_tokens": 9000}},
            "contextWindowCompression",
            {"slidingWindow": {}, "triggerTokens": 9000},
        ),
        ({"context_window_compression": {}}, "contextWindowCompression", None),
        (
            {"model": THINKING, "thinking": types.ThinkingConfig(thinking_level="HIGH")},
            "generationConfig.thinkingConfig",
            {"thinkingLevel": "HIGH"},
        ),
        (
            {"model": BUDGET, "thinking": {"thinking_budget": 512, "include_thoughts": True}},
            "generationConfig.thinkingConfig",
            {"thinkingBudget": 512, "includeThoughts": True},
        ),
        (
            {"model": BUDGET, "enable_affective_dialog": True},
            "generationConfig.enableAffectiveDialog",
            True,
        ),
        ({"model": BUDGET, "enable_affective_dialog": False}, "generationConfig", "absent"),
        (
            {"model": BUDGET, "proactivity": types.ProactivityConfig(proactive_audio=True)},
            "proactivity",
            {"proactiveAudio": True},
        ),
        (
            {"media_resolution": GeminiMediaResolution.LOW},
            "generationConfig.mediaResolution",
            "MEDIA_RESOLUTION_LOW",
        ),
        ({"media_resolution": GeminiMediaResolution.UNSPECIFIED}, "generationConfig", "absent"),
        ({"modalities": GeminiModalities.AUDIO}, "generationConfig.responseModalities", ["AUDIO"]),
        ({"language": Language.ES}, "generationConfig.speechConfig.languageCode", "es-ES"),
        ({"language": "hi-IN"}, "generationConfig.speechConfig.languageCode", "hi-IN"),
        (
            {"turn_coverage": types.TurnCoverage.TURN_INCLUDES_ALL_INPUT},
            "realtimeInputConfig.turnCoverage",
            "TURN_INCLUDES_ALL_INPUT",
        ),
        (
            {"activity_handling": types.ActivityHandling.NO_INTERRUPTION},
            "realtimeInputConfig.activityHandling",
            "NO_INTERRUPTION",
        ),
        ({"seed": 7}, "generationConfig.seed", 7),
        ({"frequency_penalty": 0.5}, "generationConfig.frequencyPenalty", 0.5),
        ({"presence_penalty": 0.25}, "generationConfig.presencePenalty", 0.25),
    ],
)
def test_each_builtin_spelling_reaches_the_setup(settings, path, expected):
    setup = setup_of(**settings)
    *parents, leaf = path.split(".")
    node = setup
    for part in parents:
        node = node[part]
    if expected == "absent":
        name = next(iter(settings.keys() - {"model"}))
        wire = {
            "enable_affective_dialog": "enableAffectiveDialog",
            "media_resolution": "mediaResolution",
        }
        assert wire[name] not in node[leaf]
    elif expected is None:
        assert leaf not in node
    else:
        assert node[leaf] == expected


def test_the_stored_settings_hold_our_spelling_only():
    llm = GeminiLiveService(
        api_key="k",
        base_url=URL,
        settings=GeminiLiveService.Settings(
            model=THINKING,
            thinking=types.ThinkingConfig(thinking_level="low"),
            vad=GeminiVADParams(disabled=True),
        ),
    )
    stored = llm._settings
    assert stored.thinking is None and stored.thinking_level == "low"
    assert stored.vad == VADSettings(disabled=True)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"model": THINKING, "thinking": {"thinking_level": "LOW"}, "thinking_level": "high"},
            "disagree",
        ),
        ({"modalities": GeminiModalities.TEXT}, "answers in audio only"),
        ({"modalities": ["AUDIO", "TEXT"]}, "AUDIO or TEXT"),
        ({"vad": {"disable": True}}, "unknown key"),
        ({"thinking": {"level": "low"}}, "unknown key"),
        ({"media_resolution": "MEDIA_RESOLUTION_ULTRA"}, "MediaResolution.LOW"),
        ({"language": Language}, "BCP-47"),
        ({"frequency_penalty": 3.0}, "frequency_penalty must be between"),
    ],
)
def test_what_is_refused_says_what_to_do(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        setup_of(**settings)


def test_an_unknown_setting_in_a_dict_update_is_named():
    delta = GeminiLiveService.Settings.from_mapping({"voice_id": "Kore", "speed": 1.2})
    assert delta.voice == "Kore"  # the built-in's alias
    with pytest.raises(ConfigurationError, match=r"Unknown setting.*speed"):
        GeminiLiveService(api_key="k", base_url=URL, settings=delta)


async def test_a_live_update_in_the_builtins_spelling_applies():
    llm = GeminiLiveService(api_key="k", base_url=URL, model=THINKING)
    changed = await llm._update_settings(
        GeminiLiveService.Settings(
            vad=GeminiVADParams(silence_duration_ms=250),
            thinking=types.ThinkingConfig(thinking_level="HIGH"),
        )
    )
    assert set(changed) == {"vad", "thinking_level"}
    assert llm.session_config.vad.silence_duration_ms == 250
    assert llm.session_config.thinking_level == "high"


async def test_a_live_update_with_a_bad_builtin_value_is_refused_whole():
    llm = GeminiLiveService(api_key="k", base_url=URL)
    errors = []

    async def push_error(error_msg, **_):
        errors.append(error_msg)

    llm.push_error = push_error  # type: ignore[method-assign]
    changed = await llm._update_settings(
        GeminiLiveService.Settings(voice="Kore", vad={"disable": True})
    )
    assert changed == {} and llm.session_config.voice == "Puck"
    assert "refused" in errors[0] and "disable" in errors[0]


# ----------------------------------------------------------------------------- the constructor


def dropin(**kwargs) -> GeminiLiveLLMService:
    kwargs.setdefault("api_key", "k")
    return GeminiLiveLLMService(**kwargs)


def test_the_builtins_defaults_for_what_the_user_hears():
    config = dropin(http_options={"base_url": URL}).session_config
    assert (config.voice, config.language, config.max_output_tokens) == ("Charon", "en-US", 4096)
    assert config.context_compression is not None  # ours: long calls survive


def test_voice_id_and_settings_precedence_as_the_builtin():
    assert dropin(voice_id="Kore", base_url=URL).session_config.voice == "Kore"
    settings = GeminiLiveLLMService.Settings(voice="Aoede")
    assert dropin(voice_id="Kore", settings=settings, base_url=URL).session_config.voice == "Aoede"


def test_params_are_read_only_without_settings():
    params = InputParams(temperature=0.4, language=Language.FR, max_tokens=100)
    config = dropin(params=params, base_url=URL).session_config
    assert (config.temperature, config.language, config.max_output_tokens) == (0.4, "fr-FR", 100)
    settings = GeminiLiveLLMService.Settings(temperature=0.9)
    both = dropin(params=params, settings=settings, base_url=URL).session_config
    assert (both.temperature, both.language, both.max_output_tokens) == (0.9, "en-US", 4096)
    with pytest.raises(ConfigurationError, match=r"InputParams\.extra"):
        dropin(params=InputParams(extra={"foo": 1}), base_url=URL)


def test_http_options_give_the_endpoint_version_and_headers():
    llm = dropin(
        http_options=types.HttpOptions(
            base_url="https://proxy.example:8443/gemini",
            api_version="v1alpha",
            headers={"x-proxy-auth": "p"},
        )
    )
    assert llm.url == (
        "wss://proxy.example:8443/gemini/ws/google.ai.generativelanguage.v1alpha"
        ".GenerativeService.BidiGenerateContent"
    )
    assert llm._access._extra_headers == {"x-proxy-auth": "p"}


async def test_handshake_headers_are_extra_and_the_credentials_win():
    llm = GeminiLiveService(
        api_key="the-key", base_url=URL, headers={"x-proxy-auth": "p", "x-goog-api-key": "no"}
    )
    assert await llm._access.headers() == {"x-proxy-auth": "p", "x-goog-api-key": "the-key"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"file_api_base_url": "https://files.example"}, "no Gemini File API"),
        ({"http_options": types.HttpOptions(timeout=5000)}, "timeout configure an HTTP client"),
        (
            {"http_options": {"base_url": "https://a.example"}, "base_url": "https://b.example"},
            "given twice",
        ),
        ({"http_options": {"async_client_args": {"trust_env": True}}}, "async_client_args"),
    ],
)
def test_the_constructor_refuses_clearly(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        dropin(**kwargs)


def test_preroll_and_paused_inputs():
    llm = dropin(
        base_url=URL, user_audio_preroll_secs=0.3, start_audio_paused=True, start_video_paused=True
    )
    assert llm._input._preroll.maxlen == 300 // 50  # chunks of 50 ms
    assert llm._input.audio_paused and llm._input.video_paused


def test_the_dropin_is_our_service_with_our_settings_class():
    llm = dropin(base_url=URL)
    assert isinstance(llm, GeminiLiveService)
    assert GeminiLiveLLMService.Settings is GeminiLiveService.Settings
    assert issubclass(GeminiLiveLLMService.Settings, LLMSettings)


# ----------------------------------------------------------------------------- Vertex


def service_account_json() -> str:
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "p1",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "bot@p1.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def test_the_vertex_dropin_takes_the_builtins_credentials(tmp_path):
    from pipecat_gemini_live.dropin import GeminiLiveVertexLLMService

    key = service_account_json()
    (tmp_path / "key.json").write_text(key)
    for given in ({"credentials": key}, {"credentials_path": str(tmp_path / "key.json")}):
        llm = GeminiLiveVertexLLMService(location="us-east4", project_id="p1", **given)
        vertex = llm._access._vertex
        assert (vertex.project, vertex.location) == ("p1", "us-east4")
        assert vertex.credentials.service_account_email == "bot@p1.iam.gserviceaccount.com"
        assert llm.url.startswith("wss://us-east4-aiplatform.googleapis.com/")
        assert llm.session_config.voice == "Charon"  # the built-in's default, as above
    adc = GeminiLiveVertexLLMService(location="us-east4", project_id="p1")
    assert adc._access._vertex.credentials is None  # looked up when it connects, in a thread


def test_the_vertex_dropin_refuses_clearly_and_never_echoes_the_key():
    from pipecat_gemini_live.dropin import GeminiLiveVertexLLMService

    with pytest.raises(ConfigurationError, match="takes no api_key"):
        GeminiLiveVertexLLMService(location="l", project_id="p", api_key="k")
    secret = '{"private_key": "SECRET-MATERIAL", "type": "service_account"}'
    with pytest.raises(ConfigurationError, match="not a service account key") as caught:
        GeminiLiveVertexLLMService(location="l", project_id="p", credentials=secret)
    assert "SECRET" not in str(caught.value)
