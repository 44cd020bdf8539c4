"""Pure translation: client messages built, server messages parsed. Plain function calls."""

import base64
import json

import pytest

from pipecat_gemini_live import protocol
from pipecat_gemini_live.config import (
    ContextCompression,
    Sensitivity,
    SessionConfig,
    TurnCoverage,
    VADSettings,
)
from pipecat_gemini_live.errors import ConfigurationError, ProtocolError
from pipecat_gemini_live.events import (
    AudioChunk,
    CodeExecution,
    GenerationComplete,
    GoAway,
    GroundingMetadata,
    GroundingSource,
    GroundingSupport,
    InputTranscript,
    Interrupted,
    ModelText,
    OutputTranscript,
    ResumptionUpdate,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    TurnComplete,
    UnknownMessage,
    Usage,
)
from pipecat_gemini_live.models import capabilities_for


def config(**overrides):
    model = overrides.pop("model", "gemini-2.5-flash-native-audio-preview-12-2025")
    c = SessionConfig(model=model, capabilities=capabilities_for(model), **overrides)
    c.validate()
    return c


def test_setup_carries_voice_vad_transcription_compression_and_resumption():
    setup = protocol.setup_message(
        config(
            voice="kore",
            system_instruction="Be brief.",
            vad=VADSettings(start_sensitivity=Sensitivity.LOW, silence_duration_ms=300),
            turn_coverage=TurnCoverage.ONLY_ACTIVITY,
            context_compression=ContextCompression(trigger_tokens=25600, target_tokens=12800),
        ),
        resume_handle="h-1",
    )["setup"]
    assert setup["model"] == "models/gemini-2.5-flash-native-audio-preview-12-2025"
    generation = setup["generationConfig"]
    assert generation["responseModalities"] == ["AUDIO"]
    assert generation["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Kore"
    assert setup["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert setup["inputAudioTranscription"] == {} and setup["outputAudioTranscription"] == {}
    detection = setup["realtimeInputConfig"]["automaticActivityDetection"]
    assert detection == {
        "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
        "silenceDurationMs": 300,
    }
    assert setup["realtimeInputConfig"]["turnCoverage"] == "TURN_INCLUDES_ONLY_ACTIVITY"
    assert setup["contextWindowCompression"] == {
        "slidingWindow": {"targetTokens": 12800},
        "triggerTokens": 25600,
    }
    assert setup["sessionResumption"] == {"handle": "h-1"}


def test_compression_always_sends_the_sliding_window_the_server_requires():
    setup = protocol.setup_message(config())["setup"]
    assert setup["contextWindowCompression"] == {"slidingWindow": {}}
    assert setup["sessionResumption"] == {}


def test_audio_message_is_valid_json_with_the_16k_mime_type():
    pcm = bytes(range(256)) * 5
    message = json.loads(protocol.realtime_audio(pcm))
    audio = message["realtimeInput"]["audio"]
    assert audio["mimeType"] == "audio/pcm;rate=16000"
    assert base64.b64decode(audio["data"]) == pcm


def test_tool_response_always_names_the_function_and_keeps_falsy_results():
    sent = json.loads(
        protocol.tool_response([protocol.function_response("fc-1", "count", {"result": 0})])
    )
    assert sent == {
        "toolResponse": {
            "functionResponses": [{"name": "count", "response": {"result": 0}, "id": "fc-1"}]
        }
    }


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (None, "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta"),
        ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/ws/google.ai.generativelanguage.v1beta"),
        (
            "https://proxy.example/p/",
            "wss://proxy.example/p/ws/google.ai.generativelanguage.v1beta",
        ),
    ],
)
def test_endpoint_url_keeps_plain_ws_for_local_servers_and_pins_the_version(base_url, expected):
    url = protocol.endpoint_url(base_url)
    assert url.startswith(expected)
    assert url.endswith(".GenerativeService.BidiGenerateContent")


def test_endpoint_url_rejects_unknown_versions_and_schemes():
    with pytest.raises(ConfigurationError, match="api_version must be one of"):
        protocol.endpoint_url(None, api_version="v2")
    with pytest.raises(ConfigurationError, match="base_url must look like"):
        protocol.endpoint_url("ftp://x")


def test_a_combined_message_yields_every_fact_in_order():
    raw = json.dumps(
        {
            "serverContent": {
                "inputTranscription": {"text": " What's up"},
                "modelTurn": {
                    "parts": [
                        {"text": "thinking...", "thought": True},
                        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAECA_7_"}},
                    ]
                },
                "outputTranscription": {"text": "Hi"},
                "generationComplete": True,
                "turnComplete": True,
            },
            "usageMetadata": {
                "promptTokenCount": 5,
                "responseTokenCount": 7,
                "totalTokenCount": 12,
                "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 7}],
            },
        }
    )
    events = protocol.parse_server_message(raw)
    assert events == [
        events[0],
        InputTranscript(" What's up"),
        ModelText("thinking...", thought=True),
        AudioChunk(b"\x00\x01\x02\x03\xfe\xff", 24000),
        OutputTranscript("Hi"),
        GenerationComplete(),
        TurnComplete(),
    ]
    usage = events[0]  # usage first: it belongs to the turn that is completing
    assert isinstance(usage, Usage) and usage.response_tokens_for("AUDIO") == 7


def test_snake_case_server_keys_and_unpadded_base64_are_accepted():
    raw = '{"serverContent": {"model_turn": {"parts": [{"inline_data": {"mime_type": "audio/pcm", "data": "AAEC"}}]}}}'
    assert protocol.parse_server_message(raw) == [AudioChunk(b"\x00\x01\x02", 24000)]


def test_control_messages():
    parse = protocol.parse_server_message
    assert parse('{"setupComplete": {}}') == [SetupComplete()]
    assert parse('{"serverContent": {"interrupted": true}}') == [Interrupted()]
    assert parse('{"goAway": {"timeLeft": "9.5s"}}') == [GoAway(9.5)]
    assert parse('{"toolCallCancellation": {"ids": ["a", "b"]}}') == [
        ToolCallCancellation(("a", "b"))
    ]
    assert parse(
        '{"sessionResumptionUpdate": {"newHandle": "h2", "resumable": true, "lastConsumedClientMessageIndex": "7"}}'
    ) == [ResumptionUpdate("h2", True, 7)]
    (call,) = parse(
        '{"toolCall": {"functionCalls": [{"id": "f1", "name": "w", "args": {"c": 1}}]}}'
    )
    assert isinstance(call, ToolCall) and call.calls[0].args == {"c": 1}


def test_vertex_usage_names_are_read():
    usage = protocol.parse_usage(
        {
            "candidatesTokenCount": 4,
            "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 4}],
        }
    )
    assert usage.response_tokens == 4 and usage.response_tokens_for("AUDIO") == 4


def test_unknown_and_malformed_messages_are_reported_not_dropped():
    assert protocol.parse_server_message('{"someFutureMessage": {}}') == [
        UnknownMessage(("someFutureMessage",))
    ]
    with pytest.raises(ProtocolError, match="not JSON"):
        protocol.parse_server_message(b"{nope")
    with pytest.raises(ProtocolError, match="not an object"):
        protocol.parse_server_message("[1, 2]")


def test_code_execution_parts_are_events_not_dropped():
    message = {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {"executableCode": {"language": "PYTHON", "code": "print(2 + 2)"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4\n"}},
                ]
            }
        }
    }
    events = protocol.parse_server_message(json.dumps(message))
    assert CodeExecution(language="PYTHON", code="print(2 + 2)") in events
    assert CodeExecution(outcome="OUTCOME_OK", output="4\n") in events


def test_grounding_metadata_is_parsed_into_sources_and_supports():
    message = {
        "serverContent": {
            "groundingMetadata": {
                "webSearchQueries": ["weather paris"],
                "searchEntryPoint": {"renderedContent": "<div></div>"},
                "groundingChunks": [{"web": {"uri": "https://example.com", "title": "example"}}],
                "grounding_supports": [
                    {
                        "segment": {"text": "Sunny"},
                        "groundingChunkIndices": [0],
                        "confidenceScores": [0.9],
                    }
                ],
            }
        }
    }
    (event,) = protocol.parse_server_message(json.dumps(message))
    assert event == GroundingMetadata(
        sources=(GroundingSource(uri="https://example.com", title="example"),),
        supports=(GroundingSupport(text="Sunny", source_indices=(0,), confidence=(0.9,)),),
        rendered_content="<div></div>",
        queries=("weather paris",),
    )
