"""The built-in's spellings translated to ours, value by value, without a service: what
``translate`` hands the settings, and what its refusals say (tests/test_dropin_settings.py
follows the same spellings through a service into the setup message)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from google.genai import types
from pipecat.services.google.gemini_live.llm import GeminiModalities, GeminiVADParams
from pipecat.utils.types import is_given

from pipecat_gemini_live import ConfigurationError, VADSettings
from pipecat_gemini_live.config import (
    ActivityHandling,
    ContextCompression,
    MediaResolution,
    TurnCoverage,
)
from pipecat_gemini_live.settings import GeminiLiveSettings
from pipecat_gemini_live.spellings import BUILTIN_FIELDS, translate


def translated(**fields) -> GeminiLiveSettings:
    return translate(GeminiLiveSettings(**fields))


def test_the_translation_holds_none_of_the_builtins_fields():
    """A field left set would count as a change of its own in a live update."""
    out = translated(
        modalities=GeminiModalities.AUDIO,
        context_window_compression=None,
        thinking=None,
        enable_affective_dialog=False,
        proactivity=None,
    )
    assert [name for name in BUILTIN_FIELDS if is_given(getattr(out, name))] == []


def test_an_unknown_setting_is_refused_with_every_name_and_the_known_settings():
    delta = GeminiLiveSettings.from_mapping({"speed": 1.2, "tempo": 2})
    with pytest.raises(ConfigurationError) as refused:
        translate(delta)
    message = str(refused.value)
    assert message.startswith("Unknown setting(s) speed, tempo. Settings are: model, ")
    known = message.split("Settings are: ")[1].rstrip(".").split(", ")
    assert {"voice", "vad", "thinking_level", "proactivity"} <= set(known)
    assert "extra" not in known


def test_two_spellings_that_disagree_are_refused_naming_both():
    with pytest.raises(ConfigurationError) as refused:
        translated(thinking={"thinking_level": "LOW"}, thinking_level="high")
    assert str(refused.value) == (
        "thinking_level='high' and thinking= (which sets thinking_level='low') disagree: "
        "give one of them."
    )


def test_two_spellings_that_agree_are_taken():
    assert translated(thinking={"thinking_level": "LOW"}, thinking_level="low").thinking_level == (
        "low"
    )


# ----------------------------------------------------------------------------- values


def test_the_builtins_vad_params_become_our_vad_settings():
    out = translated(vad=GeminiVADParams(disabled=True, silence_duration_ms=300))
    assert out.vad == VADSettings(disabled=True, silence_duration_ms=300)


def test_an_update_that_does_not_mention_vad_leaves_it_as_it_is():
    """A live update of the voice alone must not reset the VAD to the server's defaults."""
    assert not is_given(translated(voice="Kore").vad)
    assert translated(vad=None).vad == VADSettings()  # None does: the built-in reads it so


def test_a_vad_object_without_some_fields_reads_them_as_not_set():
    # e.g. an older GeminiVADParams, or any object with the fields it has.
    out = translated(vad=SimpleNamespace(silence_duration_ms=250))
    assert out.vad == VADSettings(silence_duration_ms=250)


def test_unknown_keys_in_a_dict_are_all_named_with_the_known_ones():
    with pytest.raises(ConfigurationError) as refused:
        translated(vad={"disable": True, "silence_ms": 5})
    assert str(refused.value) == (
        "vad: unknown key(s) disable, silence_ms; known: disabled, end_sensitivity, "
        "prefix_padding_ms, silence_duration_ms, start_sensitivity."
    )


@pytest.mark.parametrize(
    ("field", "value", "ours"),
    [
        ("media_resolution", types.MediaResolution.MEDIA_RESOLUTION_LOW, MediaResolution.LOW),
        ("media_resolution", "MEDIA_RESOLUTION_HIGH", MediaResolution.HIGH),  # the wire string
        ("turn_coverage", types.TurnCoverage.TURN_INCLUDES_ALL_INPUT, TurnCoverage.ALL_INPUT),
        ("turn_coverage", "TURN_INCLUDES_ONLY_ACTIVITY", TurnCoverage.ONLY_ACTIVITY),
        (
            "activity_handling",
            types.ActivityHandling.NO_INTERRUPTION,
            ActivityHandling.NO_INTERRUPTION,
        ),
        ("activity_handling", "START_OF_ACTIVITY_INTERRUPTS", ActivityHandling.INTERRUPTS),
    ],
)
def test_google_genais_enums_and_wire_strings_become_ours(field, value, ours):
    assert getattr(translated(**{field: value}), field) is ours


@pytest.mark.parametrize("field", ["media_resolution", "turn_coverage", "activity_handling"])
def test_none_leaves_the_choice_to_the_server(field):
    assert getattr(translated(**{field: None}), field) is None


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("media_resolution", MediaResolution),
        ("turn_coverage", TurnCoverage),
        ("activity_handling", ActivityHandling),
    ],
)
def test_a_value_of_no_known_member_is_refused_naming_the_field_and_every_member(field, kind):
    with pytest.raises(ConfigurationError) as refused:
        translated(**{field: "SOMETHING_ELSE"})
    members = ", ".join(f"{kind.__name__}.{m.name}" for m in kind)
    assert str(refused.value) == f"{field} must be one of {members}, got 'SOMETHING_ELSE'."


@pytest.mark.parametrize(
    ("modalities", "text_output"),
    [
        (GeminiModalities.TEXT, True),
        (types.Modality.AUDIO, False),  # google-genai's enum: its value, not its str()
        ("audio", False),  # a plain string, in any case
        (["TEXT"], True),  # a list of one
        ((GeminiModalities.AUDIO,), False),
    ],
)
def test_modalities_become_text_output(modalities, text_output):
    assert translated(modalities=modalities).text_output is text_output


def test_a_context_compression_of_ours_is_taken_as_it_is():
    compression = ContextCompression(trigger_tokens=9000, target_tokens=4000)
    assert translated(context_window_compression=compression).context_compression == compression


def test_no_context_window_compression_turns_compression_off():
    assert translated(context_window_compression=None).context_compression is None


def test_a_thinking_dict_with_a_plain_level_string_is_taken_in_lower_case():
    assert translated(thinking={"thinking_level": "HIGH"}).thinking_level == "high"


@pytest.mark.parametrize(
    ("proactivity", "proactive_audio"),
    [
        (None, None),
        ({"proactive_audio": True}, True),
        ({"proactive_audio": False}, False),
        (types.ProactivityConfig(), None),  # it says nothing: the server's default
    ],
)
def test_the_builtins_proactivity_becomes_proactive_audio(proactivity, proactive_audio):
    assert translated(proactivity=proactivity).proactive_audio is proactive_audio


def test_an_unknown_key_in_a_proactivity_dict_is_named_as_proactivity():
    with pytest.raises(ConfigurationError, match=r"^proactivity: unknown key\(s\) audio;"):
        translated(proactivity={"audio": True})
