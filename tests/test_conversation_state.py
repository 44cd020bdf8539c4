"""When a switch to a new connection loses nothing (the safe point), and when a planned switch
must happen at the latest: the session's bookkeeping, fed event by event on a clock of our own."""

import pytest

from pipecat_gemini_live import conversation
from pipecat_gemini_live.conversation import (
    MIN_SWITCH_MARGIN,
    UNANSWERED_SPEECH_SECONDS,
    ConversationState,
    SwitchPlan,
)
from pipecat_gemini_live.events import (
    AudioChunk,
    FunctionCall,
    GenerationComplete,
    InteractionStatus,
    Interrupted,
    ModelText,
    OutputTranscript,
    ResumptionUpdate,
    ToolCall,
    TurnComplete,
)


class Clock:
    """``time.monotonic`` for the module under test, moved by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(conversation, "time", fake)
    return fake


def handle(name: str = "h1") -> ResumptionUpdate:
    return ResumptionUpdate(handle=name, resumable=True)


def state_with_handle() -> ConversationState:
    state = ConversationState()
    state.observe(handle())
    return state


def test_with_resumption_there_is_no_safe_point_before_the_server_issued_a_handle():
    state = ConversationState()
    assert not state.at_safe_point
    state.observe(handle("h1"))
    assert state.at_safe_point
    assert (state.handle, state.resumable, state.handle_is_current) == ("h1", True, True)


def test_without_resumption_an_idle_conversation_is_a_safe_point_without_a_handle():
    state = ConversationState(uses_resumption=False)
    assert state.at_safe_point
    state.observe(AudioChunk(b"\0\0"))
    assert not state.at_safe_point  # still a reply in progress
    state.observe(TurnComplete())
    assert state.at_safe_point


@pytest.mark.parametrize("output", [AudioChunk(b"\0\0"), ModelText("Hi"), OutputTranscript("Hi")])
@pytest.mark.parametrize("end", [TurnComplete(), Interrupted(), GenerationComplete()])
def test_a_reply_is_no_safe_point_until_it_ended_and_a_new_handle_covers_it(output, end):
    state = state_with_handle()
    state.observe(output)
    assert state.replying and not state.at_safe_point
    state.observe(end)
    assert not state.replying
    assert not state.at_safe_point  # the handle from before the reply does not cover it
    state.observe(handle("h2"))
    assert state.at_safe_point and state.handle == "h2"


def test_an_end_of_turn_alone_makes_the_handle_stale():
    state = state_with_handle()
    state.observe(TurnComplete())  # e.g. a turn answered by a tool call only
    assert not state.at_safe_point


def test_a_pending_tool_call_is_no_safe_point_until_it_is_answered():
    state = state_with_handle()
    calls = (FunctionCall("c1", "get_weather"),)
    state.tools.receive(calls)
    state.observe(ToolCall(calls))
    state.observe(handle("h2"))
    assert not state.at_safe_point
    state.tools.answered("c1")
    # A tool call alone is no reply in progress: once it is answered, the switch may happen.
    assert not state.replying and state.at_safe_point


def test_a_tool_call_in_the_middle_of_a_reply_leaves_the_reply_in_progress():
    state = state_with_handle()
    state.observe(AudioChunk(b"\0\0"))
    state.observe(ToolCall((FunctionCall("c1", "get_weather"),)))
    assert state.replying


def test_a_tool_call_makes_the_handle_stale():
    state = state_with_handle()
    state.observe(ToolCall((FunctionCall("c1", "get_weather"),)))
    assert not state.handle_is_current


def test_while_the_model_is_still_working_there_is_no_safe_point():
    # Extended thinking: interactionStatus IN_PROGRESS between the turn's messages.
    state = state_with_handle()
    state.observe(InteractionStatus(idle=False))
    assert state.working and not state.at_safe_point
    state.observe(InteractionStatus(idle=True))
    assert not state.working and state.at_safe_point


@pytest.mark.parametrize(
    "update",
    [
        ResumptionUpdate(handle="h2", resumable=False),  # not resumable at this moment
        ResumptionUpdate(handle=None, resumable=True),
        ResumptionUpdate(handle="", resumable=True),
    ],
)
def test_an_update_without_a_usable_handle_keeps_the_last_one(update):
    state = state_with_handle()
    state.observe(AudioChunk(b"\0\0"))
    state.observe(TurnComplete())
    state.observe(update)
    assert state.handle == "h1"
    assert not state.at_safe_point  # h1 still does not cover the reply


def test_the_server_saying_it_cannot_resume_now_is_noted():
    state = state_with_handle()
    state.observe(ResumptionUpdate(handle=None, resumable=False))
    assert state.resumable is False and state.handle == "h1"


def test_the_users_words_after_the_latest_handle_keep_the_turn_open_until_answered(clock):
    state = state_with_handle()
    assert not state.user_turn_open
    clock.now += 1.0
    state.voiced_at = clock.now  # the client sent speech (Session.note_user_speech)
    assert state.user_turn_open and not state.at_safe_point
    clock.now += 0.5
    state.observe(handle("h2"))  # the server's handle now covers those words
    assert not state.user_turn_open and state.at_safe_point


def test_a_sound_the_server_never_answered_stops_holding_the_switch_back(clock):
    state = state_with_handle()
    clock.now += 1.0
    state.voiced_at = clock.now
    clock.now += UNANSWERED_SPEECH_SECONDS - 0.5
    assert state.user_turn_open
    clock.now += 0.5
    assert not state.user_turn_open and state.at_safe_point


def test_speech_before_the_latest_handle_is_covered_by_it(clock):
    state = ConversationState()
    state.voiced_at = clock.now
    clock.now += 0.25
    state.observe(handle())
    assert state.handle_at == clock.now
    assert not state.user_turn_open and state.at_safe_point


# ----------------------------------------------------------------------------- the switch plan


def test_before_any_connection_was_timed_a_switch_keeps_the_minimum_margin():
    plan = SwitchPlan()
    assert plan.margin(10.0) == MIN_SWITCH_MARGIN
    assert plan.plan(10.0) == 10.0 - MIN_SWITCH_MARGIN


def test_the_margin_is_twice_the_longest_switch_seen():
    plan = SwitchPlan()
    plan.measured(0.5)
    plan.measured(0.25)  # a quicker one does not shrink it
    assert plan.margin(10.0) == 1.0
    plan.measured(0.75)
    assert plan.margin(10.0) == 1.5
    plan.measured(0.0625)
    assert plan.margin(10.0) == 1.5


def test_a_very_fast_switch_still_keeps_the_minimum_margin():
    plan = SwitchPlan()
    plan.measured(0.03125)
    assert plan.margin(10.0) == MIN_SWITCH_MARGIN


def test_the_margin_is_never_more_than_half_the_time_left():
    plan = SwitchPlan()
    plan.measured(2.0)
    assert plan.margin(3.0) == 1.5
    assert plan.plan(3.0) == 1.5


def test_a_fixed_margin_wins_over_the_measured_one_but_not_over_half_the_time_left():
    plan = SwitchPlan(margin=2.0)
    plan.measured(5.0)
    assert plan.margin(10.0) == 2.0
    assert plan.margin(3.0) == 1.5


def test_a_fixed_margin_of_zero_switches_at_the_servers_deadline():
    plan = SwitchPlan(margin=0.0)
    plan.measured(1.0)
    assert plan.margin(10.0) == 0.0
    assert plan.plan(10.0) == 10.0


def test_a_planned_switch_has_a_deadline_until_it_is_cleared(clock):
    plan = SwitchPlan()
    assert not plan.planned and plan.deadline is None
    due_in = plan.plan(10.0)
    assert plan.planned and plan.deadline == clock.now + due_in
    plan.clear()
    assert not plan.planned and plan.deadline is None


def test_no_time_left_means_switch_now(clock):
    plan = SwitchPlan()
    assert plan.plan(0.0) == 0.0
    assert plan.deadline == clock.now
