"""Bad configuration fails at construction with a message that names the valid values."""

import pytest

from pipecat_gemini_live.config import (
    ContextCompression,
    SessionConfig,
    TranslationSettings,
    VADSettings,
    validate_language_code,
)
from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.models import MODELS, Backend, ProactiveAudio, Thinking, capabilities_for
from pipecat_gemini_live.voices import VOICES, validate_voice, voice_character


def session(model="gemini-3.8-live", **kwargs):
    return SessionConfig(model=model, capabilities=capabilities_for(model), **kwargs)


def test_there_are_thirty_voices_and_names_match_case_insensitively():
    assert len(VOICES) == 30
    assert validate_voice("puck") == "Puck"
    assert voice_character("Sulafat") == "Warm"


@pytest.mark.parametrize("tutorial_voice", ["Orbit", "Vesta"])
def test_voices_from_tutorials_that_do_not_exist_are_refused(tutorial_voice):
    with pytest.raises(ConfigurationError, match="Unknown voice") as error:
        validate_voice(tutorial_voice)
    assert "Zephyr (Bright)" in str(error.value)


def test_a_misspelt_voice_suggests_the_real_one():
    with pytest.raises(ConfigurationError, match="Did you mean Charon"):
        validate_voice("Charron")


def test_unknown_model_lists_the_known_ones_and_how_to_describe_a_new_one():
    with pytest.raises(ConfigurationError) as error:
        capabilities_for("gemini-9-live")
    assert "gemini-3.8-live" in str(error.value)
    assert "model_capabilities=ModelCapabilities" in str(error.value)
    assert capabilities_for("models/gemini-3.8-live") is MODELS["gemini-3.8-live"]


def test_features_are_checked_against_the_model():
    with pytest.raises(ConfigurationError, match=r"affective dialog\. Models that do"):
        session(affective_dialog=True).validate()
    with pytest.raises(ConfigurationError, match="rejects proactive_audio=False"):
        session(proactive_audio=False).validate()
    with pytest.raises(ConfigurationError, match="thinking level"):
        session(thinking_level="high").validate()
    with pytest.raises(ConfigurationError, match="valid levels: low, medium, high"):
        session("gemini-3.8-live-extended-thinking", thinking_level="max").validate()
    with pytest.raises(ConfigurationError, match="audio only"):
        session(text_output=True).validate()
    session("gemini-2.5-flash-native-audio-preview-12-2025", affective_dialog=True).validate()


def test_ranges_and_vad_values_are_checked():
    with pytest.raises(ConfigurationError, match="temperature must be between"):
        session(temperature=3.0).validate()
    with pytest.raises(ConfigurationError, match=r"LOW or Sensitivity\.HIGH"):
        VADSettings(start_sensitivity="loud")
    with pytest.raises(ConfigurationError, match="milliseconds"):
        VADSettings(silence_duration_ms=-5)
    with pytest.raises(ConfigurationError, match="must be smaller than trigger_tokens"):
        ContextCompression(trigger_tokens=100, target_tokens=200)
    assert VADSettings(end_sensitivity="high").end_sensitivity.value == "HIGH"


def test_zero_milliseconds_of_padding_or_silence_is_a_valid_vad_setting():
    vad = VADSettings(prefix_padding_ms=0, silence_duration_ms=0)
    assert (vad.prefix_padding_ms, vad.silence_duration_ms) == (0, 0)


@pytest.mark.parametrize("code", ["en", "es-US", "hi-IN", "cmn-CN", "zh-Hant-TW"])
def test_bcp47_language_codes_are_accepted(code):
    assert validate_language_code(code) == code
    session("gemini-live-2.5-flash-preview", language=code).validate()
    assert TranslationSettings(target_language=code).target_language == code


@pytest.mark.parametrize("code", ["english", "e", "en_US", "", 49])
def test_a_language_that_is_not_a_bcp47_code_is_refused_with_examples(code):
    with pytest.raises(ConfigurationError) as error:
        session(language=code).validate()
    assert str(error.value) == (
        f"language must be a BCP-47 code such as 'en', 'es-US' or 'hi-IN', got {code!r}."
    )


def test_a_translation_target_that_is_not_a_language_code_names_the_setting():
    with pytest.raises(ConfigurationError, match=r"^TranslationSettings\.target_language must be"):
        TranslationSettings(target_language="Spanish")


def test_compression_needs_positive_token_counts_and_a_target_below_the_trigger():
    assert ContextCompression(trigger_tokens=2, target_tokens=1).target_tokens == 1
    assert ContextCompression(trigger_tokens=1).trigger_tokens == 1
    with pytest.raises(ConfigurationError, match=r"^trigger_tokens must be > 0, got 0\."):
        ContextCompression(trigger_tokens=0)
    with pytest.raises(ConfigurationError, match=r"^target_tokens must be > 0, got 0\."):
        ContextCompression(target_tokens=0)
    with pytest.raises(ConfigurationError) as error:
        ContextCompression(trigger_tokens=1000, target_tokens=1000)
    assert str(error.value) == (
        "target_tokens (1000) must be smaller than trigger_tokens (1000): "
        "compression shrinks the context from the trigger down to the target."
    )


def test_non_blocking_tools_are_declared_only_where_the_model_and_backend_take_them():
    named = session(non_blocking_tools=frozenset({"search_flights"}))
    assert named.is_non_blocking("search_flights") and not named.is_non_blocking("get_time")
    everything = session(non_blocking_tools=frozenset({"*"}))
    assert everything.is_non_blocking("get_time")
    on_vertex = session(backend=Backend.VERTEX, non_blocking_tools=frozenset({"*"}))
    assert not on_vertex.async_tools and not on_vertex.is_non_blocking("get_time")
    legacy = session("gemini-3.1-flash-live-preview", non_blocking_tools=frozenset({"*"}))
    assert not legacy.is_non_blocking("get_time")


def test_a_model_on_the_wrong_backend_names_the_backend_that_serves_it():
    with pytest.raises(ConfigurationError) as error:
        session("gemini-3.1-flash-live-preview", backend=Backend.VERTEX).validate()
    assert str(error.value) == (
        "Model 'gemini-3.1-flash-live-preview' is served by the gemini backend, not vertex. "
        "Pick a model for this backend (see pipecat_gemini_live.models.MODELS)."
    )


def models_that(predicate) -> str:
    return ", ".join(m.model for m in MODELS.values() if predicate(m))


def test_a_refused_feature_names_the_models_that_have_it():
    cases = [
        (dict(text_output=True), lambda m: m.text_output),
        (dict(affective_dialog=True), lambda m: m.affective_dialog),
        (dict(include_thoughts=True), lambda m: m.thinking is not Thinking.NONE),
        (dict(thinking_budget=512), lambda m: m.thinking is Thinking.BUDGET),
        (dict(thinking_level="low"), lambda m: m.thinking is Thinking.LEVEL),
    ]
    for settings, has_it in cases:
        with pytest.raises(ConfigurationError) as error:
            session(**settings).validate()  # gemini-3.8-live has none of these
        assert models_that(has_it) in str(error.value), settings
    with pytest.raises(ConfigurationError) as error:
        session("gemini-3.1-flash-live-preview", proactive_audio=True).validate()
    supported = models_that(lambda m: m.proactive_audio is not ProactiveAudio.UNSUPPORTED)
    assert str(error.value) == (
        "Model 'gemini-3.1-flash-live-preview' does not support proactive audio. "
        f"Models that do: {supported}."
    )


def test_the_features_a_model_has_pass_validation():
    session("gemini-2.5-flash-native-audio-preview-12-2025", thinking_budget=0).validate()
    session("gemini-2.5-flash-native-audio-preview-12-2025", proactive_audio=False).validate()
    session("gemini-3.8-live", proactive_audio=True).validate()
    session("gemini-3.1-flash-live-preview", include_thoughts=True).validate()


def test_a_thinking_level_is_accepted_in_any_case_and_sent_as_the_model_lists_it():
    config = session("gemini-3.1-flash-live-preview", thinking_level="MINIMAL")
    config.validate()
    assert config.thinking_level == "minimal"


def test_sampling_settings_accept_their_whole_range_and_refuse_what_is_outside_it():
    session(temperature=0.0, top_p=0.0, top_k=1, max_output_tokens=1).validate()
    session(temperature=2.0, top_p=1.0).validate()
    refused = [
        (dict(temperature=2.5), "temperature must be between 0.0 and 2.0, got 2.5."),
        (dict(temperature=-0.1), "temperature must be between 0.0 and 2.0, got -0.1."),
        (dict(top_p=1.5), "top_p must be between 0.0 and 1.0, got 1.5."),
        (dict(top_k=0), "top_k must be >= 1, got 0."),
        (dict(max_output_tokens=0), "max_output_tokens must be >= 1, got 0."),
    ]
    for settings, message in refused:
        with pytest.raises(ConfigurationError) as error:
            session(**settings).validate()
        assert str(error.value) == message
