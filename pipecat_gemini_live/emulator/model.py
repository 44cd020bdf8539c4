"""The emulated model of one session: it hears the client's input, decides turns, and answers.

It plays by the session's :class:`~pipecat_gemini_live.emulator.profiles.ServerProfile`: voice
activity messages where the model sends them, transcripts shaped as recorded, the real barge-in
order, ``turnComplete`` held until the client should have played the reply, and the per-model
rules for what the client may send. Speaking a reply (audio, transcripts, pacing) is
:mod:`~pipecat_gemini_live.emulator.speaker`'s job; this module decides when and what.

Timing follows the emulator's ``pace`` (1.0 = real time, 0 = no waiting anywhere), so a test
that runs at pace 0 sees the same messages in the same order, only without the pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.behaviour import (
    EnergyVad,
    Reply,
    Responder,
    TurnAudio,
    UserTurn,
    VadSettings,
    placeholder_transcript,
)
from pipecat_gemini_live.emulator.records import EmulatedSession
from pipecat_gemini_live.emulator.rules import INVALID, check_client_content
from pipecat_gemini_live.emulator.speaker import Outbox, Speaker
from pipecat_gemini_live.emulator.tool_calls import ToolCalling
from pipecat_gemini_live.emulator.wire import ClientError

AUDIO_TOKENS_PER_SECOND = 25
# 2.5 native audio thinks aloud before every reply, asked or not (as recorded).
DEFAULT_THOUGHT = "**Answering the User**\n\nI have what I need and will reply briefly.\n\n\n"


@dataclass
class OpenTurn:
    """A model turn whose ``turnComplete`` has not been sent yet."""

    record: dict[str, Any]
    turn: UserTurn
    spoken_seconds: float = 0.0
    generated: bool = False  # generationComplete sent: only the playout hold is left


class EmulatedModel:
    """Everything the model does for one session, across its connections."""

    def __init__(
        self,
        session: EmulatedSession,
        outbox: Outbox,
        responder: Responder,
        *,
        pace: float,
        output_chunk_ms: int,
        output_mode: str,
        record: bool,
        on_handle: Callable[[str], None],
    ) -> None:
        self.session = session
        self._on_handle = on_handle
        self.profile = session.profile
        self.responder = responder
        self.pace = pace
        self.out = outbox
        self.speaker = Speaker(
            session, outbox, pace=pace, chunk_ms=output_chunk_ms, mode=output_mode, record=record
        )
        self.vad = EnergyVad(VadSettings.from_setup(session.setup))
        self.turn_audio = TurnAudio()
        self.reply_task: asyncio.Task[None] | None = None
        self.open_turn: OpenTurn | None = None
        self.tools = ToolCalling(self)
        self.model_turns = 0
        self.history_received = False
        self.awaiting_nudge: UserTurn | None = None
        self.late_interrupt_until = 0.0  # after turnComplete, a barge-in still interrupts
        self._manual_speaking = False
        self._manual_seconds = 0.0
        self._offset = 0.0  # seconds of audio heard on this connection (voiceActivity offsets)
        self._speech_started_at = 0.0
        self._last_voiced_at = 0.0

    # ------------------------------------------------------------------ connections

    async def connection_ready(self, *, first: bool) -> None:
        """Setup is complete on a new connection of this session."""
        self.vad = EnergyVad(VadSettings.from_setup(self.session.setup))
        self._offset = 0.0
        self.late_interrupt_until = 0.0  # nothing of the old connection is still playing
        resumption = "session_resumption" in self.session.setup
        if (resumption and first) or self.profile.unasked_handles == "after_setup":
            await self.issue_handle()

    def connection_lost(self) -> None:
        """A reply waiting for tool responses waits on (they may come on the resumed
        connection); anything else the model was saying is lost with the connection."""
        if self.reply_task is not None and not self.tools.pending:
            self.reply_task.cancel()
            self.open_turn = None

    def stop(self) -> None:
        if self.reply_task is not None:
            self.reply_task.cancel()

    @property
    def replying(self) -> bool:
        return self.reply_task is not None and not self.reply_task.done()

    # ------------------------------------------------------------------ client messages

    async def on_message(self, message: dict[str, Any]) -> None:
        if "setup" in message:
            raise ClientError(1007, INVALID)
        if (realtime := message.get("realtime_input")) is not None:
            await self._on_realtime_input(realtime)
        if (content := message.get("client_content")) is not None:
            await self._on_client_content(content)
        if (response := message.get("tool_response")) is not None:
            await self.tools.on_response(response)
        if (update := message.get("context_update")) is not None:
            self.session.context_updates.append(update)
            if "system_instruction" in update:
                self.session.setup["system_instruction"] = update["system_instruction"]
            if "tools" in update:
                self.session.setup["tools"] = (update["tools"] or {}).get("tools", [])

    async def _on_realtime_input(self, realtime: dict[str, Any]) -> None:
        rules = self.profile.rules
        waiting_for_history = (
            rules.history_blocks_realtime and self._history_expected and not self.history_received
        )
        for blob in _blobs(realtime):
            mime = str(blob.get("mime_type") or "")
            data = wire.decode_bytes(str(blob.get("data") or ""))
            if mime.startswith("image/"):
                self.session.video_frames_received += 1
                self.session.video_frame_sizes.append(wire.image_size(data))
            else:
                self._count_audio(data, mime)
                if not waiting_for_history:
                    await self._hear(data, wire.mime_rate(mime))
        if waiting_for_history:
            return  # the model is not listening yet: it waits for the initial history
        if self.awaiting_nudge is not None:  # 3.8: content turns run on realtime input
            turn, self.awaiting_nudge = self.awaiting_nudge, None
            await self.user_turn(turn)
        text = realtime.get("text")
        if text:
            self.session.texts_received.append(text)
            if text.strip():  # " " is how clients nudge a content turn; it is no turn itself
                await self.user_turn(UserTurn("text", text=text))
        if realtime.get("audio_stream_end") and self.vad.force_end():
            await self._speech_ended(self.vad.speech_seconds)
        if realtime.get("activity_start") is not None:
            self.session.activity_events.append("start")
            self._manual_speaking, self._manual_seconds = True, 0.0
            self.turn_audio.clear()  # the turn's audio starts here, without a pre-roll
            self._speech_started_at = time.monotonic()
            await self.barge_in()
        if realtime.get("activity_end") is not None:
            self.session.activity_events.append("end")
            self._manual_speaking = False
            await self._speech_ended(self._manual_seconds)

    @property
    def _history_expected(self) -> bool:
        history = self.session.setup.get("history_config") or {}
        return bool(history.get("initial_history_in_client_content"))

    def _count_audio(self, pcm: bytes, mime: str) -> None:
        session = self.session
        rate = wire.mime_rate(mime)
        session.audio_mime_types.add(mime)
        if self.speaker.record:
            session.audio_chunks.append((rate, len(pcm)))
        session.audio_bytes_received += len(pcm)
        session.audio_seconds_received += len(pcm) / 2 / rate

    async def _hear(self, pcm: bytes, rate: int) -> None:
        """Voice activity on audio time: onsets interrupt, ends close the user's turn."""
        vad = self.vad
        self._offset += len(pcm) / 2 / rate
        speaking = self._manual_speaking if vad.settings.disabled else vad.speaking
        self.turn_audio.add(pcm, rate, in_turn=speaking)
        if vad.settings.disabled:
            if self._manual_speaking:
                self._manual_seconds += len(pcm) / 2 / rate
            return
        change = vad.feed(pcm, rate)
        now = time.monotonic()
        if vad.last_voiced:
            self._last_voiced_at = now
        if change == "start":
            self._speech_started_at = now - vad.speech_seconds
            if self.profile.voice_activity:
                await self.out.send(_voice_activity("ACTIVITY_START", self._offset))
            await self.barge_in()
        elif change == "end":
            await self._speech_ended(vad.speech_seconds)

    async def _speech_ended(self, seconds: float) -> None:
        heard = self.turn_audio
        turn = UserTurn(
            "speech",
            seconds,
            audio=heard.take(),
            audio_rate=heard.rate,
            started_at=self._speech_started_at,
            ended_at=self._last_voiced_at or time.monotonic(),
        )
        await self.user_turn(turn)

    async def _on_client_content(self, content: dict[str, Any]) -> None:
        rules = self.profile.rules
        check_client_content(content, rules, model_has_spoken=self.model_turns > 0)
        turns = content.get("turns") or []
        complete = bool(content.get("turn_complete"))
        self.session.client_content.append(content)
        self.history_received = True
        if not complete:
            return
        texts = [
            part.get("text", "")
            for turn in turns
            if turn.get("role") == "user"
            for part in turn.get("parts") or []
        ]
        user_turn = UserTurn("content", text=" ".join(t for t in texts if t))
        if rules.reply_needs_realtime_input:
            self.awaiting_nudge = user_turn
            return
        await self.user_turn(user_turn)

    # ------------------------------------------------------------------ turns

    async def user_turn(self, turn: UserTurn) -> None:
        """The user's turn is over: the model answers (interrupting itself if it was talking).
        On 3.8, ``ACTIVITY_END`` goes out with the input transcript, as the reply starts."""
        if self.replying or self.open_turn is not None:
            if _activity_handling(self.session) == "NO_INTERRUPTION":
                if turn.kind == "speech" and self.profile.voice_activity:
                    await self.out.send(_voice_activity("ACTIVITY_END", self._offset))
                return
            await self.barge_in()
        reply = self.responder.reply(turn, self.session.setup)
        if not isinstance(reply, Reply):  # decided asynchronously: starts now, awaited below
            reply = asyncio.ensure_future(reply)
        self.reply_task = asyncio.create_task(self.answer(turn, reply))

    async def barge_in(self, *, force: bool = False) -> None:
        """Speech (or an INTERRUPT result) while the model is talking, or while the client
        still plays the reply: ``interrupted``, cancelled calls, then the turn's
        ``turnComplete`` with its usage (after ``generationComplete`` if it had been sent)."""
        if _activity_handling(self.session) == "NO_INTERRUPTION" and not force:
            return
        late = self.open_turn is None and time.monotonic() < self.late_interrupt_until
        if not self.replying and self.open_turn is None and not late:
            return
        task, self.reply_task = self.reply_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.late_interrupt_until = 0.0
        self.session.interruptions += 1
        await self.out.send(wire.server_content(interrupted=True))
        if ids := self.tools.cancel_pending():
            await self.out.send(wire.encode({"toolCallCancellation": {"ids": ids}}))
        open_turn, self.open_turn = self.open_turn, None
        if open_turn is not None:
            open_turn.record["interrupted"] = True
            await self._complete(open_turn)

    async def answer(self, turn: UserTurn, reply: Reply | Awaitable[Reply]) -> None:
        activity_ended = False
        if not isinstance(reply, Reply):  # barge-in while the responder thinks cancels it
            if turn.kind == "speech" and self.profile.voice_activity:
                await self.out.send(_voice_activity("ACTIVITY_END", self._offset))
                activity_ended = True  # the words come once recognised
            reply = await reply
        record: dict[str, Any] = {
            "kind": turn.kind,
            "reply": reply.text,
            "input_transcript": None,
            "audio_bytes_sent": 0,
            "speech_started_at": turn.started_at,
            "speech_ended_at": turn.ended_at,
        }
        self.session.turns.append(record)
        self.open_turn = OpenTurn(record, turn)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        await self._send_input_transcript(turn, reply, record, activity_ended=activity_ended)
        await self.wait(self.profile.first_audio_seconds)
        await self._say(reply, self.open_turn, first=True)
        if reply.tool_calls:
            split = self.profile.split_tool_turn
            answered = await self.tools.call(reply, close_turn=split)
            if not answered:
                await self.finish(generation_complete=False)
                return
            after = await self.tools.after_tool(reply)
            if after is not None:
                if split:  # Vertex live: the answer is a turn of its own
                    record = {
                        "kind": "tool_result",
                        "reply": after.text,
                        "input_transcript": None,
                        "audio_bytes_sent": 0,
                    }
                    self.session.turns.append(record)
                    self.open_turn = OpenTurn(record, UserTurn("tool_result"))
                else:
                    record["reply"] = f"{reply.text} {after.text}".strip()
                if self.profile.unasked_handles == "mid_reply":
                    await self.issue_handle()
                await self._say(after, self.open_turn, continuing=bool(reply.text))
        await self.finish(generation_complete=True)

    async def _say(
        self, reply: Reply, turn: OpenTurn | None, *, first: bool = False, continuing: bool = False
    ) -> None:
        """One part of a reply: its opening frames, a thought (the reply's first part only),
        the speech, and any grounding."""
        if turn is None:
            return
        profile = self.profile
        if profile.empty_frames:
            await self.out.send(b"{}")
        if profile.empty_content_first:
            await self.out.send(wire.server_content())
        if profile.transcript_opening and self.transcribing:
            await self.out.send(wire.server_content(outputTranscription={}))
        thought = reply.thought
        if thought is None and profile.thoughts == "always":
            thought = DEFAULT_THOUGHT  # "" means this reply does not think aloud
        if first and thought and self._thoughts_wanted:
            part = {"text": thought, "thought": True}
            await self.out.send(wire.server_content(modelTurn={"parts": [part]}))
        turn.spoken_seconds += await self.speaker.speak(
            reply.text, turn.record, continuing=continuing, speech=reply.audio
        )
        if reply.grounding is not None:  # Google Search results the answer rests on
            await self.out.send(wire.server_content(groundingMetadata=reply.grounding))

    @property
    def transcribing(self) -> bool:
        return "output_audio_transcription" in self.session.setup

    @property
    def _thoughts_wanted(self) -> bool:
        if self.profile.thoughts == "always":
            return True
        thinking = (self.session.setup.get("generation_config") or {}).get("thinking_config") or {}
        return bool(thinking.get("include_thoughts"))

    async def _send_input_transcript(
        self, turn: UserTurn, reply: Reply, record: dict[str, Any], *, activity_ended: bool
    ) -> None:
        """What the user said, as the profile shapes it; on 3.8 ``ACTIVITY_END`` follows."""
        if turn.kind != "speech":
            return
        transcript = reply.input_transcript
        if transcript is None:
            transcript = placeholder_transcript(turn)
        record["input_transcript"] = transcript
        if transcript and "input_audio_transcription" in self.session.setup:
            for piece in _transcript_pieces(transcript, self.profile.input_transcript):
                await self.out.send(wire.server_content(inputTranscription={"text": piece}))
        if self.profile.voice_activity and not activity_ended:
            await self.out.send(_voice_activity("ACTIVITY_END", self._offset))

    async def finish(self, *, generation_complete: bool) -> None:
        """``generationComplete``, then ``turnComplete`` once the client should have played
        the reply (the server holds it that long), then a new handle if resuming."""
        open_turn = self.open_turn
        if open_turn is None:
            return
        if generation_complete:
            await self.out.send(wire.server_content(generationComplete=True))
            open_turn.generated = True
        await self.speaker.wait_for_playout()
        self.open_turn = None
        await self._complete(open_turn)
        lead = self.profile.late_interrupt_seconds
        if self.pace > 0 and lead > 0:
            self.late_interrupt_until = time.monotonic() + lead / self.pace

    async def _complete(self, open_turn: OpenTurn) -> None:
        """The turn's ``turnComplete`` with its usage, and the handle that follows it."""
        session = self.session
        self.model_turns += 1
        usage = _usage(session, open_turn.turn, open_turn.spoken_seconds)
        content: dict[str, Any] = {"turnComplete": True}
        if self.profile.grounding_on_turn_complete:
            content["groundingMetadata"] = {}
        if self.profile.interaction_status:
            content["interactionStatus"] = "IDLE"
        message = {"serverContent": content, "usageMetadata": usage}
        if await self.out.send(wire.encode(message)) and session.connection_log:
            session.connection_log[-1].turns_completed += 1
        open_turn.record["usage"] = usage
        self.speaker.reset_playout()
        if "session_resumption" in session.setup:
            await self.issue_handle()

    async def issue_handle(self) -> None:
        handle = self.session.next_id("handle")
        self.session.handles_issued.append(handle)
        self._on_handle(handle)
        update = {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}
        await self.out.send(wire.encode(update))

    async def wait(self, seconds: float) -> None:
        """A pause of the model's, on the emulator's clock."""
        if self.pace > 0 and seconds > 0:
            await asyncio.sleep(seconds / self.pace)
        else:
            await asyncio.sleep(0)


def _activity_handling(session: EmulatedSession) -> str | None:
    return (session.setup.get("realtime_input_config") or {}).get("activity_handling")


def _blobs(realtime: dict[str, Any]) -> list[dict[str, Any]]:
    blobs = []
    if realtime.get("audio"):
        blobs.append(realtime["audio"])
    blobs.extend(realtime.get("media_chunks") or [])
    if realtime.get("video"):
        blobs.append(realtime["video"])
    return blobs


def _voice_activity(kind: str, offset: float) -> bytes:
    return wire.encode({"voiceActivity": {"type": kind, "audioOffset": wire.duration(offset)}})


def _transcript_pieces(text: str, shape: str) -> list[str]:
    """``"whole"``: one piece. ``"pieces"``: word by word with punctuation on its own, as 2.5
    sends them (``" Hello"``, ``","``, ``" my"``, ``" name"``, ``" is Marcelo."``)."""
    if shape == "whole":
        return [text]
    pieces: list[str] = []
    for word in text.split(" "):
        if not word:
            continue
        if len(word) > 1 and word[-1] in ",;:" and not pieces:
            pieces.extend([" " + word[:-1], word[-1]])
        else:
            pieces.append(" " + word)
    return pieces


def _usage(session: EmulatedSession, turn: UserTurn, spoken_seconds: float) -> dict[str, Any]:
    """Per-turn usage as the profile spells it; the prompt counts the whole context again."""
    prompt_text = (
        len(session.system_instruction) // 4 + len(turn.text) // 4 + 8 * len(session.turns)
    )
    prompt_audio = round(turn.speech_seconds * AUDIO_TOKENS_PER_SECOND)
    response_audio = round(spoken_seconds * AUDIO_TOKENS_PER_SECOND)
    return wire.usage_message(
        {"TEXT": prompt_text, "AUDIO": prompt_audio},
        {"AUDIO": response_audio},
        names=session.profile.usage_names,
    )
