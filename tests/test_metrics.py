"""TTFB from the end of the user's speech, and usage reported once per model turn (the pure
bookkeeping; tests/test_ttfb_in_a_pipeline.py measures it in a running pipeline)."""

from pipecat.audio.vad.vad_analyzer import VAD_STOP_SECS

from pipecat_gemini_live.events import ModalityTokens, Usage
from pipecat_gemini_live.metrics import (
    SPEECH_RMS_THRESHOLD,
    SpeechClock,
    UsageTracker,
    VoiceMeter,
    to_token_usage,
)
from pipecat_gemini_live.protocol import parse_usage


def test_ttfb_starts_when_the_user_last_made_a_sound_and_counts_each_reply_once():
    clock = SpeechClock()
    assert clock.on_chunk_sent(rms=2000.0, sent_at=10.00) is True
    assert clock.on_chunk_sent(rms=2500.0, sent_at=10.04) is True
    assert clock.on_chunk_sent(rms=30.0, sent_at=10.08) is False  # silence after the words
    assert clock.ttfb_start() == 10.04
    assert clock.ttfb_start() is None  # the same speech does not start a second reply's TTFB


def test_silence_alone_never_starts_a_ttfb_measurement():
    clock = SpeechClock()
    for step in range(5):
        assert clock.on_chunk_sent(rms=SPEECH_RMS_THRESHOLD - 1, sent_at=step * 0.04) is False
    assert clock.ttfb_start() is None
    assert clock.last_voiced_at is None


def test_a_chunk_at_the_threshold_level_counts_as_speech():
    clock = SpeechClock()
    assert clock.on_chunk_sent(rms=SPEECH_RMS_THRESHOLD, sent_at=3.0) is True
    assert clock.ttfb_start() == 3.0


def test_new_speech_after_a_reply_starts_the_next_measurement():
    clock = SpeechClock()
    clock.on_chunk_sent(rms=900.0, sent_at=1.0)
    assert clock.ttfb_start() == 1.0
    clock.on_chunk_sent(rms=900.0, sent_at=7.5)
    assert clock.ttfb_start() == 7.5


def test_speech_before_a_reply_is_measured_from_its_end_even_across_quiet_chunks():
    clock = SpeechClock()
    clock.on_chunk_sent(rms=900.0, sent_at=1.0)
    clock.on_chunk_sent(rms=10.0, sent_at=1.5)
    assert clock.last_voiced_at == 1.0  # a quiet chunk is not the user speaking
    assert clock.ttfb_start() == 1.0


# ----------------------------------------------------------------------------- the voice meter


def test_the_first_voiced_chunk_starts_the_users_speech_where_that_chunk_began():
    meter = VoiceMeter(stop_secs=0.25)
    assert meter.voiced(sent_at=10.0, chunk_seconds=0.5) is True
    assert meter.speaking and meter.onset_at == 9.5 and meter.last_voiced_at == 10.0
    # The next voiced chunks continue the same speech.
    assert meter.voiced(sent_at=10.5, chunk_seconds=0.5) is False
    assert meter.onset_at == 9.5 and meter.last_voiced_at == 10.5


def test_the_speech_stops_once_stop_secs_have_passed_without_a_voiced_chunk():
    meter = VoiceMeter(stop_secs=0.25)
    meter.voiced(sent_at=10.0, chunk_seconds=0.125)
    assert meter.quiet(10.125) is False  # a pause shorter than stop_secs
    assert meter.speaking
    assert meter.quiet(10.25) is True
    assert not meter.speaking
    assert meter.quiet(11.0) is False  # it stopped once


def test_a_voiced_chunk_within_the_pause_keeps_the_speech_going():
    meter = VoiceMeter(stop_secs=0.25)
    meter.voiced(sent_at=10.0, chunk_seconds=0.125)
    meter.voiced(sent_at=10.125, chunk_seconds=0.125)
    assert meter.quiet(10.25) is False  # 0.125 s since the last voiced chunk
    assert meter.quiet(10.375) is True


def test_speech_after_a_stop_starts_again():
    meter = VoiceMeter(stop_secs=0.25)
    meter.voiced(sent_at=10.0, chunk_seconds=0.125)
    meter.quiet(11.0)
    assert meter.voiced(sent_at=12.0, chunk_seconds=0.125) is True
    assert meter.onset_at == 11.875


def test_quiet_before_any_speech_stops_nothing():
    meter = VoiceMeter()
    assert meter.quiet(100.0) is False
    assert not meter.speaking and meter.last_voiced_at is None


def test_by_default_the_meter_stops_after_pipecats_vad_pause():
    meter = VoiceMeter()
    meter.voiced(sent_at=10.0, chunk_seconds=0.125)
    assert meter.quiet(10.0 + VAD_STOP_SECS * 0.9) is False
    assert meter.quiet(10.0 + VAD_STOP_SECS * 1.1) is True


# ----------------------------------------------------------------------------- usage


def usage(total: int, **fields) -> Usage:
    return Usage(total_tokens=total, **fields)


def test_a_turn_reports_its_largest_usage_snapshot_once():
    tracker = UsageTracker()
    tracker.observe(usage(100, prompt_tokens=90))
    tracker.observe(usage(180, prompt_tokens=90, response_tokens=90))
    tracker.observe(usage(120))  # a stale, smaller snapshot arriving late
    assert tracker.end_turn() == usage(180, prompt_tokens=90, response_tokens=90)
    assert tracker.end_turn() is None  # nothing is counted twice


def test_a_repeated_snapshot_of_the_same_size_replaces_the_older_one():
    tracker = UsageTracker()
    tracker.observe(usage(50))
    newer = usage(50, prompt_tokens=20, response_tokens=30)
    tracker.observe(newer)
    assert tracker.end_turn() is newer


def test_a_turn_without_usage_reports_none():
    assert UsageTracker().end_turn() is None


def test_pipecat_usage_carries_every_count_the_server_reported():
    # The 3.8 turnComplete of a recorded real session (thoughts are outside the total there).
    reported = parse_usage(
        {
            "promptTokenCount": 626,
            "responseTokenCount": 63,
            "totalTokenCount": 689,
            "cachedContentTokenCount": 128,
            "thoughtsTokenCount": 40,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 312},
                {"modality": "AUDIO", "tokenCount": 287},
            ],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 63}],
        }
    )
    tokens = to_token_usage(reported)
    assert (tokens.prompt_tokens, tokens.completion_tokens, tokens.total_tokens) == (626, 63, 689)
    assert tokens.cache_read_input_tokens == 128
    assert tokens.reasoning_tokens == 40
    assert (tokens.input_audio_tokens, tokens.output_audio_tokens) == (287, 63)


def test_counts_the_server_left_out_are_absent_or_derived_not_zero():
    # proto3 JSON leaves zero counts out, so a snapshot can arrive without totalTokenCount.
    tokens = to_token_usage(
        Usage(
            prompt_tokens=187,
            response_tokens=21,
            response_details=(ModalityTokens("TEXT", 21),),
        )
    )
    assert tokens.total_tokens == 208  # prompt + response when no total was sent
    assert tokens.cache_read_input_tokens is None and tokens.reasoning_tokens is None
    assert (tokens.input_audio_tokens, tokens.output_audio_tokens) == (0, 0)
