"""Turn-taking stories, fed to the pure tracker event by event."""

from pipecat_gemini_live.turns import (
    ReplyEnded,
    ReplyStarted,
    TurnTracker,
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
