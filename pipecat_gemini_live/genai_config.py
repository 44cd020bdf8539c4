"""google-genai's ``types.LiveConnectConfig`` as extra ``setup`` fields: the escape hatch for
what the settings do not model (``safety_settings``, ``explicit_vad_signal``, fields newer
than this package).

The SDK's own converter places each field where the wire wants it, so a field the SDK learns
arrives here with it. Fields the settings model have one owner, the settings: giving one here
is an error that names the setting to use, not a silent override either way.
"""

from __future__ import annotations

import json
from typing import Any

from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.models import Backend
from pipecat_gemini_live.protocol import camel_case

# Wire paths the service sets itself -> where to set them instead.
OWNED = {
    "model": "model=",
    "systemInstruction": "system_instruction=",
    "tools": "tools= (or register_function with a ToolsSchema)",
    "sessionResumption": "resumption_handle= (resumption is always on)",
    "historyConfig": "the context (history is seeded from it)",
    "inputAudioTranscription": "Settings(input_transcription=)",
    "outputAudioTranscription": "Settings(output_transcription=)",
    "contextWindowCompression": "Settings(context_compression=)",
    "proactivity": "Settings(proactive_audio=)",
    "generationConfig.responseModalities": "Settings(text_output=)",
    "generationConfig.speechConfig.voiceConfig": "Settings(voice=)",
    "generationConfig.speechConfig.languageCode": "Settings(language=)",
    "generationConfig.temperature": "Settings(temperature=)",
    "generationConfig.topP": "Settings(top_p=)",
    "generationConfig.topK": "Settings(top_k=)",
    "generationConfig.maxOutputTokens": "Settings(max_tokens=)",
    "generationConfig.seed": "Settings(seed=)",
    "generationConfig.frequencyPenalty": "Settings(frequency_penalty=)",
    "generationConfig.presencePenalty": "Settings(presence_penalty=)",
    "generationConfig.thinkingConfig": "Settings(thinking_level=, thinking_budget=, "
    "include_thoughts=)",
    "generationConfig.enableAffectiveDialog": "Settings(affective_dialog=)",
    "generationConfig.mediaResolution": "Settings(media_resolution=)",
    "generationConfig.translationConfig": "Settings(translation=)",
    "realtimeInputConfig.automaticActivityDetection": "Settings(vad=VADSettings(...))",
    "realtimeInputConfig.activityHandling": "Settings(activity_handling=)",
    "realtimeInputConfig.turnCoverage": "Settings(turn_coverage=)",
}
# Maps whose keys are the user's own (label names), left as they are.
_FREE_FORM = frozenset({"labels"})


def setup_fields(live_connect_config: Any, backend: Backend) -> dict[str, Any]:
    """The wire ``setup`` fields of ``live_connect_config`` (a ``LiveConnectConfig`` or its
    dict), camelCase throughout; raises :class:`ConfigurationError`."""
    if live_connect_config is None:
        return {}
    from google.genai import _api_client, _common, _live_converters, types

    try:
        config = types.LiveConnectConfig.model_validate(live_connect_config)
    except ValueError as error:
        raise ConfigurationError(
            f"live_connect_config is not a LiveConnectConfig: {error}"
        ) from None
    if config.http_options is not None:
        raise ConfigurationError(
            "live_connect_config.http_options: give the endpoint as base_url= and headers=."
        )
    parameters = types.LiveConnectParameters(model="models/-", config=config)
    convert = (
        _live_converters._LiveConnectParameters_to_vertex
        if backend is Backend.VERTEX
        else _live_converters._LiveConnectParameters_to_mldev
    )
    try:
        converted = convert(
            api_client=_api_client.BaseApiClient(api_key="-"),
            from_object=parameters.model_dump(exclude_none=True),
        )
    except ValueError as error:  # the SDK's own refusals, e.g. a Vertex-only field
        raise ConfigurationError(f"live_connect_config: {error}") from None
    setup = json.loads(json.dumps(_common.convert_to_dict(converted).get("setup", {})))
    setup.pop("model", None)
    setup = _camel(setup)
    owned = [f"{path} (set it with {where})" for path, where in OWNED.items() if _has(setup, path)]
    if owned:
        raise ConfigurationError(
            "live_connect_config sets what this service's own settings set: "
            + "; ".join(owned)
            + ". Give those there; live_connect_config is for the fields they do not cover."
        )
    return setup


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel_case(k): v if k in _FREE_FORM else _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _has(setup: dict[str, Any], path: str) -> bool:
    node: Any = setup
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
