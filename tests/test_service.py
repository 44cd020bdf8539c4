"""GeminiLiveService in real Pipecat pipelines against the emulator: conversations as stories."""

from __future__ import annotations

import asyncio
import json

import pytest
from pipecat.frames.frames import (
    ErrorFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData, TTFBMetricsData
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection

from pipecat_gemini_live import ConfigurationError, GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from tests.pipeline_kit import FakeSpeaker, FrameLog, running_bot, silence, speech

DOWN, UP = FrameDirection.DOWNSTREAM, FrameDirection.UPSTREAM


def service_for(emu: LiveEmulator, **kwargs) -> GeminiLiveService:
    return GeminiLiveService(api_key="test-key", base_url=emu.base_url, **kwargs)


async def test_48k_stereo_input_reaches_the_wire_as_16k_mono_chunks_and_the_reply_as_24k():
    responder = ScriptedResponder(
        [Reply(text="Hello from the emulator.", input_transcript="Hi there.")]
    )
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = service_for(emu)
        async with running_bot([llm]) as bot:
            await bot.say(speech(1.0, 48000, 2) + silence(1.2, 48000, 2), 48000, 2)
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
            session = emu.sessions[0]

            rates = {rate for rate, _ in session.audio_chunks}
            sizes = {size for _, size in session.audio_chunks}
            assert rates == {16000}
            assert sizes == {1600}  # 50 ms of 16 kHz mono PCM16, every chunk
            assert session.audio_mime_types == {"audio/pcm;rate=16000"}
            # 2.2 s of audio went in; all of it (but the last partial chunk) is on the wire.
            assert 2.2 - 0.05 <= session.audio_seconds_received <= 2.2 + 0.05

            audio = bot.tail.frames(TTSAudioRawFrame)
            assert audio and {(f.sample_rate, f.num_channels) for f in audio} == {(24000, 1)}
            assert bot.tail.types(
                TTSStartedFrame, LLMFullResponseStartFrame, LLMFullResponseEndFrame, TTSStoppedFrame
            ) == [
                "TTSStartedFrame",
                "LLMFullResponseStartFrame",
                "TTSStoppedFrame",
                "LLMFullResponseEndFrame",
            ]
            spoken = "".join(f.text for f in bot.tail.frames(TTSTextFrame))
            assert spoken.strip() == "Hello from the emulator."


async def test_every_turn_is_answered_with_user_turn_frames_transcripts_ttfb_and_usage():
    responder = ScriptedResponder(
        [
            Reply(text="First answer.", input_transcript="What time is it? Tell me."),
            Reply(text="Second answer.", input_transcript="And tomorrow?"),
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = service_for(emu)
        async with running_bot([llm]) as bot:
            for n in (1, 2):
                await bot.say(speech(0.8, seed=n) + silence(1.0))
                await bot.wait_for(lambda n=n: len(bot.tail.frames(LLMFullResponseEndFrame)) == n)
                await bot.wait_for(
                    lambda n=n: (
                        len(
                            [
                                m
                                for m in bot.tail.frames(MetricsFrame)
                                if isinstance(m.data[0], LLMUsageMetricsData)
                            ]
                        )
                        == n
                    )
                )

            # User turns, announced from server events, in both directions.
            assert len(bot.tail.frames(UserStartedSpeakingFrame, DOWN)) == 2
            assert len(bot.head.frames(UserStartedSpeakingFrame, UP)) == 2
            order = bot.tail.types(
                UserStartedSpeakingFrame, UserStoppedSpeakingFrame, TTSStartedFrame
            )
            assert (
                order
                == ["UserStartedSpeakingFrame", "UserStoppedSpeakingFrame", "TTSStartedFrame"] * 2
            )

            # Sentences, not fragments, and not merged across turns.
            said = [f.text for f in bot.head.frames(TranscriptionFrame, UP)]
            assert said == ["What time is it?", "Tell me.", "And tomorrow?"]

            ttfb = [
                d.value
                for m in bot.tail.frames(MetricsFrame)
                for d in m.data
                if isinstance(d, TTFBMetricsData) and d.model  # not Pipecat's start-up zero
            ]
            assert len(ttfb) == 2 and all(0.0 < value < 3.0 for value in ttfb)

            usage = [
                d.value
                for m in bot.tail.frames(MetricsFrame)
                for d in m.data
                if isinstance(d, LLMUsageMetricsData)
            ]
            assert len(usage) == 2
            assert all(u.output_audio_tokens and u.output_audio_tokens > 0 for u in usage)
            assert llm.usage.total_tokens == sum(u.total_tokens for u in usage)


async def test_the_context_records_what_the_user_said_and_what_the_bot_said():
    responder = ScriptedResponder(
        [Reply(text="It is sunny in Paris.", input_transcript="Weather in Paris?")]
    )
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = service_for(emu, system_instruction="You are a weather bot.")
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        speaker = FakeSpeaker(speed=8.0)
        async with running_bot([aggregators.user(), llm, speaker, aggregators.assistant()]) as bot:
            await bot.say(speech(0.8) + silence(1.0))
            await bot.wait_for(
                lambda: any(m.get("role") == "assistant" for m in context.get_messages()), 15
            )
            messages = [m for m in context.get_messages() if m.get("role") in ("user", "assistant")]
            assert messages[0]["role"] == "user" and "Weather in Paris?" in str(
                messages[0]["content"]
            )
            assert messages[-1]["role"] == "assistant"
            assert "It is sunny in Paris." in str(messages[-1]["content"])
            await asyncio.sleep(0.5)
            # The aggregators' record of the turn is not sent back: the model answers once.
            assert len(emu.sessions[0].turns) == 1 and emu.sessions[0].client_content == []
        assert (
            emu.sessions[0].setup["system_instruction"]["parts"][0]["text"]
            == "You are a weather bot."
        )


async def test_barge_in_interrupts_at_once_with_no_stale_audio_and_a_truncated_context():
    long_reply = "This is a long answer that keeps going " * 6
    responder = ScriptedResponder(
        [
            Reply(text=long_reply, input_transcript="Tell me a story."),
            Reply(text="Sure, stopping.", input_transcript="Stop."),
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder, pace=1.0) as emu:
        llm = service_for(emu)
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        emitted = FrameLog(name="emitted")  # what the service pushed, before the speaker
        speaker = FakeSpeaker()
        processors = [aggregators.user(), llm, emitted, speaker, aggregators.assistant()]
        async with running_bot(processors) as bot:
            await bot.say(speech(0.8) + silence(1.0))
            await bot.wait_for(lambda: len(speaker.played) > 24000 * 2 * 0.8)  # 0.8 s heard
            await bot.say(speech(0.8, seed=7) + silence(1.0), speed=1.0)  # the user barges in
            await bot.wait_for(lambda: emitted.frames(LLMFullResponseEndFrame), 15)

            seen = emitted.seen
            interruption = next(
                i for i, s in enumerate(seen) if isinstance(s.frame, InterruptionFrame)
            )
            next_reply = next(
                i
                for i, s in enumerate(seen)
                if i > interruption and isinstance(s.frame, TTSStartedFrame)
            )
            stale = [
                s for s in seen[interruption:next_reply] if isinstance(s.frame, TTSAudioRawFrame)
            ]
            assert stale == []
            assert emu.sessions[0].interruptions == 1
            # The reply was cut: the emulator sent only part of the long answer's audio.
            first_turn = emu.sessions[0].turns[0]
            assert first_turn["audio_bytes_sent"] < len(long_reply) * 24000 * 2 / 14 * 0.9

            await bot.wait_for(
                lambda: sum(m.get("role") == "assistant" for m in context.get_messages()) >= 2, 15
            )
            first_answer = next(m for m in context.get_messages() if m.get("role") == "assistant")
            heard = str(first_answer["content"]).strip()
            assert heard and long_reply.startswith(heard[:20])
            assert len(heard) < len(long_reply.strip()) * 0.8  # only what was played


async def test_bare_pipeline_with_no_context_frame_still_converses():
    async with LiveEmulator(api_key="test-key") as emu:
        llm = service_for(emu)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(1.0))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame))
            assert not bot.tail.frames(ErrorFrame)


async def test_a_wrong_key_is_one_clear_fatal_error_and_the_key_is_never_shown(capfd):
    async with LiveEmulator(api_key="right-key") as emu:
        llm = GeminiLiveService(api_key="wrong-secret-key", base_url=emu.base_url)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.3), speed=8.0)
            await bot.wait_for(lambda: bot.head.frames(ErrorFrame, UP), 15)
            await asyncio.sleep(0.3)
            await bot.say(speech(0.3), speed=8.0)
            await asyncio.sleep(0.2)
            errors = bot.head.frames(ErrorFrame, UP)
            assert len(errors) == 1 and not llm.is_usable
            assert "API key" in errors[0].error or "1007" in errors[0].error
            assert "wrong-secret-key" not in errors[0].error
        assert "wrong-secret-key" not in repr(llm)
    out, err = capfd.readouterr()
    assert "wrong-secret-key" not in out + err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"voice": "Vesta"}, "Unknown voice"),
        ({"model": "gemini-live-9"}, "Unknown Live model"),
        ({"input_chunk_ms": 5}, "input_chunk_ms"),
        ({"base_url": "ftp://nowhere"}, "base_url must look like"),
        ({"api_version": "v7"}, "api_version must be one of"),
        (
            {"settings": GeminiLiveService.Settings(affective_dialog=True)},
            "does not support affective dialog",
        ),
    ],
)
def test_bad_configuration_fails_at_construction(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        GeminiLiveService(api_key="k", **kwargs)


def test_a_missing_key_says_where_to_put_it(monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="GOOGLE_API_KEY"):
        GeminiLiveService()
    monkeypatch.setenv("GEMINI_API_KEY", "from-env")
    assert "from-env" not in repr(GeminiLiveService())


async def test_local_vad_mode_sends_activity_signals_with_a_pre_roll_so_onsets_are_not_clipped():
    from pipecat_gemini_live import VADSettings

    async with LiveEmulator(
        api_key="test-key", responder=ScriptedResponder([Reply(text="Yes?")])
    ) as emu:
        llm = service_for(emu, settings=GeminiLiveService.Settings(vad=VADSettings(disabled=True)))
        async with running_bot([llm]) as bot:
            await bot.say(silence(0.3))
            onset = speech(0.2, seed=9)  # heard before a local VAD (start_secs=0.2) fires
            await bot.say(onset)
            await bot.worker.queue_frame(UserStartedSpeakingFrame())
            await bot.say(speech(0.6, seed=10))
            await bot.worker.queue_frame(UserStoppedSpeakingFrame())
            await bot.say(silence(0.5))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame))
        session = emu.sessions[0]
        assert session.activity_events == ["start", "end"]
        heard = float(session.turns[0]["input_transcript"].strip("()").split()[0])
        assert heard >= 0.6 + 0.2  # the onset before activityStart was re-sent inside the turn
        assert session.setup["realtime_input_config"]["automatic_activity_detection"] == {
            "disabled": True
        }
        # Turns are decided locally: the service does not announce user turns of its own.
        assert not bot.head.frames(UserStartedSpeakingFrame, UP)


async def test_bursty_output_is_delivered_whole_and_in_order():
    text = "Bursts of audio arrive all at once and then nothing for a while."
    responder = ScriptedResponder([Reply(text=text, input_transcript="Go.")])
    async with LiveEmulator(
        api_key="test-key", responder=responder, pace=2.0, output_mode="bursty"
    ) as emu:
        async with running_bot([service_for(emu)]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame), 15)
            received = b"".join(f.audio for f in bot.tail.frames(TTSAudioRawFrame))
        from pipecat_gemini_live.emulator import synthesize

        assert received == synthesize(text)[0]


async def test_end_frame_lets_the_reply_in_progress_finish():
    text = "This reply is still being spoken when the pipeline is asked to end."
    responder = ScriptedResponder([Reply(text=text, input_transcript="Bye.")])
    async with LiveEmulator(api_key="test-key", responder=responder, pace=2.0) as emu:
        async with running_bot([service_for(emu)]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(TTSAudioRawFrame))
        # running_bot queued the EndFrame while the reply was still arriving.
        received = b"".join(f.audio for f in bot.tail.frames(TTSAudioRawFrame))
        assert len(received) == emu.sessions[0].turns[0]["audio_bytes_sent"]
        assert bot.tail.frames(LLMFullResponseEndFrame)


async def test_go_away_mid_conversation_is_invisible_to_the_pipeline():
    responder = ScriptedResponder([Reply(text="First."), Reply(text="Second.")])
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = service_for(emu)
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: len(bot.tail.frames(LLMFullResponseEndFrame)) == 1)
            await emu.wait_until(lambda: llm.resumption_handle is not None)
            await emu.go_away(time_left=2.0)
            await emu.wait_until(lambda: emu.sessions[0].connections == 2, 5)
            await bot.say(speech(0.6, seed=4) + silence(0.8))
            await bot.wait_for(lambda: len(bot.tail.frames(LLMFullResponseEndFrame)) == 2)
            assert len(emu.sessions) == 1  # resumed, not restarted
            assert not bot.head.frames(ErrorFrame, UP)


async def test_a_stored_resumption_handle_continues_the_conversation_in_a_new_service():
    async with LiveEmulator(api_key="test-key") as emu:
        first = service_for(emu)
        async with running_bot([first]) as bot:
            await bot.say(speech(0.5) + silence(0.8))
            await emu.wait_until(lambda: first.resumption_handle is not None)
            handle = first.resumption_handle
        second = service_for(emu, resumption_handle=handle)
        async with running_bot([second]) as bot:
            await bot.say(speech(0.5, seed=2) + silence(0.8))
            await emu.wait_until(lambda: emu.sessions[0].connections == 2, 5)
        assert len(emu.sessions) == 1


async def test_malformed_and_unknown_server_messages_are_reported_and_the_call_goes_on():
    from loguru import logger

    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    try:
        responder = ScriptedResponder([Reply(text="Still here.", input_transcript="Hello?")])
        async with LiveEmulator(api_key="test-key", responder=responder) as emu:
            async with running_bot([service_for(emu)]) as bot:
                await bot.say(silence(0.2))
                await emu.wait_for_session()
                await emu.send_raw(b"{this is not json")
                await emu.send_raw(b'{"someFutureMessage": {"x": 1}}')
                await bot.say(speech(0.6) + silence(0.8))
                await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame))
                assert not bot.head.frames(ErrorFrame, UP)
    finally:
        logger.remove(sink)
    assert any("not JSON" in w for w in warnings)
    assert any("someFutureMessage" in w for w in warnings)


async def test_odd_length_and_malformed_audio_frames_are_reported_and_the_call_goes_on():
    from pipecat.frames.frames import InputAudioRawFrame

    responder = ScriptedResponder([Reply(text="Heard you.", input_transcript="Hi.")])
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        async with running_bot([service_for(emu)]) as bot:
            pcm = speech(0.6, 48000) + silence(0.8, 48000)
            for i in range(0, len(pcm), 1921):  # odd-length frames, split mid-sample
                await bot.worker.queue_frame(InputAudioRawFrame(pcm[i : i + 1921], 48000, 1))
            await bot.worker.queue_frame(InputAudioRawFrame(b"\x00\x01", 0, 1))  # no rate
            await bot.wait_for(lambda: bot.tail.frames(LLMFullResponseEndFrame), 10)
            errors = bot.head.frames(ErrorFrame, UP)
            assert len(errors) == 1 and "sample_rate must be a positive" in errors[0].error
        # Every sample of the odd-length frames arrived (at 16 kHz, within one chunk).
        assert abs(emu.sessions[0].audio_seconds_received - len(pcm) / 96000) <= 0.05


def first_at(bot, kind: type, direction: FrameDirection = DOWN) -> float:
    return next(
        s.at for s in bot.tail.seen if isinstance(s.frame, kind) and s.direction == direction
    )


def _usage_seen(bot) -> list[float]:
    return [
        s.at
        for s in bot.tail.seen
        if isinstance(s.frame, MetricsFrame)
        and any(isinstance(d, LLMUsageMetricsData) for d in s.frame.data)
    ]


def usage_reported_at(bot) -> float:
    """When the turn's usage came down the pipeline: the service reports it at turnComplete."""
    return _usage_seen(bot)[0]


async def test_a_reply_ends_when_its_generation_completes_not_at_the_late_turn_complete():
    """3.8 holds turnComplete until the client should have played the reply, a second or two
    after generationComplete. The reply ends at generationComplete, right after its last audio:
    the aggregators and the transport learn at once that nothing more is coming."""
    text = "A reply that takes a couple of seconds to play out."
    responder = ScriptedResponder([Reply(text=text, input_transcript="Go on.")])
    async with LiveEmulator(api_key="test-key", responder=responder, pace=2.0) as emu:
        async with running_bot([service_for(emu)]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bool(_usage_seen(bot)), 15)
    last_audio = [s.at for s in bot.tail.seen if isinstance(s.frame, TTSAudioRawFrame)][-1]
    ended, stopped = first_at(bot, LLMFullResponseEndFrame), first_at(bot, TTSStoppedFrame)
    turn_completed = usage_reported_at(bot)
    for name, reply_end in (("LLMFullResponseEndFrame", ended), ("TTSStoppedFrame", stopped)):
        after_audio, before_turn_complete = reply_end - last_audio, turn_completed - reply_end
        assert 0 <= after_audio < 0.3, f"{name} {after_audio:.2f} s after the last audio"
        # The server held turnComplete about 1.2 s after generationComplete.
        assert before_turn_complete > 0.5, (
            f"{name} {before_turn_complete:.2f} s before turnComplete"
        )


def input_transcript(text: str, *, finished: bool = False) -> str:
    transcription: dict = {"text": text}
    if finished:
        transcription["finished"] = True
    return json.dumps({"serverContent": {"inputTranscription": transcription}})


async def test_a_transcript_the_server_marks_finished_is_the_users_sentence_at_once():
    """Words without a full stop wait for more; once the server says the transcript is finished,
    they go out as the user's sentence there and then, not when a reply starts."""
    async with LiveEmulator(api_key="test-key") as emu:
        async with running_bot([service_for(emu)]) as bot:
            await bot.say(silence(0.2))
            await emu.wait_for_session()
            await emu.send_raw(input_transcript(" what time is it"))
            await asyncio.sleep(0.2)
            assert not bot.head.frames(TranscriptionFrame, UP)  # the sentence may go on
            await emu.send_raw(input_transcript(" in Paris", finished=True))
            await asyncio.sleep(0.3)
            said = [f.text for f in bot.head.frames(TranscriptionFrame, UP)]
            assert said == ["what time is it in Paris"]
            assert [f.text for f in bot.tail.frames(TranscriptionFrame, DOWN)] == said
            assert not bot.tail.frames(TTSStartedFrame)  # no reply has started


async def test_the_users_words_recorded_in_the_context_are_not_sent_back_to_the_model():
    """Turn after turn, the user aggregator writes what the user said (the service's own
    transcripts) into the context and hands it on. The model heard those words already: they
    are not sent again, so it answers each question once."""
    responder = ScriptedResponder(
        [
            Reply(text="It is noon.", input_transcript="What time is it? Tell me."),
            Reply(text="Sunny.", input_transcript="And the weather?"),
            Reply(text="You are welcome.", input_transcript="Thanks."),
        ]
    )
    async with LiveEmulator(api_key="test-key", responder=responder) as emu:
        llm = service_for(emu)
        context = LLMContext()
        aggregators = LLMContextAggregatorPair(context)
        speaker = FakeSpeaker(speed=8.0)
        async with running_bot([aggregators.user(), llm, speaker, aggregators.assistant()]) as bot:
            for n in (1, 2, 3):
                await bot.say(speech(0.6, seed=n) + silence(0.8))
                await bot.wait_for(
                    lambda n=n: (
                        sum(m.get("role") == "assistant" for m in context.get_messages()) == n
                    ),
                    15,
                )
            await asyncio.sleep(0.5)  # time for anything sent back to be answered
            session = emu.sessions[0]
            users = [str(m["content"]) for m in context.get_messages() if m.get("role") == "user"]
            assert len(users) == 3 and "And the weather?" in users[1]  # recorded, turn by turn
            assert [turn["kind"] for turn in session.turns] == ["speech"] * 3
            assert session.client_content == [] and session.texts_received == []


async def test_microphone_frames_pass_the_service_as_through_any_processor():
    """The service's short path for input audio keeps what Pipecat promises of every frame a
    processor handles: observers see it processed and pushed, push handlers run, and the next
    processor gets it, each frame once and in order (48 kHz: it is converted too)."""

    class Seen(BaseObserver):
        def __init__(self) -> None:
            super().__init__()
            self.processed: list[int] = []
            self.pushed: list[int] = []

        async def on_process_frame(self, data: FrameProcessed) -> None:
            if data.processor is llm and isinstance(data.frame, InputAudioRawFrame):
                self.processed.append(data.frame.id)

        async def on_push_frame(self, data: FramePushed) -> None:
            if data.source is llm and isinstance(data.frame, InputAudioRawFrame):
                self.pushed.append(data.frame.id)

    async with LiveEmulator(api_key="test-key") as emu:
        llm = service_for(emu)
        before: list[int] = []
        after: list[int] = []

        @llm.event_handler("on_before_push_frame")
        async def on_before(_: object, frame: object) -> None:
            if isinstance(frame, InputAudioRawFrame):
                before.append(frame.id)

        @llm.event_handler("on_after_push_frame")
        async def on_after(_: object, frame: object) -> None:
            if isinstance(frame, InputAudioRawFrame):
                after.append(frame.id)

        seen = Seen()
        async with running_bot([llm], observers=[seen]) as bot:
            await bot.say(speech(0.5, 48000), 48000)
            sent = [f.id for f in bot.head.frames(InputAudioRawFrame)]
            await bot.wait_for(lambda: len(bot.tail.frames(InputAudioRawFrame)) == len(sent))
            await bot.wait_for(lambda: len(seen.pushed) == len(sent))
            assert len(sent) == 25
            assert [f.id for f in bot.tail.frames(InputAudioRawFrame)] == sent
            assert seen.processed == seen.pushed == before == after == sent
            await bot.wait_for(lambda: len(emu.sessions[0].audio_chunks) == 10)  # all 0.5 s
