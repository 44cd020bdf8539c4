"""A Pipecat context (OpenAI-style messages) as Live API turns: what the model is told happened."""

import datetime

import pytest
from loguru import logger
from pipecat.processors.aggregators import async_tool_messages

from pipecat_gemini_live.history import conversation_turns, message_text, split_instruction

WEATHER_CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "call-1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ],
}


def user(content):
    return {"role": "user", "content": content}


def test_the_configured_instruction_wins_and_a_developer_kickoff_is_a_user_turn():
    """Pipecat's rule for Gemini: the configured instruction wins over an initial system
    message, which is then dropped; developer messages are the user's turns."""
    messages = [
        {"role": "system", "content": "You are a concierge."},
        {"role": "developer", "content": "Please introduce yourself."},
        user("Hi"),
    ]
    instruction, rest = split_instruction(messages, "Be a helpful voice bot.")
    assert instruction == "Be a helpful voice bot."
    assert conversation_turns(rest) == [
        {"role": "user", "parts": [{"text": "Please introduce yourself."}]},
        {"role": "user", "parts": [{"text": "Hi"}]},
    ]


def test_without_a_configured_one_an_initial_system_message_is_the_instruction():
    messages = [{"role": "system", "content": "You are a concierge."}, user("Hi")]
    assert split_instruction(messages, None) == ("You are a concierge.", [user("Hi")])
    # Only the first message counts, and only as a system message (not developer), and a
    # lone system message is conversation, as in Pipecat's adapters.
    later = [user("Hi"), {"role": "system", "content": "Be brief."}]
    assert split_instruction(later, None) == (None, later)
    kickoff_first = [{"role": "developer", "content": "Please introduce yourself."}, user("Hi")]
    assert split_instruction(kickoff_first, None) == (None, kickoff_first)
    assert split_instruction(kickoff_first, "Be brief.") == ("Be brief.", kickoff_first)
    alone = [{"role": "system", "content": "Say hello."}]
    assert split_instruction(alone, None) == (None, alone)
    assert conversation_turns(alone) == [{"role": "user", "parts": [{"text": "Say hello."}]}]


def test_an_empty_context_has_only_the_configured_instruction():
    assert split_instruction([], "Be brief.") == ("Be brief.", [])
    assert split_instruction([], None) == (None, [])
    assert conversation_turns([]) == []


def test_async_tool_notices_are_not_mistaken_for_system_prompts():
    messages = [
        async_tool_messages.build_intermediate_result_message("call-1", '"half way"'),
        {"role": "system", "content": "Be brief."},
    ]
    assert split_instruction(messages, None) == (None, messages)
    assert conversation_turns(messages) == [{"role": "user", "parts": [{"text": "Be brief."}]}]


def test_a_tool_round_becomes_call_and_response_turns_in_order():
    messages = [
        user("What's the weather in Paris?"),
        WEATHER_CALL,
        {"role": "tool", "tool_call_id": "call-1", "content": '{"forecast": "sunny"}'},
        {"role": "assistant", "content": "It is sunny in Paris."},
    ]
    assert conversation_turns(messages) == [
        {"role": "user", "parts": [{"text": "What's the weather in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call-1"}}
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"forecast": "sunny"},
                        "id": "call-1",
                    }
                }
            ],
        },
        {"role": "model", "parts": [{"text": "It is sunny in Paris."}]},
    ]


@pytest.mark.parametrize(
    ("content", "response"),
    [
        ("sunny", {"result": "sunny"}),  # not JSON: sent as the text it is
        ("[1, 2]", {"result": [1, 2]}),  # JSON, but not an object
        ("0", {"result": 0}),
        ({"forecast": "rain"}, {"forecast": "rain"}),  # already an object
    ],
)
def test_a_tool_result_is_always_sent_as_a_response_object(content, response):
    turns = conversation_turns(
        [WEATHER_CALL, {"role": "tool", "tool_call_id": "call-1", "content": content}]
    )
    assert turns[-1]["parts"][0]["functionResponse"]["response"] == response


def test_a_result_whose_call_is_not_in_the_history_is_left_out():
    turns = conversation_turns(
        [user("Hi"), {"role": "tool", "tool_call_id": "call-9", "content": '"orphan"'}]
    )
    assert turns == [{"role": "user", "parts": [{"text": "Hi"}]}]
    without_id = conversation_turns([WEATHER_CALL, {"role": "tool", "content": "which call?"}])
    assert [turn["role"] for turn in without_id] == ["model"]


def test_a_call_without_an_id_is_sent_without_one_and_bad_arguments_become_empty_args():
    call = {
        "role": "assistant",
        "tool_calls": [{"function": {"name": "get_time", "arguments": "not json"}}],
    }
    (turn,) = conversation_turns([call])
    assert turn == {"role": "model", "parts": [{"functionCall": {"name": "get_time", "args": {}}}]}
    listed = {"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "[1]"}}]}
    assert conversation_turns([listed])[0]["parts"][0]["functionCall"] == {
        "name": "",
        "args": {},
        "id": "c",
    }


def test_a_reply_with_words_and_a_call_keeps_both_in_one_model_turn():
    message = {**WEATHER_CALL, "content": "Let me check."}
    (turn,) = conversation_turns([message])
    assert [next(iter(part)) for part in turn["parts"]] == ["text", "functionCall"]


def test_an_async_tool_is_answered_by_its_final_result_not_by_its_progress_notices():
    messages = [
        user("Find me a flight to Lisbon."),
        WEATHER_CALL,
        async_tool_messages.build_started_message("call-1"),
        async_tool_messages.build_intermediate_result_message("call-1", '"searching"'),
        user("And a hotel?"),
        async_tool_messages.build_final_result_message("call-1", '{"flight": "TP 1350"}'),
    ]
    turns = conversation_turns(messages)
    assert [turn["role"] for turn in turns] == ["user", "model", "user", "user"]
    assert turns[3]["parts"] == [
        {
            "functionResponse": {
                "name": "get_weather",
                "response": {"flight": "TP 1350"},
                "id": "call-1",
            }
        }
    ]


def test_a_final_async_result_for_an_unknown_call_is_left_out():
    final = async_tool_messages.build_final_result_message("call-7", '"late"')
    assert conversation_turns([user("Hi"), final]) == [{"role": "user", "parts": [{"text": "Hi"}]}]


def test_consecutive_turns_of_one_role_are_kept_apart_and_foreign_messages_skipped():
    messages = [
        user("One."),
        "a provider-specific message for another LLM",
        user("Two."),
        {"role": "model", "content": "Three."},
        {"role": "narrator", "content": "ignored"},
        {"role": "assistant", "content": ""},  # nothing to say: no turn
        user([{"type": "text", "text": "Four."}]),
    ]
    assert conversation_turns(messages) == [
        {"role": "user", "parts": [{"text": "One."}]},
        {"role": "user", "parts": [{"text": "Two."}]},
        {"role": "model", "parts": [{"text": "Three."}]},
        {"role": "user", "parts": [{"text": "Four."}]},
    ]


def test_an_inline_image_is_sent_as_inline_data_beside_the_text():
    content = [
        "not a part",
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": ""},  # empty parts are not sent
        {"type": "text", "text": "What is this?"},
    ]
    (turn,) = conversation_turns([user(content)])
    assert turn["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"text": "What is this?"},
    ]


def test_a_data_url_without_a_mime_type_is_taken_as_jpeg():
    (turn,) = conversation_turns(
        [user([{"type": "image_url", "image_url": {"url": "data:;base64,/9j/4AAQ"}}])]
    )
    assert turn["parts"] == [{"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}]


@pytest.fixture
def warnings_logged():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(message.record["message"]), level="WARNING")
    yield lines
    logger.remove(sink)


@pytest.mark.parametrize(
    "url",
    [
        "https://images.example.com/photos/2026/cat-on-a-mat.jpg",  # remote: cannot be sent
        "data:image/png,not-base64",
        "data:image/png;base64,",
        "",
    ],
)
def test_an_image_that_is_not_inline_base64_is_left_out_with_a_warning(url, warnings_logged):
    content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "Hm?"}]
    (turn,) = conversation_turns([user(content)])
    assert turn["parts"] == [{"text": "Hm?"}]
    (warning,) = warnings_logged
    assert f"({url[:40]!r}...)" in warning
    assert warning.endswith("the Live API takes images inline, so this one is not sent.")


def test_an_image_part_without_a_url_is_left_out_too(warnings_logged):
    assert conversation_turns([user([{"type": "image_url"}])]) == []
    (warning,) = warnings_logged
    assert "data URL (''...)" in warning


def test_message_text_joins_the_text_parts_and_skips_images():
    assert message_text(user("Hello there")) == "Hello there"
    parts = [
        {"type": "text", "text": "Look"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        {"type": "text", "text": "here."},
    ]
    assert message_text(user(parts)) == "Look here."
    assert message_text({"role": "user"}) == ""


# ----------------------------------------------------------------------------- tools as text


def test_without_function_parts_a_tool_round_is_told_as_text_in_the_same_turns():
    """For models that close the call (1007) when history holds functionCall parts."""
    messages = [
        user("Weather in Zürich?"),
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call-1",
                    "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call-1", "content": '{"forecast": "Nebel über dem See"}'},
        {"role": "assistant", "content": "It will be foggy."},
    ]
    assert conversation_turns(messages, function_parts=False) == [
        {"role": "user", "parts": [{"text": "Weather in Zürich?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me check."},
                {"text": '[Called function get_weather with arguments {"city": "Zürich"}]'},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"text": '[Function get_weather returned {"forecast": "Nebel über dem See"}]'}
            ],
        },
        {"role": "model", "parts": [{"text": "It will be foggy."}]},
    ]


def test_without_function_parts_a_call_without_arguments_shows_an_empty_object():
    call = {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "get_time"}}]}
    (turn,) = conversation_turns([call], function_parts=False)
    assert turn["parts"] == [{"text": "[Called function get_time with arguments {}]"}]


def test_without_function_parts_a_result_json_cannot_hold_is_written_out_as_its_text():
    # A context built by hand may hold any object as a tool result; the history must not break.
    when = datetime.date(2026, 3, 1)
    messages = [WEATHER_CALL, {"role": "tool", "tool_call_id": "call-1", "content": {"on": when}}]
    assert conversation_turns(messages, function_parts=False)[-1]["parts"] == [
        {"text": '[Function get_weather returned {"on": "2026-03-01"}]'}
    ]
