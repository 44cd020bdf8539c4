"""The 30 prebuilt Gemini voices and their characters.

The list is Google's (Vertex, Firebase and the Gemini TTS tables all agree on these 30 names).
Names that circulate in tutorials, such as "Orbit" or "Vesta", are not Gemini voices; an unknown
name fails at construction with the closest real names, rather than at the first reply.
"""

from __future__ import annotations

import difflib

from pipecat_gemini_live.errors import ConfigurationError

DEFAULT_VOICE = "Puck"

VOICES: dict[str, str] = {
    "Zephyr": "Bright",
    "Puck": "Upbeat",
    "Charon": "Informative",
    "Kore": "Firm",
    "Fenrir": "Excitable",
    "Leda": "Youthful",
    "Orus": "Firm",
    "Aoede": "Breezy",
    "Callirrhoe": "Easy-going",
    "Autonoe": "Bright",
    "Enceladus": "Breathy",
    "Iapetus": "Clear",
    "Umbriel": "Easy-going",
    "Algieba": "Smooth",
    "Despina": "Smooth",
    "Erinome": "Clear",
    "Algenib": "Gravelly",
    "Rasalgethi": "Informative",
    "Laomedeia": "Upbeat",
    "Achernar": "Soft",
    "Alnilam": "Firm",
    "Schedar": "Even",
    "Gacrux": "Mature",
    "Pulcherrima": "Forward",
    "Achird": "Friendly",
    "Zubenelgenubi": "Casual",
    "Vindemiatrix": "Gentle",
    "Sadachbia": "Lively",
    "Sadaltager": "Knowledgeable",
    "Sulafat": "Warm",
}


def voice_character(name: str) -> str:
    """The one-word character Google gives a voice (``"Puck"`` -> ``"Upbeat"``)."""
    return VOICES[validate_voice(name)]


def validate_voice(name: str) -> str:
    """Return the canonical spelling of a prebuilt voice, or raise with the closest matches.

    Matching ignores case, because ``"puck"`` is an obvious intent; anything else is an error
    now rather than a server-side rejection later.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(
            f"voice must be one of the 30 prebuilt voice names, got {name!r}. "
            f"Valid voices: {', '.join(VOICES)}."
        )
    by_lower = {voice.lower(): voice for voice in VOICES}
    canonical = by_lower.get(name.strip().lower())
    if canonical:
        return canonical
    close = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(by_lower[c] for c in close)}?" if close else ""
    raise ConfigurationError(
        f"Unknown voice {name!r}: Gemini Live has 30 prebuilt voices.{hint} "
        f"Valid voices: {', '.join(f'{v} ({c})' for v, c in VOICES.items())}."
    )
