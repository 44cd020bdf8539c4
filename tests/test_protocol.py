"""Pure translation: client messages built, server messages parsed. Plain function calls."""

import base64
import json
from pathlib import Path

import pytest

from pipecat_gemini_live import protocol
from pipecat_gemini_live.config import (
    ActivityHandling,
    ContextCompression,
    MediaResolution,
    Sensitivity,
    SessionConfig,
    TranslationSettings,
    TurnCoverage,
    VADSettings,
)
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
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    TurnComplete,
    UnknownMessage,
    Usage,
    VadSignal,
    VoiceActivity,
)
from pipecat_gemini_live.models import Backend, capabilities_for
from pipecat_gemini_live.outgoing import MessageKind


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


def test_the_opening_message_is_the_setup_with_its_resumption_handle_and_history_flag():
    """What a connection sends first (the service builds it with protocol.setup)."""
    three_one = config(model="gemini-3.1-flash-live-preview")
    message = protocol.setup(three_one, resume_handle="h-2", history_in_client_content=True)
    assert message.kind is MessageKind.SETUP
    setup = json.loads(message.encode())["setup"]
    assert setup["sessionResumption"] == {"handle": "h-2"}
    assert setup["historyConfig"] == {"initialHistoryInClientContent": True}
    assert json.loads(protocol.setup(three_one).encode()) == protocol.setup_message(three_one)


def test_compression_always_sends_the_sliding_window_the_server_requires():
    setup = protocol.setup_message(config())["setup"]
    assert setup["contextWindowCompression"] == {"slidingWindow": {}}
    assert setup["sessionResumption"] == {}


def test_audio_message_is_valid_json_with_the_16k_mime_type():
    pcm = bytes(range(256)) * 5
    message = json.loads(protocol.realtime_audio(pcm).encode())
    audio = message["realtimeInput"]["audio"]
    assert audio["mimeType"] == "audio/pcm;rate=16000"
    assert base64.b64decode(audio["data"]) == pcm


def test_tool_response_always_names_the_function_and_keeps_falsy_results():
    sent = json.loads(
        protocol.tool_response(
            [("fc-1", protocol.function_response("fc-1", "count", {"result": 0}))]
        ).encode()
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


def test_each_field_reads_the_camel_case_spelling_unless_it_is_null_then_the_snake_case_one():
    """Both spellings of one field in one message (proto3 JSON allows either): the parser
    reads only the fields present, and must pick exactly as a lookup of each name would."""
    parse = protocol.parse_server_message
    both = {"serverContent": {"turnComplete": True}, "server_content": {"interrupted": True}}
    assert parse(json.dumps(both)) == [TurnComplete()]
    reversed_order = {
        "server_content": {"interrupted": True},
        "serverContent": {"turnComplete": True},
    }
    assert parse(json.dumps(reversed_order)) == [TurnComplete()]
    null_camel = {"serverContent": None, "server_content": {"interrupted": True}}
    assert parse(json.dumps(null_camel)) == [Interrupted()]
    part = {"text": None, "inline_data": {"mimeType": "audio/pcm;rate=16000", "data": "AAE="}}
    message = {"serverContent": {"model_turn": {"parts": [part, "not a part"]}}}
    assert parse(json.dumps(message)) == [AudioChunk(b"\x00\x01", 16000)]
    assert parse('{"serverContent": ["not", "an", "object"]}') == []


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


# --------------------------------------------------------------------------------------------
# Real server traffic (tests/recorded: frames Google's Live API sent, recorded by pydantic-ai)
# --------------------------------------------------------------------------------------------

RECORDED = Path(__file__).parent / "recorded"
RECORDINGS = {
    "gemini-3.8-live audio turn": "test_google_ws__test_audio_in_server_vad_turn_gemini-3.8-live"
    "__8bfb414b.json",
    "gemini-3.1-flash-live-preview tool round": "test_parity_ws__test_text_tool_round_parity_"
    "google-current__b4a1b7f7.json",
    "vertex gemini-live-2.5-flash tool round": "test_parity_ws__test_text_tool_round_parity_"
    "gateway-google__b4a1b7f7.json",
    "gemini-2.5 native audio text turn with a thought": "test_google_ws__test_text_in_audio_out_"
    "turn__90bb8907.json",
}


def replay(name: str) -> list:
    """Every event a recorded session's server frames parse into, frame by frame, in order.
    Bare ``{}`` frames (3.8 sends one before nearly every audio chunk) carry no fact."""
    recording = json.loads((RECORDED / RECORDINGS[name]).read_text())
    events = []
    for item in recording["interactions"]:
        if item["direction"] == "received":
            events += protocol.parse_server_message(json.dumps(item["data"]))
    return events


def kinds(events: list) -> list[str]:
    return [type(event).__name__ for event in events]


def test_a_recorded_38_audio_turn_parses_into_the_story_of_the_turn():
    events = replay("gemini-3.8-live audio turn")
    assert events[:5] == [
        SetupComplete(),
        ResumptionUpdate("53ebe315-1e7e-40b4-964f-68bfea12726c", True, None),
        # The real server spells it {"type": "ACTIVITY_START"}, placed in the audio it heard.
        VoiceActivity(started=True, audio_offset=1.88),
        InputTranscript("Hello, my name is Marcelo."),
        VoiceActivity(started=False, audio_offset=5.0),
    ]
    assert "UnknownMessage" not in kinds(events)  # serverContent: {} is known, just empty
    transcript = "".join(e.text for e in events if isinstance(e, OutputTranscript))
    assert transcript == "Hello Marcelo, nice to meet you."
    audio = [e for e in events if isinstance(e, AudioChunk)]
    assert len(audio) == 12 and {chunk.sample_rate for chunk in audio} == {24000}
    assert audio[-1].data == bytes(33)  # cut by the recorder to 33 bytes: kept as it came
    *_, usage, done = events
    assert kinds(events[-3:]) == ["GenerationComplete", "Usage", "TurnComplete"]
    assert (usage.prompt_tokens, usage.response_tokens, usage.total_tokens) == (626, 63, 689)
    assert usage.prompt_tokens_for("TEXT") == 312 and usage.prompt_tokens_for("AUDIO") == 287
    assert done == TurnComplete()


def test_a_recorded_31_tool_round_has_the_call_then_a_resumption_update_mid_reply():
    events = replay("gemini-3.1-flash-live-preview tool round")
    assert events[1] == ToolCall(
        (FunctionCall("fc_3880303533621599938", "get_weather", {"city": "London"}),)
    )
    assert events[2] == ResumptionUpdate("95e91930-b35b-482b-8880-17efc49ec2f2", True, None)
    # Audio and its transcript ride in the same frames: each frame's audio comes first.
    assert kinds(events[3:5]) == ["AudioChunk", "OutputTranscript"]
    transcript = "".join(e.text for e in events if isinstance(e, OutputTranscript))
    assert transcript == "It is foggy and 12 degrees in London."


def test_a_recorded_vertex_tool_round_reads_vertex_spellings():
    events = replay("vertex gemini-live-2.5-flash tool round")
    assert events[0] == SetupComplete(session_id="d12cd384-1f87-45a2-9020-add71fd6b384")
    assert events[1].calls[0].id == "4d456feb-1704-40b6-a692-5130e7872447"  # Vertex ids: UUIDs
    # Empty outputTranscription frames say nothing; {"finished": true} ends the transcript.
    assert events[2] == OutputTranscript("", finished=True)
    first_turn_usage = events[4]
    assert (first_turn_usage.prompt_tokens, first_turn_usage.response_tokens) == (24, 5)
    # A details entry without tokenCount ({"modality": "AUDIO"}) counts zero tokens.
    assert first_turn_usage.response_details == (
        ModalityTokens("TEXT", 5),
        ModalityTokens("AUDIO", 0),
    )
    assert GroundingMetadata() in events  # Vertex's empty groundingMetadata on turnComplete
    audio = [e for e in events if isinstance(e, AudioChunk)]
    assert len(audio) == 11 and {chunk.sample_rate for chunk in audio} == {24000}  # rate-less


def test_a_recorded_thought_part_is_text_marked_as_a_thought():
    events = replay("gemini-2.5 native audio text turn with a thought")
    (thought,) = [e for e in events if isinstance(e, ModelText)]
    assert thought.thought and thought.text.startswith("**Crafting Initial Greeting**")
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.thoughts_tokens == 23


# --------------------------------------------------------------------------------------------
# Server messages, field by field
# --------------------------------------------------------------------------------------------


def parse(message: dict) -> list:
    return protocol.parse_server_message(json.dumps(message))


def test_voice_activity_is_read_under_either_name_and_unknown_kinds_are_dropped():
    assert parse({"voiceActivity": {"voiceActivityType": "ACTIVITY_END"}}) == [
        VoiceActivity(started=False)
    ]
    assert parse({"voice_activity": {"voice_activity_type": "ACTIVITY_START"}}) == [
        VoiceActivity(started=True)
    ]
    assert parse({"voiceActivity": {"type": "ACTIVITY_TYPE_UNSPECIFIED"}}) == []
    assert parse({"voiceActivity": {}}) == []


def test_known_messages_with_nothing_in_them_are_not_reported_as_unknown():
    assert parse({"serverContent": {}}) == []
    assert parse({"server_content": {}}) == []  # snake_case top-level key, as proto3 JSON allows
    assert parse({"voiceActivityDetectionSignal": {}}) == []
    assert parse({"voiceActivity": {}}) == []
    assert parse({"tool_call_cancellation": {"ids": ["fc-1"]}}) == [ToolCallCancellation(("fc-1",))]


def test_the_servers_vad_signals_interim_transcripts_and_interaction_status_are_events():
    for key in ("voiceActivityDetectionSignal", "voice_activity_detection_signal"):
        assert parse({key: {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}}) == [VadSignal(True)]
    assert parse({"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_EOS"}}) == [
        VadSignal(False)
    ]
    interim = {"serverContent": {"interimInputTranscription": {"text": " what time"}}}
    assert parse(interim) == [InterimInputTranscript(" what time")]
    done = {"serverContent": {"turnComplete": True, "interactionStatus": "IN_PROGRESS"}}
    assert parse(done) == [TurnComplete(), InteractionStatus(idle=False)]
    assert parse({"serverContent": {"interactionStatus": "IDLE"}}) == [InteractionStatus(True)]


def test_voice_activity_carries_where_in_the_audio_the_server_placed_it():
    start = {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1.880s"}}
    assert parse(start) == [VoiceActivity(started=True, audio_offset=1.88)]
    end = {"voiceActivity": {"voiceActivityType": "ACTIVITY_END", "audioOffset": "5s"}}
    assert parse(end) == [VoiceActivity(started=False, audio_offset=5.0)]
    assert parse({"voiceActivity": {"type": "ACTIVITY_END"}}) == [VoiceActivity(False, None)]


def test_a_setup_complete_that_is_not_an_object_still_completes_setup():
    assert parse({"setupComplete": []}) == [SetupComplete(session_id=None)]


def test_a_turn_complete_carries_its_reason_and_whether_the_model_waits_for_input():
    assert parse(
        {
            "serverContent": {
                "turnComplete": True,
                "turnCompleteReason": "NEED_MORE_INPUT",
                "waitingForInput": True,
            }
        }
    ) == [TurnComplete(reason="NEED_MORE_INPUT", waiting_for_input=True)]


def test_a_finished_transcript_with_no_text_still_says_it_finished():
    assert parse({"serverContent": {"inputTranscription": {"finished": True}}}) == [
        InputTranscript("", finished=True)
    ]
    assert parse(
        {"serverContent": {"outputTranscription": {"text": "Bye.", "finished": True}}}
    ) == [OutputTranscript("Bye.", finished=True)]
    assert parse({"serverContent": {"inputTranscription": {}, "outputTranscription": {}}}) == []


def test_audio_keeps_the_rate_its_mime_type_names():
    pcm = b"\x01\x02\x03\x04"
    events = parse(
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": "audio/pcm;rate=16000",
                                "data": base64.b64encode(pcm).decode(),
                            }
                        },
                        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    ]
                }
            }
        }
    )
    assert events == [AudioChunk(pcm, 16000)]  # the image part is not audio


def test_missing_fields_are_empty_never_invented():
    events = parse(
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {"inlineData": {"mimeType": "audio/pcm;rate=24000"}},
                        {"executableCode": {}},
                        {"codeExecutionResult": {}},
                    ]
                },
                "groundingMetadata": {"groundingSupports": [{"groundingChunkIndices": [0]}]},
            },
            "toolCall": {"functionCalls": [{}]},
        }
    )
    assert events == [
        AudioChunk(b"", 24000),
        CodeExecution(language="", code=""),
        CodeExecution(outcome="", output=""),
        GroundingMetadata(supports=(GroundingSupport(text="", source_indices=(0,)),)),
        ToolCall((FunctionCall(id="", name="", args={}),)),
    ]


def test_usage_reads_every_count_and_leaves_unreported_ones_at_zero():
    usage = protocol.parse_usage(
        {
            "promptTokenCount": 11,
            "responseTokenCount": 22,
            "totalTokenCount": 33,
            "cachedContentTokenCount": 4,
            "thoughtsTokenCount": 5,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 6}, {"tokenCount": 5}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 22}],
        }
    )
    assert usage == Usage(
        prompt_tokens=11,
        response_tokens=22,
        total_tokens=33,
        cached_tokens=4,
        thoughts_tokens=5,
        prompt_details=(
            ModalityTokens("TEXT", 6),
            ModalityTokens("MODALITY_UNSPECIFIED", 5),
        ),
        response_details=(ModalityTokens("AUDIO", 22),),
    )
    assert protocol.parse_usage({}) == Usage()
    snake = protocol.parse_usage({"prompt_token_count": 7, "response_tokens_details": []})
    assert snake == Usage(prompt_tokens=7)


@pytest.mark.parametrize(
    ("time_left", "seconds"),
    [
        ("50s", 50.0),
        ("9.5s", 9.5),
        (" 1.880s ", 1.88),
        ("-1s", -1.0),
        (12, 12.0),
        (0.25, 0.25),
        ({"seconds": 50, "nanos": 500000000}, 50.5),
        ({"seconds": 9}, 9.0),
        ({"nanos": 250000000}, 0.25),
        ("soon", 0.0),
        (None, 0.0),
    ],
)
def test_go_away_time_left_is_read_in_every_duration_spelling(time_left, seconds):
    assert parse({"goAway": {"timeLeft": time_left}}) == [GoAway(seconds)]


@pytest.mark.parametrize(
    ("data", "decoded"),
    [
        ("AAECA_7_", b"\x00\x01\x02\x03\xfe\xff"),  # URL-safe, as the SDK sends it
        ("AAECA/7/", b"\x00\x01\x02\x03\xfe\xff"),  # standard alphabet
        ("--8=", b"\xfb\xef"),  # URL-safe with only "-"
        ("AAECAw", b"\x00\x01\x02\x03"),  # unpadded
        ("AAECAwQFBg", b"\x00\x01\x02\x03\x04\x05\x06"),  # unpadded, two missing
        ("AAECAwQ", b"\x00\x01\x02\x03\x04"),  # unpadded, one missing
    ],
)
def test_audio_base64_is_decoded_in_every_alphabet_and_padding(data, decoded):
    assert protocol.decode_base64(data) == decoded


def test_audio_that_is_not_base64_is_a_protocol_error():
    with pytest.raises(ProtocolError, match=r"^Server sent audio that is not valid base64: "):
        protocol.decode_base64("AAECA")


def test_a_frame_that_is_not_json_is_quoted_in_the_error_as_text():
    with pytest.raises(ProtocolError) as error:
        protocol.parse_server_message("{nope")
    assert str(error.value).endswith(": '{nope'")
    with pytest.raises(ProtocolError) as error:
        protocol.parse_server_message(b"\xff\xfe garbage")  # a binary frame of no text at all
    assert str(error.value).endswith(": '\ufffd\ufffd garbage'")


def test_a_huge_frame_that_is_not_json_is_quoted_by_its_first_80_characters():
    for raw in ("x" * 10_000, b"x" * 10_000):
        with pytest.raises(ProtocolError) as error:
            protocol.parse_server_message(raw)
        assert str(error.value).endswith(f": '{'x' * 80}'")


def test_json_that_is_not_an_object_names_what_it_is():
    with pytest.raises(ProtocolError, match=r"not an object: list$"):
        protocol.parse_server_message("[1, 2]")
    with pytest.raises(ProtocolError, match=r"not an object: str$"):
        protocol.parse_server_message('"hello"')


# --------------------------------------------------------------------------------------------
# Client messages: the frames on the wire (shared/liveapi-protocol.md, 1.6)
# --------------------------------------------------------------------------------------------


def test_realtime_frames_are_the_documented_wire_messages():
    assert json.loads(protocol.audio_stream_end().encode()) == {
        "realtimeInput": {"audioStreamEnd": True}
    }
    assert json.loads(protocol.activity_start().encode()) == {
        "realtimeInput": {"activityStart": {}}
    }
    assert json.loads(protocol.activity_end().encode()) == {"realtimeInput": {"activityEnd": {}}}
    assert json.loads(protocol.realtime_text("hello realtime").encode()) == {
        "realtimeInput": {"text": "hello realtime"}
    }
    jpeg = b"\xff\xd8\xff\xe0fakejpeg"
    video = json.loads(protocol.realtime_video(jpeg).encode())
    assert video == {
        "realtimeInput": {
            "video": {"mimeType": "image/jpeg", "data": base64.b64encode(jpeg).decode()}
        }
    }
    png = json.loads(protocol.realtime_video(b"png", "image/png").encode())["realtimeInput"][
        "video"
    ]
    assert png["mimeType"] == "image/png"
    audio = json.loads(protocol.realtime_audio(b"\x00\x01", sample_rate=48000).encode())
    assert audio["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=48000"


def test_client_messages_are_compact_json_with_text_left_unescaped():
    assert (
        protocol.client_content([], turn_complete=True).encode()
        == '{"clientContent":{"turnComplete":true}}'
    )
    assert (
        protocol.realtime_text("¿Qué tal? 你好").encode()
        == '{"realtimeInput":{"text":"¿Qué tal? 你好"}}'
    )


def test_client_content_sends_history_turns_without_asking_for_a_reply():
    turns = [
        {"role": "user", "parts": [{"text": "a"}]},
        {"role": "model", "parts": [{"text": "b"}]},
    ]
    assert json.loads(protocol.client_content(turns, turn_complete=False).encode()) == {
        "clientContent": {"turnComplete": False, "turns": turns}
    }


def test_a_function_response_carries_scheduling_and_will_continue_when_given():
    assert protocol.function_response(
        "fc-2", "b", {"error": "x"}, scheduling="INTERRUPT", will_continue=False
    ) == {
        "name": "b",
        "response": {"error": "x"},
        "id": "fc-2",
        "scheduling": "INTERRUPT",
        "willContinue": False,
    }
    assert protocol.function_response(None, "b", {}) == {"name": "b", "response": {}}


def test_a_context_update_carries_the_new_instruction_and_tools():
    assert json.loads(
        protocol.context_update(system_instruction="New instruction", tools=[]).encode()
    ) == {
        "contextUpdate": {
            "systemInstruction": {"parts": [{"text": "New instruction"}]},
            "tools": {"tools": []},
        }
    }
    assert json.loads(protocol.context_update().encode()) == {"contextUpdate": {}}


WEATHER = {"name": "get_weather", "parameters": {"type": "OBJECT"}}
FLIGHTS = {"name": "search_flights", "behavior": "BLOCKING"}


def test_on_a_model_with_async_tools_every_function_says_whether_it_blocks():
    tools = [{"googleSearch": {}}, {"functionDeclarations": [WEATHER, FLIGHTS]}]
    declared = protocol.declared_tools(
        config(
            model="gemini-3.8-live", tools=tools, non_blocking_tools=frozenset({"search_flights"})
        )
    )
    assert declared == [
        {"googleSearch": {}},
        {
            "functionDeclarations": [
                {**WEATHER, "behavior": "BLOCKING"},
                {"name": "search_flights", "behavior": "NON_BLOCKING"},
            ]
        },
    ]


def test_where_the_model_has_no_async_tools_no_behavior_is_sent():
    tools = [{"functionDeclarations": [WEATHER, FLIGHTS]}]
    declared = protocol.declared_tools(
        config(
            model="gemini-3.1-flash-live-preview", tools=tools, non_blocking_tools=frozenset({"*"})
        )
    )
    assert declared == [{"functionDeclarations": [WEATHER, {"name": "search_flights"}]}]


def test_a_fully_configured_session_sends_every_setting_under_its_wire_name():
    setup = protocol.setup_message(
        config(
            voice="Charon",
            language="en-US",
            system_instruction="Be brief.",
            temperature=0.7,
            top_p=0.9,
            top_k=40,
            max_output_tokens=256,
            thinking_budget=0,
            include_thoughts=True,
            affective_dialog=False,
            proactive_audio=True,
            media_resolution=MediaResolution.LOW,
            translation=TranslationSettings("es-US", echo_target_language=False),
            tools=[{"functionDeclarations": [WEATHER]}],
            vad=VADSettings(
                disabled=True,
                start_sensitivity=Sensitivity.HIGH,
                end_sensitivity=Sensitivity.LOW,
                prefix_padding_ms=20,
                silence_duration_ms=100,
            ),
            activity_handling=ActivityHandling.NO_INTERRUPTION,
            turn_coverage=TurnCoverage.ALL_INPUT,
            context_compression=None,
            session_resumption=False,
        )
    )
    assert setup == {
        "setup": {
            "model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {
                    "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Charon"}},
                    "languageCode": "en-US",
                },
                "temperature": 0.7,
                "topP": 0.9,
                "topK": 40,
                "maxOutputTokens": 256,
                "thinkingConfig": {"thinkingBudget": 0, "includeThoughts": True},
                "enableAffectiveDialog": False,
                "mediaResolution": "MEDIA_RESOLUTION_LOW",
                "translationConfig": {"targetLanguageCode": "es-US", "echoTargetLanguage": False},
            },
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "tools": [{"functionDeclarations": [{**WEATHER, "behavior": "BLOCKING"}]}],
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
            "realtimeInputConfig": {
                "automaticActivityDetection": {
                    "disabled": True,
                    "startOfSpeechSensitivity": "START_SENSITIVITY_HIGH",
                    "endOfSpeechSensitivity": "END_SENSITIVITY_LOW",
                    "prefixPaddingMs": 20,
                    "silenceDurationMs": 100,
                },
                "activityHandling": "NO_INTERRUPTION",
                "turnCoverage": "TURN_INCLUDES_ALL_INPUT",
            },
            "proactivity": {"proactiveAudio": True},
        }
    }


def test_a_plain_session_sends_only_what_it_sets():
    generation = protocol.setup_message(config(translation=TranslationSettings("fr")))["setup"][
        "generationConfig"
    ]
    assert generation == {
        "responseModalities": ["AUDIO"],
        "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
        "translationConfig": {"targetLanguageCode": "fr"},
    }


def test_a_text_session_asks_for_text_and_no_speech_or_output_transcript():
    setup = protocol.setup_message(config(model="gemini-live-2.5-flash-preview", text_output=True))[
        "setup"
    ]
    assert setup["generationConfig"] == {"responseModalities": ["TEXT"]}
    assert "outputAudioTranscription" not in setup and setup["inputAudioTranscription"] == {}


def test_a_thinking_level_is_sent_in_capitals_and_history_is_announced_only_when_it_comes():
    three_one = config(model="gemini-3.1-flash-live-preview", thinking_level="Minimal")
    setup = protocol.setup_message(three_one, history_in_client_content=True)["setup"]
    assert setup["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "MINIMAL"}
    assert setup["historyConfig"] == {"initialHistoryInClientContent": True}
    # Announced history that never comes leaves the model deaf: no history, no announcement.
    assert "historyConfig" not in protocol.setup_message(three_one)["setup"]


def test_affective_dialog_is_sent_only_to_models_that_take_it():
    assert (
        "enableAffectiveDialog"
        not in protocol.setup_message(config(model="gemini-3.8-live", affective_dialog=False))[
            "setup"
        ]["generationConfig"]
    )


def test_a_vertex_session_names_the_model_by_its_publisher_path():
    setup = protocol.setup_message(
        config(
            model="gemini-live-2.5-flash-native-audio",
            backend=Backend.VERTEX,
            vertex_project="my-project",
            vertex_location="europe-west4",
        )
    )["setup"]
    assert setup["model"] == (
        "projects/my-project/locations/europe-west4/publishers/google/models/"
        "gemini-live-2.5-flash-native-audio"
    )


def test_extra_setup_is_merged_into_the_setup_without_dropping_what_it_does_not_name():
    setup = protocol.setup_message(
        config(
            extra_setup={
                "generationConfig": {"speechConfig": {"languageCode": "fr-FR"}},
                "proactivity": {"proactiveVideo": True},
                "sessionResumption": {"transparent": True},
                "inputAudioTranscription": None,
            }
        )
    )["setup"]
    assert setup["generationConfig"]["speechConfig"] == {
        "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}},
        "languageCode": "fr-FR",
    }
    assert setup["proactivity"] == {"proactiveVideo": True}
    assert setup["sessionResumption"] == {"transparent": True}
    assert setup["inputAudioTranscription"] is None


# --------------------------------------------------------------------------------------------
# Endpoints and model names
# --------------------------------------------------------------------------------------------


def test_an_ephemeral_token_connects_to_the_constrained_v1alpha_method():
    url = protocol.endpoint_url(None, api_version="v1alpha", ephemeral_token=True)
    assert url == (
        "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1alpha."
        "GenerativeService.BidiGenerateContentConstrained"
    )
    assert protocol.endpoint_url(None, api_version="v1alpha").endswith(".BidiGenerateContent")


def test_an_ephemeral_token_on_another_version_is_refused_saying_what_to_pass():
    with pytest.raises(ConfigurationError) as error:
        protocol.endpoint_url(None, api_version="v1", ephemeral_token=True)
    assert "accepted only by the v1alpha Live API, not v1" in str(error.value)
    assert str(error.value).endswith("or pass api_version='v1alpha'.")


def test_an_unknown_api_version_is_refused_naming_the_valid_ones():
    with pytest.raises(ConfigurationError) as error:
        protocol.endpoint_url(None, api_version="v2")
    assert str(error.value) == "api_version must be one of v1alpha, v1beta, v1, got 'v2'."


def test_an_http_base_url_becomes_plain_websocket():
    assert protocol.endpoint_url("http://127.0.0.1:9000").startswith("ws://127.0.0.1:9000/ws/")


@pytest.mark.parametrize(
    ("location", "base_url", "expected"),
    [
        ("us-central1", None, "wss://us-central1-aiplatform.googleapis.com"),
        ("global", None, "wss://aiplatform.googleapis.com"),
        ("europe-west4", "http://127.0.0.1:9000/vertex/", "ws://127.0.0.1:9000/vertex"),
    ],
)
def test_vertex_endpoints_are_regional_except_global(location, base_url, expected):
    assert protocol.vertex_endpoint_url(location, base_url) == (
        f"{expected}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    )


def test_model_resources_per_backend():
    assert protocol.model_resource("gemini-3.8-live") == "models/gemini-3.8-live"
    assert protocol.model_resource("models/gemini-3.8-live") == "models/gemini-3.8-live"
    assert (
        protocol.model_resource("gemini-3.8-live", Backend.VERTEX)
        == "publishers/google/models/gemini-3.8-live"
    )
    assert protocol.model_resource("m", Backend.VERTEX, project="p") == (
        "projects/p/locations/us-central1/publishers/google/models/m"
    )
