"""Bad configuration fails at construction with a message that names the valid values."""

import pytest

from pipecat_gemini_live.config import ContextCompression, SessionConfig, VADSettings
from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.models import MODELS, capabilities_for
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
