"""The model table and the voice catalogue: what each model takes, and names that say what to fix."""

import pytest

from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.models import (
    MODELS,
    Backend,
    ModelCapabilities,
    bare_model_id,
    capabilities_for,
)
from pipecat_gemini_live.voices import VOICES, validate_voice, voice_character


def test_async_tools_are_a_gemini_api_feature_of_the_models_that_have_them():
    model = MODELS["gemini-3.8-live"]  # served by both backends, async tools by default
    assert model.async_tools_on(Backend.GEMINI_API)
    assert not model.async_tools_on(Backend.VERTEX)  # Vertex rejects scheduling and ids
    legacy = MODELS["gemini-3.1-flash-live-preview"]
    assert not legacy.async_tools_on(Backend.GEMINI_API)


@pytest.mark.parametrize(
    "resource",
    [
        "gemini-3.8-live",
        "models/gemini-3.8-live",
        "publishers/google/models/gemini-3.8-live",
        "projects/my-project/locations/us-central1/publishers/google/models/gemini-3.8-live",
    ],
)
def test_every_spelling_of_a_model_resource_finds_the_same_table_entry(resource):
    assert bare_model_id(resource) == "gemini-3.8-live"
    assert capabilities_for(resource) is MODELS["gemini-3.8-live"]


def test_no_model_means_the_stable_default_and_an_override_describes_a_new_model():
    assert capabilities_for(None).model == "gemini-3.8-live"
    future = ModelCapabilities("gemini-9-live", async_function_calls=True)
    assert capabilities_for("gemini-9-live", future) is future


def test_a_near_miss_model_name_suggests_the_two_closest_models():
    with pytest.raises(ConfigurationError) as error:
        capabilities_for("gemini-2.5-flash-native-audio-preview")
    assert (
        "Did you mean gemini-2.5-flash-native-audio-preview-12-2025 or "
        "gemini-2.5-flash-native-audio-preview-09-2025? Known models:" in str(error.value)
    )


def test_an_unknown_model_lists_every_known_model_and_says_how_to_describe_a_new_one():
    with pytest.raises(ConfigurationError) as error:
        capabilities_for("my-own-model")
    message = str(error.value)
    # Nothing is close to it, so no guess comes between the name and the list.
    assert message.startswith(
        f"Unknown Live model 'my-own-model'. Known models: {', '.join(MODELS)}."
    )
    assert (
        "For a model released after this package, pass "
        "model_capabilities=ModelCapabilities(model=..., ...) describing what it accepts."
    ) in message


@pytest.mark.parametrize("name", [None, "", "   ", 7])
def test_a_missing_voice_name_is_refused_with_the_list_of_voices(name):
    with pytest.raises(ConfigurationError) as error:
        validate_voice(name)
    assert f"Valid voices: {', '.join(VOICES)}." in str(error.value)


def test_voice_names_are_matched_without_regard_to_case_or_surrounding_spaces():
    assert validate_voice("  KORE ") == "Kore"
    assert voice_character("charon") == "Informative"


def test_a_half_typed_voice_name_suggests_the_three_closest_voices():
    with pytest.raises(ConfigurationError) as error:
        validate_voice("Sada")
    assert "Did you mean Sadachbia, Sadaltager, Sulafat? Valid voices:" in str(error.value)


def test_an_unknown_voice_with_nothing_close_lists_every_voice_with_its_character():
    with pytest.raises(ConfigurationError) as error:
        validate_voice("Al")
    message = str(error.value)
    assert "Did you mean" not in message
    catalogue = ", ".join(f"{voice} ({character})" for voice, character in VOICES.items())
    assert message.endswith(f"Gemini Live has 30 prebuilt voices. Valid voices: {catalogue}.")
