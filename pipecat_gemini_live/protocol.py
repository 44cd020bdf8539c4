"""Pure translation between this package's state and Live API wire messages. No I/O, no asyncio.

Client messages are built as typed :class:`~pipecat_gemini_live.outgoing.ClientMessage` values
(camelCase JSON, the canonical proto3 spelling, which the service accepts alongside the SDK's
snake_case). Server messages are parsed into the small typed events of
:mod:`pipecat_gemini_live.events`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipecat_gemini_live.config import SessionConfig
from pipecat_gemini_live.errors import ConfigurationError, ProtocolError
from pipecat_gemini_live.events import (
    AudioChunk,
    CodeExecution,
    FunctionCall,
    GenerationComplete,
    GoAway,
    GroundingMetadata,
    GroundingSource,
    GroundingSupport,
    InputTranscript,
    InteractionStatus,
    InterimInputTranscript,
    Interrupted,
    ModalityTokens,
    ModelText,
    OutputTranscript,
    ResumptionUpdate,
    ServerEvent,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    TurnComplete,
    UnknownMessage,
    Usage,
    VadSignal,
    VoiceActivity,
)
from pipecat_gemini_live.models import Backend
from pipecat_gemini_live.outgoing import ClientMessage, MessageKind, encode_json

API_VERSIONS = ("v1alpha", "v1beta", "v1")
DEFAULT_API_VERSION = "v1beta"
GEMINI_API_HOST = "wss://generativelanguage.googleapis.com"


# --------------------------------------------------------------------------------------------
# Endpoint
# --------------------------------------------------------------------------------------------


def endpoint_url(
    base_url: str | None,
    *,
    api_version: str = DEFAULT_API_VERSION,
    ephemeral_token: bool = False,
) -> str:
    """The BidiGenerateContent WebSocket URL for a base URL.

    ``ws://`` stays plain (a local emulator); ``http(s)://`` becomes ``ws(s)://``. A path on the
    base URL is kept as a prefix (proxies), and the API version is always explicit.
    """
    if api_version not in API_VERSIONS:
        raise ConfigurationError(
            f"api_version must be one of {', '.join(API_VERSIONS)}, got {api_version!r}."
        )
    scheme, netloc, prefix = _websocket_base(base_url, GEMINI_API_HOST)
    if ephemeral_token and api_version != "v1alpha":
        raise ConfigurationError(
            f"Ephemeral tokens (auth_tokens/...) are accepted only by the v1alpha Live API, "
            f"not {api_version}; leave api_version unset (it then defaults to v1alpha for "
            "tokens) or pass api_version='v1alpha'."
        )
    method = "BidiGenerateContentConstrained" if ephemeral_token else "BidiGenerateContent"
    path = f"{prefix}/ws/google.ai.generativelanguage.{api_version}.GenerativeService.{method}"
    return urlunsplit((scheme, netloc, path, "", ""))


VERTEX_API_VERSION = "v1beta1"


def vertex_endpoint_url(location: str, base_url: str | None = None) -> str:
    """The Vertex AI Live WebSocket URL (``global`` has no regional host)."""
    host = (
        "wss://aiplatform.googleapis.com"
        if location == "global"
        else f"wss://{location}-aiplatform.googleapis.com"
    )
    scheme, netloc, prefix = _websocket_base(base_url, host)
    service = f"google.cloud.aiplatform.{VERTEX_API_VERSION}.LlmBidiService"
    path = f"{prefix}/ws/{service}/BidiGenerateContent"
    return urlunsplit((scheme, netloc, path, "", ""))


def _websocket_base(base_url: str | None, default: str) -> tuple[str, str, str]:
    """(scheme, host, path prefix) of a base URL: ``ws://`` stays plain (a local emulator),
    ``http(s)://`` becomes ``ws(s)://``, and a path is kept as a prefix (proxies)."""
    parts = urlsplit(base_url or default)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigurationError(
            f"base_url must look like ws://host:port, wss://host or https://host, got {base_url!r}."
        )
    return scheme, parts.netloc, parts.path.rstrip("/")


def model_resource(
    model: str,
    backend: Backend = Backend.GEMINI_API,
    *,
    project: str | None = None,
    location: str = "us-central1",
) -> str:
    """The ``setup.model`` value: ``models/x`` on the Gemini API, the publisher path on Vertex
    (with project and location when authenticating with credentials)."""
    if "/" in model:
        return model
    if backend is Backend.VERTEX:
        prefix = f"projects/{project}/locations/{location}/" if project else ""
        return f"{prefix}publishers/google/models/{model}"
    return f"models/{model}"


# --------------------------------------------------------------------------------------------
# Client messages
# --------------------------------------------------------------------------------------------


encode = encode_json


def setup_message(
    config: SessionConfig,
    *,
    resume_handle: str | None = None,
    history_in_client_content: bool = False,
) -> dict[str, Any]:
    """The first message of a connection, from a validated :class:`SessionConfig`.

    ``history_in_client_content``: this connection will be seeded with history in
    ``clientContent`` (``historyConfig``, which a model that takes clientContent only as
    initial history wants; the server then waits for that history before it listens).
    """
    caps = config.capabilities
    generation: dict[str, Any] = {"responseModalities": ["TEXT" if config.text_output else "AUDIO"]}
    if not config.text_output:
        speech: dict[str, Any] = {
            "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": config.voice}}
        }
        if config.language:
            speech["languageCode"] = config.language
        generation["speechConfig"] = speech
    for key, value in (
        ("temperature", config.temperature),
        ("topP", config.top_p),
        ("topK", config.top_k),
        ("maxOutputTokens", config.max_output_tokens),
        ("seed", config.seed),
        ("frequencyPenalty", config.frequency_penalty),
        ("presencePenalty", config.presence_penalty),
    ):
        if value is not None:
            generation[key] = value
    thinking: dict[str, Any] = {}
    if config.thinking_budget is not None:
        thinking["thinkingBudget"] = config.thinking_budget
    if config.thinking_level is not None:
        thinking["thinkingLevel"] = config.thinking_level.upper()
    if config.include_thoughts:
        thinking["includeThoughts"] = True
    if thinking:
        generation["thinkingConfig"] = thinking
    if config.affective_dialog is not None and caps.affective_dialog:
        generation["enableAffectiveDialog"] = config.affective_dialog
    if config.media_resolution is not None:
        generation["mediaResolution"] = config.media_resolution.value
    if config.translation is not None:
        translation: dict[str, Any] = {"targetLanguageCode": config.translation.target_language}
        if config.translation.echo_target_language is not None:
            translation["echoTargetLanguage"] = config.translation.echo_target_language
        generation["translationConfig"] = translation

    setup: dict[str, Any] = {
        "model": model_resource(
            config.model,
            config.backend,
            project=config.vertex_project,
            location=config.vertex_location,
        ),
        "generationConfig": generation,
    }
    if config.system_instruction:
        setup["systemInstruction"] = {"parts": [{"text": config.system_instruction}]}
    if config.tools:
        setup["tools"] = declared_tools(config)
    if config.input_transcription:
        setup["inputAudioTranscription"] = {}
    if config.output_transcription and not config.text_output:
        setup["outputAudioTranscription"] = {}
    realtime = _realtime_input_config(config)
    if realtime:
        setup["realtimeInputConfig"] = realtime
    if config.context_compression is not None:
        window: dict[str, Any] = {}
        if config.context_compression.target_tokens is not None:
            window["targetTokens"] = config.context_compression.target_tokens
        compression: dict[str, Any] = {"slidingWindow": window}
        if config.context_compression.trigger_tokens is not None:
            compression["triggerTokens"] = config.context_compression.trigger_tokens
        setup["contextWindowCompression"] = compression
    if config.session_resumption:
        setup["sessionResumption"] = {"handle": resume_handle} if resume_handle else {}
    if config.proactive_audio is not None:
        setup["proactivity"] = {"proactiveAudio": config.proactive_audio}
    if history_in_client_content:
        setup["historyConfig"] = {"initialHistoryInClientContent": True}
    _deep_merge(setup, config.extra_setup)
    return {"setup": setup}


def _realtime_input_config(config: SessionConfig) -> dict[str, Any]:
    vad = config.vad
    detection: dict[str, Any] = {}
    if vad.disabled:
        detection["disabled"] = True
    if vad.start_sensitivity is not None:
        detection["startOfSpeechSensitivity"] = f"START_SENSITIVITY_{vad.start_sensitivity.value}"
    if vad.end_sensitivity is not None:
        detection["endOfSpeechSensitivity"] = f"END_SENSITIVITY_{vad.end_sensitivity.value}"
    if vad.prefix_padding_ms is not None:
        detection["prefixPaddingMs"] = vad.prefix_padding_ms
    if vad.silence_duration_ms is not None:
        detection["silenceDurationMs"] = vad.silence_duration_ms
    realtime: dict[str, Any] = {}
    if detection:
        realtime["automaticActivityDetection"] = detection
    if config.activity_handling is not None:
        realtime["activityHandling"] = config.activity_handling.value
    if config.turn_coverage is not None:
        realtime["turnCoverage"] = config.turn_coverage.value
    return realtime


def _deep_merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def realtime_audio(pcm: bytes, sample_rate: int = 16000) -> ClientMessage:
    """One chunk of user audio (the hot path: ~20 calls a second; encoded at the socket)."""
    return ClientMessage(MessageKind.AUDIO, pcm, sample_rate=sample_rate)


def realtime_video(jpeg: bytes, mime_type: str = "image/jpeg") -> ClientMessage:
    data = base64.b64encode(jpeg).decode("ascii")
    return ClientMessage(
        MessageKind.VIDEO, {"realtimeInput": {"video": {"mimeType": mime_type, "data": data}}}
    )


def realtime_text(text: str) -> ClientMessage:
    return ClientMessage(MessageKind.TEXT, {"realtimeInput": {"text": text}})


def audio_stream_end() -> ClientMessage:
    return ClientMessage(MessageKind.ACTIVITY, {"realtimeInput": {"audioStreamEnd": True}})


def activity_start() -> ClientMessage:
    return ClientMessage(MessageKind.ACTIVITY, {"realtimeInput": {"activityStart": {}}})


def activity_end() -> ClientMessage:
    return ClientMessage(MessageKind.ACTIVITY, {"realtimeInput": {"activityEnd": {}}})


def client_content(turns: list[dict[str, Any]], *, turn_complete: bool) -> ClientMessage:
    message: dict[str, Any] = {"turnComplete": turn_complete}
    if turns:
        message["turns"] = turns
    return ClientMessage(MessageKind.CONTENT, {"clientContent": message})


def declared_tools(config: SessionConfig) -> list[dict[str, Any]]:
    """The ``tools`` entries with each function's ``behavior`` where the model takes one.

    On a model with async tools every function says BLOCKING or NON_BLOCKING explicitly (3.8
    makes functions NON_BLOCKING by default, so saying nothing would change what a Pipecat
    handler means); elsewhere no ``behavior`` is sent, since those models reject it.
    """
    entries: list[dict[str, Any]] = []
    for entry in config.tools:
        functions = entry.get("functionDeclarations")
        if functions is None:
            entries.append(entry)
            continue
        declared = []
        for function in functions:
            function = {k: v for k, v in function.items() if k != "behavior"}
            if config.async_tools:
                non_blocking = config.is_non_blocking(str(function.get("name", "")))
                function["behavior"] = "NON_BLOCKING" if non_blocking else "BLOCKING"
            declared.append(function)
        entries.append({**entry, "functionDeclarations": declared})
    return entries


def function_response(
    call_id: str | None,
    name: str,
    response: dict[str, Any],
    *,
    scheduling: str | None = None,
    will_continue: bool | None = None,
) -> dict[str, Any]:
    """One ``FunctionResponse``. The name is always set: 3.8 treats an empty name as a failure."""
    item: dict[str, Any] = {"name": name, "response": response}
    if call_id:
        item["id"] = call_id
    if scheduling:
        item["scheduling"] = scheduling
    if will_continue is not None:
        item["willContinue"] = will_continue
    return item


def tool_response(responses: Iterable[tuple[str, dict[str, Any]]]) -> ClientMessage:
    """Answers to calls, as ``(call id, FunctionResponse)`` pairs. Raises ``TypeError`` or
    ``ValueError`` for a response JSON cannot hold (encoded now, once)."""
    pairs = list(responses)
    body = {"toolResponse": {"functionResponses": [response for _, response in pairs]}}
    return ClientMessage(
        MessageKind.TOOL_RESPONSE, body, call_ids=tuple(call_id for call_id, _ in pairs)
    )


def context_update(
    *, system_instruction: str | None = None, tools: list[dict[str, Any]] | None = None
) -> ClientMessage:
    update: dict[str, Any] = {}
    if system_instruction is not None:
        update["systemInstruction"] = {"parts": [{"text": system_instruction}]}
    if tools is not None:
        update["tools"] = {"tools": tools}
    return ClientMessage(MessageKind.CONTEXT_UPDATE, {"contextUpdate": update})


def setup(
    config: SessionConfig,
    *,
    resume_handle: str | None = None,
    history_in_client_content: bool = False,
) -> ClientMessage:
    """:func:`setup_message`, as the typed message a connection opens with."""
    message = setup_message(
        config, resume_handle=resume_handle, history_in_client_content=history_in_client_content
    )
    return ClientMessage(MessageKind.SETUP, message)


# --------------------------------------------------------------------------------------------
# Server messages
# --------------------------------------------------------------------------------------------

_KNOWN_TOP_LEVEL = frozenset(
    {
        "setupComplete",
        "serverContent",
        "toolCall",
        "toolCallCancellation",
        "goAway",
        "sessionResumptionUpdate",
        "usageMetadata",
        "voiceActivity",
        "voiceActivityDetectionSignal",
    }
)


def parse_server_message(raw: str | bytes) -> list[ServerEvent]:
    """Parse one server message into events, in the order a client should act on them.

    Raises :class:`ProtocolError` for a message that is not a JSON object; an object with no
    known field becomes an :class:`UnknownMessage` event rather than vanishing.
    """
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        preview = raw[:80] if isinstance(raw, str) else raw[:80].decode("utf-8", "replace")
        raise ProtocolError(
            f"Server sent a message that is not JSON ({error}): {preview!r}"
        ) from None
    if not isinstance(message, dict):
        raise ProtocolError(f"Server sent JSON that is not an object: {type(message).__name__}")

    events: list[ServerEvent] = []
    fields = _fields(message, _TOP_LEVEL_SPELLINGS)
    get = fields.get
    if (usage := get("usageMetadata")) is not None:
        # First: usage riding on a turnComplete belongs to the turn that is completing.
        events.append(parse_usage(usage))
    if (setup := get("setupComplete")) is not None:
        events.append(SetupComplete(session_id=_getter(setup)("sessionId")))
    if (content := get("serverContent")) is not None:
        events.extend(_server_content_events(content))
    if (tool_call := get("toolCall")) is not None:
        calls = tuple(
            FunctionCall(
                id=str(_getter(call)("id") or ""),
                name=str(_getter(call)("name") or ""),
                args=dict(_getter(call)("args") or {}),
            )
            for call in _getter(tool_call)("functionCalls") or []
        )
        events.append(ToolCall(calls))
    if (cancellation := get("toolCallCancellation")) is not None:
        events.append(ToolCallCancellation(tuple(str(i) for i in cancellation.get("ids") or [])))
    if (go_away := get("goAway")) is not None:
        events.append(GoAway(parse_duration(_getter(go_away)("timeLeft"))))
    if (update := get("sessionResumptionUpdate")) is not None:
        read = _getter(update)
        index = read("lastConsumedClientMessageIndex")
        events.append(
            ResumptionUpdate(
                handle=read("newHandle") or None,
                resumable=bool(read("resumable")),
                last_consumed_client_message_index=int(index) if index is not None else None,
            )
        )
    if (activity := get("voiceActivity")) is not None:
        read = _getter(activity)
        kind = str(read("voiceActivityType") or read("type") or "")
        if kind in ("ACTIVITY_START", "ACTIVITY_END"):
            offset = read("audioOffset")
            events.append(
                VoiceActivity(
                    started=kind == "ACTIVITY_START",
                    audio_offset=parse_duration(offset) if offset is not None else None,
                )
            )
    if (signal := get("voiceActivityDetectionSignal")) is not None:
        kind = str(_getter(signal)("vadSignalType") or "")
        if kind in ("VAD_SIGNAL_TYPE_SOS", "VAD_SIGNAL_TYPE_EOS"):
            events.append(VadSignal(started=kind == "VAD_SIGNAL_TYPE_SOS"))
    if message and not events and not any(camel_case(k) in _KNOWN_TOP_LEVEL for k in message):
        # A bare {} is not unknown: 3.8 sends one before nearly every audio chunk.
        events.append(UnknownMessage(tuple(message)))
    return events


def _server_content_events(content: dict[str, Any]) -> list[ServerEvent]:
    get = _fields(content, _CONTENT_SPELLINGS).get
    events: list[ServerEvent] = []
    if (transcript := get("inputTranscription")) is not None:
        read = _getter(transcript)
        if read("text") or read("finished"):
            events.append(InputTranscript(read("text") or "", bool(read("finished"))))
    turn = get("modelTurn")
    if turn is not None:
        for part in _getter(turn)("parts") or []:
            read = _fields(part, _PART_SPELLINGS).get
            inline = read("inlineData")
            if inline is not None:
                inline_read = _getter(inline)
                mime = str(inline_read("mimeType") or "")
                if mime.startswith("audio/"):
                    events.append(
                        AudioChunk(decode_base64(inline_read("data") or ""), _mime_rate(mime))
                    )
            text = read("text")
            if text:
                events.append(ModelText(text, thought=bool(read("thought"))))
            if (code := read("executableCode")) is not None:
                code_read = _getter(code)
                language = str(code_read("language") or "")
                events.append(CodeExecution(language=language, code=str(code_read("code") or "")))
            if (result := read("codeExecutionResult")) is not None:
                result_read = _getter(result)
                events.append(
                    CodeExecution(
                        outcome=str(result_read("outcome") or ""),
                        output=str(result_read("output") or ""),
                    )
                )
    if (interim := get("interimInputTranscription")) is not None:
        text = _getter(interim)("text")
        if text:
            events.append(InterimInputTranscript(str(text)))
    if (transcript := get("outputTranscription")) is not None:
        read = _getter(transcript)
        if read("text") or read("finished"):
            events.append(OutputTranscript(read("text") or "", bool(read("finished"))))
    if (grounding := get("groundingMetadata")) is not None:
        events.append(_grounding(grounding))
    if get("interrupted"):
        events.append(Interrupted())
    if get("generationComplete"):
        events.append(GenerationComplete())
    if get("turnComplete"):
        events.append(
            TurnComplete(
                reason=get("turnCompleteReason"),
                waiting_for_input=bool(get("waitingForInput")),
            )
        )
    if (status := get("interactionStatus")) is not None:
        # After the turn it rides on: a turnComplete while IN_PROGRESS is not the end.
        events.append(InteractionStatus(idle=str(status).upper() == "IDLE"))
    return events


def parse_usage(usage: dict[str, Any]) -> Usage:
    """Usage metadata; accepts the Gemini API names and Vertex's ``candidates*`` names."""
    read = _getter(usage)

    def details(*names: str) -> tuple[ModalityTokens, ...]:
        for name in names:
            items = read(name)
            if items:
                return tuple(
                    ModalityTokens(
                        str(_getter(d)("modality") or "MODALITY_UNSPECIFIED"),
                        int(_getter(d)("tokenCount") or 0),
                    )
                    for d in items
                )
        return ()

    return Usage(
        prompt_tokens=int(read("promptTokenCount") or 0),
        response_tokens=int(read("responseTokenCount") or read("candidatesTokenCount") or 0),
        total_tokens=int(read("totalTokenCount") or 0),
        cached_tokens=int(read("cachedContentTokenCount") or 0),
        thoughts_tokens=int(read("thoughtsTokenCount") or 0),
        prompt_details=details("promptTokensDetails"),
        response_details=details("responseTokensDetails", "candidatesTokensDetails"),
    )


_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)s?\s*$")


def parse_duration(value: Any) -> float:
    """Proto ``Duration`` JSON (``"50s"``, ``"9.5s"``) or a number, in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):  # {"seconds": 50, "nanos": 0}
        return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
    match = _DURATION.match(str(value or ""))
    return float(match.group(1)) if match else 0.0


def decode_base64(data: str) -> bytes:
    """Standard, URL-safe, padded or not: the server and other clients use all of them."""
    if "-" in data or "_" in data:
        data = data.replace("-", "+").replace("_", "/")
    missing = -len(data) % 4
    if missing:
        data += "=" * missing
    try:
        return binascii.a2b_base64(data)
    except binascii.Error as error:
        raise ProtocolError(f"Server sent audio that is not valid base64: {error}") from None


@functools.lru_cache(maxsize=64)
def _mime_rate(mime: str) -> int:
    for parameter in mime.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip() == "rate" and value.strip().isdigit():
            return int(value)
    return 24000


def _grounding(grounding: dict[str, Any]) -> GroundingMetadata:
    read = _getter(grounding)
    sources = tuple(
        GroundingSource(uri=web("uri"), title=web("title"))
        for chunk in read("groundingChunks") or []
        for web in [_getter(_getter(chunk)("web") or {})]
    )
    supports = []
    for support in read("groundingSupports") or []:
        item = _getter(support)
        supports.append(
            GroundingSupport(
                text=str(_getter(item("segment") or {})("text") or ""),
                source_indices=tuple(
                    i for i in item("groundingChunkIndices") or [] if isinstance(i, int)
                ),
                confidence=tuple(float(c) for c in item("confidenceScores") or []),
            )
        )
    return GroundingMetadata(
        sources=sources,
        supports=tuple(supports),
        rendered_content=_getter(read("searchEntryPoint") or {})("renderedContent"),
        queries=tuple(str(q) for q in read("webSearchQueries") or []),
    )


def camel_case(key: str) -> str:
    """A snake_case field name as the wire spells it (``voice_config`` -> ``voiceConfig``)."""
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


@functools.lru_cache(maxsize=512)
def _snake(key: str) -> str:
    """Cached: every lookup of a field that is absent (most of them) asks for it."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _spellings(*names: str) -> dict[str, str]:
    """Each field's camelCase name and its snake_case spelling -> the camelCase name."""
    return {spelling: name for name in names for spelling in (_snake(name), name)}


_TOP_LEVEL_SPELLINGS = _spellings(*_KNOWN_TOP_LEVEL)
_CONTENT_SPELLINGS = _spellings(
    "inputTranscription",
    "modelTurn",
    "interimInputTranscription",
    "outputTranscription",
    "groundingMetadata",
    "interrupted",
    "generationComplete",
    "turnComplete",
    "turnCompleteReason",
    "waitingForInput",
    "interactionStatus",
)
_PART_SPELLINGS = _spellings(
    "inlineData", "text", "thought", "executableCode", "codeExecutionResult"
)


def _fields(obj: Any, spellings: dict[str, str]) -> dict[str, Any]:
    """The known fields of a proto3 JSON object by camelCase name, read as :func:`_getter`
    reads them (the camelCase value unless it is null, else the snake_case one), in one pass
    over the fields present: a message has one or two of the many a reader asks about."""
    found: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return found
    for key, value in obj.items():
        name = spellings.get(key)
        if name is not None and value is not None and (key == name or name not in found):
            found[name] = value
    return found


def _getter(obj: Any) -> Any:
    """Read a proto3 JSON object by its camelCase name, accepting the snake_case spelling too."""
    if not isinstance(obj, dict):
        return lambda name: None

    def get(name: str) -> Any:
        value = obj.get(name)
        if value is None:
            value = obj.get(_snake(name))
        return value

    return get
