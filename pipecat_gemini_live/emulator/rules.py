"""What the server refuses, and with which close code: pure checks of client messages.

The codes and reasons are Google's: 1007 "Request contains an invalid argument." for a field
or value the model does not take, 1008 "models/X is not found for API version ..." for a model
it does not serve. Which model refuses what is in its profile's
:class:`~pipecat_gemini_live.emulator.profiles.ServerRules`.
"""

from __future__ import annotations

from typing import Any

from pipecat_gemini_live.emulator.profiles import ServerRules
from pipecat_gemini_live.emulator.wire import ClientError

INVALID = "Request contains an invalid argument."

_VALID_SENSITIVITY = {
    "start_of_speech_sensitivity": {
        "START_SENSITIVITY_UNSPECIFIED",
        "START_SENSITIVITY_HIGH",
        "START_SENSITIVITY_LOW",
    },
    "end_of_speech_sensitivity": {
        "END_SENSITIVITY_UNSPECIFIED",
        "END_SENSITIVITY_HIGH",
        "END_SENSITIVITY_LOW",
    },
}


def unknown_model(model_id: str, api_version: str) -> ClientError:
    return ClientError(
        1008,
        f"models/{model_id} is not found for API version {api_version}, or is not supported "
        "for bidiGenerateContent. Call ListModels to see the list of available models and "
        "their supported methods.",
    )


def check_setup(setup: dict[str, Any], rules: ServerRules) -> None:
    """Raise the server's :class:`ClientError` for a setup this model refuses."""
    model = setup.get("model")
    if not isinstance(model, str) or not model:
        raise ClientError(1007, INVALID)
    generation = setup.get("generation_config") or {}
    modalities = generation.get("response_modalities") or ["AUDIO"]
    if len(modalities) != 1 or modalities[0] not in ("AUDIO", "TEXT"):
        raise ClientError(1007, INVALID)
    if rules.audio_only and modalities != ["AUDIO"]:
        raise ClientError(1007, INVALID)
    realtime = setup.get("realtime_input_config") or {}
    detection = realtime.get("automatic_activity_detection") or {}
    for name, valid in _VALID_SENSITIVITY.items():
        if name in detection and detection[name] not in valid:
            raise ClientError(1007, INVALID)
    thinking = generation.get("thinking_config") or {}
    if rules.refuse_thinking_level and thinking.get("thinking_level"):
        raise ClientError(1007, INVALID)
    if rules.thinking_level_required and not thinking.get("thinking_level"):
        raise ClientError(1007, INVALID)
    if rules.refuse_affective_dialog and generation.get("enable_affective_dialog"):
        raise ClientError(1007, INVALID)
    proactivity = setup.get("proactivity") or {}
    if rules.proactive_audio_always_on and proactivity.get("proactive_audio") is False:
        raise ClientError(1007, INVALID)
    if rules.refuse_blocking_declarations and any(
        function.get("behavior") == "BLOCKING"
        for tool in setup.get("tools") or []
        for function in tool.get("function_declarations") or []
    ):
        raise ClientError(1007, INVALID)


def check_client_content(
    content: dict[str, Any], rules: ServerRules, *, model_has_spoken: bool
) -> None:
    """Raise the server's :class:`ClientError` for a ``clientContent`` this model refuses."""
    if rules.client_content == "initial_history_only" and model_has_spoken:
        # 3.1 takes clientContent only as initial history [doc]. Before the model's first
        # turn it takes it with or without historyConfig (recorded: a first user turn, no
        # historyConfig, answered).
        raise ClientError(1007, INVALID)
    turns = content.get("turns") or []
    for turn in turns:
        role = turn.get("role")
        if role is None and rules.refuse_missing_role:
            raise ClientError(1007, INVALID)
        if role is not None and role not in ("user", "model") and rules.refuse_roles:
            raise ClientError(1007, INVALID)
        if not rules.function_parts_in_history and any(
            "function_call" in part or "function_response" in part
            for part in turn.get("parts") or []
        ):
            raise ClientError(1007, INVALID)
    ends_with_model = bool(turns) and turns[-1].get("role") == "model"
    if content.get("turn_complete") and rules.seed_must_end_with_user and ends_with_model:
        raise ClientError(1007, INVALID)
