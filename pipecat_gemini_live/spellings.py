"""The built-in ``GeminiLiveLLMService``'s settings, spelled its way, translated to ours.

A bot written for Pipecat's built-in service hands in ``GeminiVADParams``,
``ContextWindowCompressionParams``, google-genai's ``ThinkingConfig`` and ``ProactivityConfig``,
``GeminiMediaResolution``, ``Language`` and ``modalities``. Each is read by its fields (no
import of the built-in needed) and becomes the one setting of ours that says the same, so the
stored settings only ever hold our spelling. Two spellings of one setting in one update must
agree; anything unknown is an error that names what is known.
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import TYPE_CHECKING, Any

from pipecat.utils.types import NOT_GIVEN, is_given

from pipecat_gemini_live.config import (
    ActivityHandling,
    ContextCompression,
    MediaResolution,
    TurnCoverage,
    VADSettings,
)
from pipecat_gemini_live.errors import ConfigurationError

if TYPE_CHECKING:
    from pipecat_gemini_live.settings import GeminiLiveSettings


def translate(delta: GeminiLiveSettings) -> GeminiLiveSettings:
    """``delta`` in our spelling only (a copy); raises :class:`ConfigurationError`."""
    if delta.extra:
        known = ", ".join(f.name for f in fields(delta) if f.name != "extra")
        raise ConfigurationError(
            f"Unknown setting(s) {', '.join(sorted(delta.extra))}. Settings are: {known}."
        )
    out = delta.copy()
    for builtin, translator in BUILTIN_FIELDS.items():
        value = getattr(out, builtin)
        setattr(out, builtin, NOT_GIVEN)
        if is_given(value):
            for name, translated in translator(value).items():
                _set_once(out, name, translated, builtin)
    _normalise_values(out)
    return out


def _set_once(out: GeminiLiveSettings, name: str, value: Any, spelled_as: str) -> None:
    current = getattr(out, name)
    if is_given(current) and current != value:
        raise ConfigurationError(
            f"{name}={current!r} and {spelled_as}= (which sets {name}={value!r}) disagree: "
            f"give one of them."
        )
    setattr(out, name, value)


def _normalise_values(out: GeminiLiveSettings) -> None:
    """The built-in's value types in our fields: ``GeminiVADParams``, ``Language``,
    ``GeminiMediaResolution``, google-genai's ``TurnCoverage`` and ``ActivityHandling``."""
    if is_given(out.vad):
        out.vad = vad_settings(out.vad)
    if is_given(out.language) and out.language is not None:
        out.language = language_code(out.language)
    if is_given(out.media_resolution) and out.media_resolution is not None:
        out.media_resolution = _enum(MediaResolution, out.media_resolution, "media_resolution")
    if is_given(out.turn_coverage) and out.turn_coverage is not None:
        out.turn_coverage = _enum(TurnCoverage, out.turn_coverage, "turn_coverage")
    if is_given(out.activity_handling) and out.activity_handling is not None:
        out.activity_handling = _enum(ActivityHandling, out.activity_handling, "activity_handling")


def vad_settings(value: Any) -> VADSettings:
    """``VADSettings``, the built-in's ``GeminiVADParams`` (or its dict), or ``None`` (the
    server's VAD with its defaults, as the built-in reads it)."""
    if isinstance(value, VADSettings):
        return value
    if value is None:
        return VADSettings()
    get = _reader(value, "vad")
    return VADSettings(
        disabled=bool(get("disabled")),
        start_sensitivity=get("start_sensitivity"),
        end_sensitivity=get("end_sensitivity"),
        prefix_padding_ms=get("prefix_padding_ms"),
        silence_duration_ms=get("silence_duration_ms"),
    )


def language_code(value: Any) -> str:
    """A BCP-47 string as given; Pipecat's ``Language`` as the code Gemini wants for it
    (Pipecat's own mapping: ``Language.ES`` is ``"es-ES"``)."""
    from pipecat.transcriptions.language import Language

    if isinstance(value, Language):
        from pipecat.services.google.gemini_live.llm import language_to_gemini_language

        return str(language_to_gemini_language(value) or value.value)
    if isinstance(value, str):
        return value
    raise ConfigurationError(
        f"language must be a BCP-47 code such as 'en-US' or a pipecat Language, got {value!r}."
    )


def _modalities(value: Any) -> dict[str, Any]:
    items = value if isinstance(value, (list, tuple)) else [value]
    names = {str(getattr(item, "value", item)).upper() for item in items}
    if not names <= {"AUDIO", "TEXT"} or len(names) != 1:
        raise ConfigurationError(f"modalities must be AUDIO or TEXT (one of them), got {value!r}.")
    return {"text_output": names == {"TEXT"}}


def _compression(value: Any) -> dict[str, Any]:
    """``ContextWindowCompressionParams(enabled=, trigger_tokens=)`` or its dict; as in the
    built-in, compression is off unless ``enabled``."""
    if value is None or isinstance(value, ContextCompression):
        return {"context_compression": value}
    get = _reader(value, "context_window_compression")
    if not get("enabled"):
        return {"context_compression": None}
    return {"context_compression": ContextCompression(trigger_tokens=get("trigger_tokens"))}


def _thinking(value: Any) -> dict[str, Any]:
    """google-genai's ``ThinkingConfig`` (or its dict): only what it says."""
    if value is None:
        return {}
    get = _reader(value, "thinking")
    out: dict[str, Any] = {}
    if get("thinking_budget") is not None:
        out["thinking_budget"] = get("thinking_budget")
    if (level := get("thinking_level")) is not None:
        out["thinking_level"] = str(getattr(level, "value", level)).lower()
    if get("include_thoughts") is not None:
        out["include_thoughts"] = bool(get("include_thoughts"))
    return out


def _affective_dialog(value: Any) -> dict[str, Any]:
    # The built-in sends enableAffectiveDialog only when it is on.
    return {"affective_dialog": True if value else None}


def _proactivity(value: Any) -> dict[str, Any]:
    """google-genai's ``ProactivityConfig`` (or its dict)."""
    if value is None:
        return {"proactive_audio": None}
    proactive = _reader(value, "proactivity")("proactive_audio")
    return {"proactive_audio": None if proactive is None else bool(proactive)}


# The built-in's field -> what it says in ours (the fields of ours it sets).
BUILTIN_FIELDS = {
    "modalities": _modalities,
    "context_window_compression": _compression,
    "thinking": _thinking,
    "enable_affective_dialog": _affective_dialog,
    "proactivity": _proactivity,
}


def _reader(value: Any, what: str) -> Any:
    """Read fields off a pydantic model, a dataclass-like object or a dict; an unknown key
    in a dict is an error (a typo would otherwise be dropped)."""
    if isinstance(value, dict):
        allowed = _DICT_KEYS[what]
        unknown = set(value) - allowed
        if unknown:
            raise ConfigurationError(
                f"{what}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(allowed))}."
            )
        return value.get
    return lambda name: getattr(value, name, None)


_DICT_KEYS = {
    "vad": {
        "disabled",
        "start_sensitivity",
        "end_sensitivity",
        "prefix_padding_ms",
        "silence_duration_ms",
    },
    "context_window_compression": {"enabled", "trigger_tokens"},
    "thinking": {"thinking_budget", "thinking_level", "include_thoughts"},
    "proactivity": {"proactive_audio"},
}


def _enum(kind: type[Enum], value: Any, what: str) -> Any:
    """Our enum from itself, google-genai's or Pipecat's enum of the same wire value, or
    the wire string; ``*_UNSPECIFIED`` means the server's default (``None``)."""
    text = str(getattr(value, "value", value))
    if text.endswith("_UNSPECIFIED"):
        return None
    for member in kind:
        if text in (member.value, member.name):
            return member
    valid = ", ".join(f"{kind.__name__}.{m.name}" for m in kind)
    raise ConfigurationError(f"{what} must be one of {valid}, got {value!r}.")
