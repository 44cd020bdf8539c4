"""Turn-taking stories, fed to the pure tracker event by event."""

import pytest

from pipecat_gemini_live.turns import (
    ReplyEnded,
    ReplyPhase,
    ReplyStarted,
    TurnTracker,
    UserPhase,
    UserSentence,
    UserStarted,
    UserStopped,
)


def test_a_plain_turn_opens_closes_and_emits_whole_sentences():
    turns = TurnTracker()
    assert turns.on_input_transcript(" What is") == [UserStarted()]
    assert turns.on_input_transcript(" the weather? In") == [UserSentence("What is the weather?")]
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [UserSentence("In"), UserStopped(), ReplyStarted()]
    assert turns.on_input_transcript(" Paris.") == [UserSentence("Paris.")]  # late, same turn
    assert turns.on_generation_complete() == [ReplyEnded()]
    assert turns.on_turn_complete() == []


def test_transcripts_are_not_merged_across_turns():
    turns = TurnTracker()
    turns.on_input_transcript(" hello there")
    assert turns.on_model_output()[1][0] == UserSentence("hello there")
    turns.on_generation_complete()
    turns.on_turn_complete()
    assert turns.on_input_transcript(" second turn") == [UserStarted()]
    assert turns.on_model_output()[1][0] == UserSentence("second turn")


def test_barge_in_ends_the_reply_drops_stale_output_until_the_turn_completes():
    turns = TurnTracker()
    turns.on_input_transcript(" hi")
    turns.on_model_output()
    assert turns.on_interrupted() == [ReplyEnded(interrupted=True), UserStarted()]
    assert turns.on_model_output() == (False, [])  # stale audio of the abandoned reply
    assert turns.dropped_output_chunks == 1
    assert turns.on_turn_complete() == []
    deliver, effects = turns.on_model_output()  # the answer to the barge-in
    assert deliver and effects == [UserStopped(), ReplyStarted()]


def test_a_tool_call_ends_the_user_turn_and_opens_the_reply_after_the_users_words():
    turns = TurnTracker()
    turns.on_input_transcript(" book it")
    assert turns.on_tool_call() == [
        UserSentence("book it"),
        UserStopped(),
        ReplyStarted(by_tool_call=True),
    ]
    assert turns.replying
    # The audio after the call continues the same reply.
    assert turns.on_model_output() == (True, [])
    assert turns.on_tool_call() == []


def test_a_reply_cut_off_by_a_lost_connection_ends_as_a_reply_not_an_interruption():
    # No InterruptionFrame closed it, so the reply must end normally (LLMFullResponseEndFrame),
    # or the context aggregator would merge it into the next reply.
    turns = TurnTracker()
    turns.on_input_transcript(" hi")
    turns.on_model_output()
    assert turns.reset() == [ReplyEnded()]
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [ReplyStarted()]


def test_a_finished_transcript_is_the_users_sentence_even_without_a_full_stop():
    turns = TurnTracker()
    assert turns.on_input_transcript(" what time is it") == [UserStarted()]
    assert turns.on_input_transcript(" in Paris", finished=True) == [
        UserSentence("what time is it in Paris")
    ]
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [UserStopped(), ReplyStarted()]  # nothing left to flush


# ----------------------------------------------------------------------------- the user's side


def test_a_new_conversation_has_not_started_and_nothing_is_open():
    # context_sync seeds the context's history only while no conversation has started.
    turns = TurnTracker()
    assert not turns.conversation_started and not turns.replying
    assert (turns.user, turns.reply) == (UserPhase.IDLE, ReplyPhase.IDLE)
    assert turns.dropped_output_chunks == 0
    assert turns.on_turn_complete() == []  # nothing to flush or close
    assert turns.reset() == []


def test_the_onset_in_the_audio_sent_opens_the_users_turn_between_replies():
    turns = TurnTracker()
    assert turns.on_local_onset() == [UserStarted()]
    assert turns.user is UserPhase.SPEAKING
    # The server has not heard anything yet: the history may still be seeded.
    assert not turns.conversation_started
    # The server's own report of the same speech opens no second turn.
    assert turns.on_voice_activity(started=True) == []
    assert turns.on_input_transcript(" Hello") == []
    assert turns.on_local_onset() == []


@pytest.mark.parametrize(
    "event",
    [
        lambda turns: turns.on_input_transcript(" Hello"),
        lambda turns: turns.on_voice_activity(started=True),
        lambda turns: turns.on_model_output(),
        lambda turns: turns.on_tool_call(),
    ],
)
def test_the_server_hearing_the_user_or_replying_starts_the_conversation(event):
    # From then on the context's history is no longer seeded (the model would answer twice).
    turns = TurnTracker()
    event(turns)
    assert turns.conversation_started


@pytest.mark.parametrize("reply", ["speaking", "generated", "interrupted"])
def test_the_onset_in_the_audio_sent_during_a_reply_is_left_to_the_server(reply):
    # It may be the bot's own voice coming back (echo): only the server says it is a barge-in.
    turns = tracker_with_reply(reply)
    assert turns.on_local_onset() == []
    assert turns.user is not UserPhase.SPEAKING


def test_speaking_again_after_the_server_ended_the_turn_opens_a_new_one_after_the_first_words():
    turns = TurnTracker()
    turns.on_voice_activity(started=True)
    turns.on_input_transcript(" I would like")
    assert turns.on_voice_activity(started=False) == [UserStopped()]
    assert turns.on_local_onset() == [UserSentence("I would like"), UserStarted()]
    assert turns.on_voice_activity(started=False) == [UserStopped()]
    turns.on_input_transcript(" a coffee")
    assert turns.on_voice_activity(started=True) == [UserSentence("a coffee"), UserStarted()]


def test_a_sound_the_server_never_made_anything_of_is_closed_again():
    turns = TurnTracker()
    turns.on_local_onset()  # a cough
    assert turns.on_speech_unanswered() == [UserStopped()]
    assert turns.user is UserPhase.IDLE
    assert turns.on_speech_unanswered() == []  # closed once
    assert turns.on_local_onset() == [UserStarted()]  # the next sound opens a turn again


def test_a_blank_transcript_does_not_show_that_the_server_heard_the_user():
    turns = TurnTracker()
    turns.on_local_onset()
    assert turns.on_input_transcript(" ") == []
    assert turns.on_speech_unanswered() == [UserStopped()]


@pytest.mark.parametrize(
    "heard",
    [
        lambda turns: turns.on_input_transcript(" hm"),
        lambda turns: turns.on_voice_activity(started=True),
        lambda turns: turns.on_voice_activity(started=False),
    ],
)
def test_speech_the_server_showed_it_heard_is_not_closed_as_unanswered(heard):
    turns = TurnTracker()
    turns.on_local_onset()
    heard(turns)
    assert turns.on_speech_unanswered() == []


def test_what_the_server_heard_last_turn_does_not_count_for_the_next_sound():
    turns = TurnTracker()
    turns.on_input_transcript(" Hello.")
    turns.on_model_output()
    turns.on_generation_complete()
    turns.on_turn_complete()
    turns.on_local_onset()  # a new sound, unheard so far
    assert turns.on_speech_unanswered() == [UserStopped()]


def test_a_barge_in_is_not_closed_as_unanswered_while_the_cut_reply_winds_down():
    turns = TurnTracker()
    turns.on_local_onset()
    turns.on_model_output()  # the server answered without a transcript of the user
    turns.on_interrupted()  # the server heard the user over the reply
    assert turns.user is UserPhase.SPEAKING
    assert turns.on_speech_unanswered() == []


def heard_turn(turns: TurnTracker) -> None:
    """A whole turn before: the server transcribed the user and answered."""
    turns.on_input_transcript(" Hello.")
    turns.on_model_output()
    turns.on_generation_complete()
    turns.on_turn_complete()


@pytest.mark.parametrize("before", [lambda turns: None, heard_turn], ids=["fresh", "after_a_turn"])
def test_a_barge_in_the_server_never_answers_is_closed_whatever_came_before(before):
    """The server cut the reply for a sound, then heard nothing it could transcribe: the
    user's turn closes once the cut reply is over, in the first turn as in any later one."""
    turns = TurnTracker()
    before(turns)
    turns.on_model_output()
    turns.on_interrupted()
    turns.on_turn_complete()
    assert turns.user is UserPhase.SPEAKING
    assert turns.on_speech_unanswered() == [UserStopped()]


def test_the_servers_voice_activity_opens_and_closes_the_users_turn():
    turns = TurnTracker()
    assert turns.on_voice_activity(started=False) == []  # no turn open: nothing to close
    assert turns.on_voice_activity(started=True) == [UserStarted()]
    assert turns.on_voice_activity(started=False) == [UserStopped()]
    assert turns.user is UserPhase.DONE
    assert turns.on_voice_activity(started=False) == []  # closed once
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [ReplyStarted()]  # the turn is already closed


def test_the_servers_voice_activity_during_a_reply_opens_the_users_turn():
    # Unlike the audio's own onset, the server's VAD is the server hearing the user.
    turns = tracker_with_reply("speaking")
    assert turns.on_voice_activity(started=True) == [UserStarted()]


def test_words_heard_while_the_bot_speaks_open_no_user_turn():
    # e.g. activity_handling=NO_INTERRUPTION: the user talks over a reply that goes on.
    turns = TurnTracker()
    turns.on_model_output()  # the model speaks first (proactive, or a greeting)
    assert turns.on_input_transcript(" uh huh. Go") == [UserSentence("uh huh.")]
    assert turns.user is UserPhase.IDLE
    assert turns.on_generation_complete() == [UserSentence("Go"), ReplyEnded()]


def test_a_blank_transcript_opens_no_turn():
    turns = TurnTracker()
    assert turns.on_input_transcript("  ") == []
    assert turns.user is UserPhase.IDLE and not turns.conversation_started


def test_several_sentences_in_one_transcript_come_out_one_by_one():
    turns = TurnTracker()
    effects = turns.on_input_transcript(" Hi! Is it open? Great. And")
    assert effects == [
        UserStarted(),
        UserSentence("Hi!"),
        UserSentence("Is it open?"),
        UserSentence("Great."),
    ]
    assert turns.on_input_transcript(" tomorrow", finished=True) == [UserSentence("And tomorrow")]


@pytest.mark.parametrize(
    ("transcript", "sentences"),
    [
        (" It costs 3.50 euros", []),  # a decimal point ends nothing
        (' He said "go." Then', ['He said "go."']),  # the closing quote belongs to it
        (" (Really?) Yes", ["(Really?)"]),
        (" Wait... what", ["Wait..."]),
        (" 你好。 再见", ["你好。"]),
    ],
)
def test_a_sentence_ends_at_its_punctuation_before_a_space(transcript, sentences):
    turns = TurnTracker()
    effects = turns.on_input_transcript(transcript)
    assert effects == [UserStarted(), *(UserSentence(s) for s in sentences)]


# ----------------------------------------------------------------------------- the model's side


def tracker_with_reply(reply: str) -> TurnTracker:
    """A tracker whose user has had their turn and whose reply is ``reply``."""
    turns = TurnTracker()
    turns.on_input_transcript(" hi")
    turns.on_model_output()
    if reply == "generated":
        turns.on_generation_complete()
    elif reply == "interrupted":
        turns.on_local_interruption()
    assert turns.reply is ReplyPhase(reply)
    return turns


def test_output_after_the_reply_was_generated_is_a_new_reply():
    # Each reply gets its own start and end (the context records them as two turns).
    turns = tracker_with_reply("generated")
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [ReplyStarted()]
    assert turns.replying


def test_the_models_output_within_a_reply_opens_nothing_more():
    turns = tracker_with_reply("speaking")
    assert turns.on_model_output() == (True, [])
    assert turns.on_model_output() == (True, [])
    assert turns.dropped_output_chunks == 0


def test_a_tool_call_after_the_reply_was_generated_opens_a_new_reply():
    turns = tracker_with_reply("generated")
    assert turns.on_tool_call() == [ReplyStarted(by_tool_call=True)]
    assert turns.replying


def test_a_tool_call_of_an_interrupted_reply_opens_no_reply_and_ends_the_barge_in_turn():
    turns = tracker_with_reply("speaking")
    turns.on_interrupted()
    assert turns.on_tool_call() == [UserStopped()]
    assert turns.on_model_output() == (False, [])  # still the interrupted generation's output


def test_a_barge_in_after_the_reply_was_generated_drops_nothing_of_the_next_reply():
    # The client was still playing the reply: the server's next output is new.
    turns = tracker_with_reply("generated")
    assert turns.on_interrupted() == [UserStarted()]
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [UserStopped(), ReplyStarted()]


def test_a_barge_in_while_the_user_already_speaks_opens_no_second_turn():
    turns = tracker_with_reply("speaking")
    turns.on_voice_activity(started=True)
    assert turns.on_interrupted() == [ReplyEnded(interrupted=True)]


def test_the_words_of_the_last_turn_go_out_before_a_barge_in_opens_the_next():
    turns = TurnTracker()
    turns.on_model_output()
    turns.on_input_transcript(" and then")  # during the reply: no turn of its own
    assert turns.on_interrupted() == [
        ReplyEnded(interrupted=True),
        UserSentence("and then"),
        UserStarted(),
    ]


def test_the_barge_in_words_stay_with_the_barge_in_turn_across_the_cut_replys_end():
    turns = tracker_with_reply("speaking")
    turns.on_interrupted()
    turns.on_input_transcript(" no wait")
    assert turns.on_generation_complete() == [UserSentence("no wait")]
    turns.on_input_transcript(" I meant")
    assert turns.on_turn_complete() == []  # the user is still talking
    assert turns.user is UserPhase.SPEAKING
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [UserSentence("I meant"), UserStopped(), ReplyStarted()]


def test_generation_complete_ends_the_reply_once_and_turn_complete_closes_the_turn():
    turns = tracker_with_reply("speaking")
    assert turns.user is UserPhase.DONE
    assert turns.on_generation_complete() == [ReplyEnded()]
    assert turns.on_generation_complete() == []
    assert turns.on_turn_complete() == []
    assert (turns.user, turns.reply) == (UserPhase.IDLE, ReplyPhase.IDLE)


def test_a_turn_complete_without_generation_complete_ends_the_reply():
    # Not every model sends generationComplete.
    turns = tracker_with_reply("speaking")
    turns.on_input_transcript(" please")  # a late transcript of the user's turn
    assert turns.on_turn_complete() == [ReplyEnded(), UserSentence("please")]
    assert not turns.replying
    assert turns.on_input_transcript(" next") == [UserStarted()]


def test_a_turn_complete_leaves_a_user_who_is_speaking_in_their_turn():
    turns = tracker_with_reply("generated")
    turns.on_voice_activity(started=True)
    turns.on_turn_complete()
    assert turns.user is UserPhase.SPEAKING


def test_pipecats_interruption_ends_the_reply_and_drops_its_output_until_the_turn_completes():
    turns = tracker_with_reply("speaking")
    assert turns.on_local_interruption() == [ReplyEnded(interrupted=True)]
    assert not turns.replying
    assert turns.on_local_interruption() == []  # ended once
    assert turns.on_model_output() == (False, [])
    assert turns.on_model_output() == (False, [])
    assert turns.dropped_output_chunks == 2
    assert turns.on_generation_complete() == []  # the cut reply ended already
    turns.on_turn_complete()
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [ReplyStarted()]


@pytest.mark.parametrize("reply", ["idle", "generated"])
def test_pipecats_interruption_outside_a_reply_in_progress_drops_nothing(reply):
    turns = TurnTracker() if reply == "idle" else tracker_with_reply(reply)
    assert turns.on_local_interruption() == []
    deliver, effects = turns.on_model_output()
    assert deliver and effects[-1] == ReplyStarted()


def test_a_lost_connection_closes_the_users_turn_with_the_words_said_so_far():
    turns = TurnTracker()
    turns.on_input_transcript(" I wanted to ask")
    assert turns.reset() == [UserSentence("I wanted to ask"), UserStopped()]
    assert (turns.user, turns.reply) == (UserPhase.IDLE, ReplyPhase.IDLE)
    assert turns.on_input_transcript(" Hello") == [UserStarted()]  # a fresh turn


def test_a_lost_connection_after_a_barge_in_lets_the_next_reply_through():
    turns = tracker_with_reply("interrupted")
    assert turns.reset() == []  # the cut reply ended already; the user's turn was over
    deliver, effects = turns.on_model_output()
    assert deliver and effects == [ReplyStarted()]
