"""Turn-taking as a pure state machine: server events in, effects out. No I/O, no Pipecat frames.

The Live API reports turns only implicitly: input transcripts while the user speaks,
``interrupted`` on barge-in, model output once the user's turn is over, ``generationComplete``
when the reply is fully produced and a late ``turnComplete``. :class:`TurnTracker` turns that
into explicit effects (user started/stopped, reply started/ended, a finished transcript
sentence, drop this stale audio) that the service maps to Pipecat frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class UserPhase(str, Enum):
    IDLE = "idle"  # no user turn open
    SPEAKING = "speaking"  # the server is hearing the user
    DONE = "done"  # the turn is over; late transcripts still belong to it


class ReplyPhase(str, Enum):
    """Where the model's current generation is. Stale output can only follow an
    ``interrupted`` that cut a generation still being produced; one that comes after
    ``generationComplete`` or ``turnComplete`` (the client was still playing the reply) leaves
    nothing stale behind, so the next reply is never mistaken for it."""

    IDLE = "idle"
    SPEAKING = "speaking"  # model output is flowing
    GENERATED = "generated"  # generationComplete: all of it produced, turnComplete to come
    INTERRUPTED = "interrupted"  # barge-in mid-generation: drop its output until turnComplete


@dataclass(frozen=True)
class UserStarted:
    pass


@dataclass(frozen=True)
class UserStopped:
    pass


@dataclass(frozen=True)
class ReplyStarted:
    """``by_tool_call``: the reply opened with a tool call, before any audio."""

    by_tool_call: bool = False


@dataclass(frozen=True)
class ReplyEnded:
    interrupted: bool = False


@dataclass(frozen=True)
class UserSentence:
    """A complete piece of the user's transcript, ready to emit as one TranscriptionFrame."""

    text: str


Effect = UserStarted | UserStopped | ReplyStarted | ReplyEnded | UserSentence

_SENTENCE_END = re.compile(r"[.!?。！？]+[\"')\]]*(?=\s|$)")


class TurnTracker:
    """Keeps who-is-speaking state and the user's transcript, and says what to emit."""

    def __init__(self) -> None:
        self.user = UserPhase.IDLE
        self.reply = ReplyPhase.IDLE
        self._transcript = ""
        self.dropped_output_chunks = 0
        self.conversation_started = False  # the server has heard a user turn or replied
        self._heard_by_server = False  # the server showed it heard the current user turn

    @property
    def replying(self) -> bool:
        return self.reply is ReplyPhase.SPEAKING

    # ------------------------------------------------------------------ user side

    def on_input_transcript(self, text: str, finished: bool = False) -> list[Effect]:
        effects: list[Effect] = []
        self._heard_by_server = self._heard_by_server or bool(text.strip())
        if self.user is UserPhase.IDLE and text.strip() and self.reply is not ReplyPhase.SPEAKING:
            self.user = UserPhase.SPEAKING
            self.conversation_started = True
            effects.append(UserStarted())
        self._transcript += text
        effects.extend(self._complete_sentences())
        if finished:
            effects.extend(self._flush_transcript())
        return effects

    def on_local_onset(self) -> list[Effect]:
        """The audio sent has speech in it again (the service's own meter). Between replies it
        starts the user's turn at once, on models that report no voice activity too; during a
        reply the server decides (echo is no barge-in until the server says so)."""
        if self.user is not UserPhase.SPEAKING and self.reply is ReplyPhase.IDLE:
            effects: list[Effect] = self._flush_transcript()
            self.user = UserPhase.SPEAKING
            self._heard_by_server = False
            return [*effects, UserStarted()]
        return []

    def on_speech_unanswered(self) -> list[Effect]:
        """A turn opened by a sound the server never made anything of (a cough): closed."""
        unheard = self.user is UserPhase.SPEAKING and not self._heard_by_server
        if unheard and self.reply is ReplyPhase.IDLE:
            self.user = UserPhase.IDLE
            return [UserStopped()]
        return []

    def on_voice_activity(self, started: bool) -> list[Effect]:
        self._heard_by_server = True
        if started and self.user is not UserPhase.SPEAKING:
            effects: list[Effect] = self._flush_transcript()
            self.user = UserPhase.SPEAKING
            self.conversation_started = True
            return [*effects, UserStarted()]
        if not started and self.user is UserPhase.SPEAKING:
            self.user = UserPhase.DONE
            return [UserStopped()]
        return []

    # ------------------------------------------------------------------ model side

    def on_model_output(self) -> tuple[bool, list[Effect]]:
        """Model audio or text arrived. Returns (deliver it?, effects)."""
        if self.reply is ReplyPhase.INTERRUPTED:
            self.dropped_output_chunks += 1
            return False, []
        effects: list[Effect] = []
        if self.reply in (ReplyPhase.IDLE, ReplyPhase.GENERATED):
            # The user's turn is over: what they said goes out before the reply, so the
            # context aggregators record the user message first.
            effects.extend(self._flush_transcript())
            effects.extend(self._end_user_turn())
            self.reply = ReplyPhase.SPEAKING
            self.conversation_started = True
            effects.append(ReplyStarted())
        return True, effects

    def on_tool_call(self) -> list[Effect]:
        """A tool call ends the user's turn and belongs to the reply: it opens the reply if
        nothing was said yet, so the user's words are recorded before the call."""
        self.conversation_started = True
        if self.reply in (ReplyPhase.SPEAKING, ReplyPhase.INTERRUPTED):
            return self._end_user_turn()
        effects: list[Effect] = [*self._flush_transcript(), *self._end_user_turn()]
        self.reply = ReplyPhase.SPEAKING
        return [*effects, ReplyStarted(by_tool_call=True)]

    def on_interrupted(self) -> list[Effect]:
        """Barge-in. Only a generation still being produced leaves stale output behind."""
        effects: list[Effect] = []
        if self.reply is ReplyPhase.SPEAKING:
            effects.append(ReplyEnded(interrupted=True))
            self.reply = ReplyPhase.INTERRUPTED
        if self.user is not UserPhase.SPEAKING:
            effects.extend(self._flush_transcript())
            self.user = UserPhase.SPEAKING
            self._heard_by_server = False  # a new turn: nothing of it transcribed yet
            effects.append(UserStarted())
        return effects

    def on_generation_complete(self) -> list[Effect]:
        effects = self._flush_transcript()
        if self.reply is ReplyPhase.SPEAKING:
            self.reply = ReplyPhase.GENERATED
            effects.append(ReplyEnded())
        return effects

    def on_turn_complete(self) -> list[Effect]:
        effects: list[Effect] = []
        if self.reply is ReplyPhase.SPEAKING:
            effects.append(ReplyEnded())
        if self.reply is not ReplyPhase.INTERRUPTED:
            effects.extend(self._flush_transcript())
            if self.user is UserPhase.DONE:
                self.user = UserPhase.IDLE
        self.reply = ReplyPhase.IDLE
        return effects

    def on_local_interruption(self) -> list[Effect]:
        """Pipecat interrupted the bot (local VAD): stop the current reply's output here too."""
        if self.reply is ReplyPhase.SPEAKING:
            self.reply = ReplyPhase.INTERRUPTED
            return [ReplyEnded(interrupted=True)]
        return []

    def reset(self) -> list[Effect]:
        """The connection was lost (or cut short): close whatever was open. A reply cut off
        this way ends as a normal reply (no InterruptionFrame closed it), so what was already
        said is recorded as the bot's turn and not merged into the next reply."""
        effects: list[Effect] = self._flush_transcript()
        if self.reply is ReplyPhase.SPEAKING:
            effects.append(ReplyEnded())
        if self.user is UserPhase.SPEAKING:
            effects.append(UserStopped())
        self.user, self.reply = UserPhase.IDLE, ReplyPhase.IDLE
        return effects

    # ------------------------------------------------------------------ helpers

    def _end_user_turn(self) -> list[Effect]:
        if self.user is UserPhase.SPEAKING:
            self.user = UserPhase.DONE
            return [UserStopped()]
        return []

    def _complete_sentences(self) -> list[Effect]:
        effects: list[Effect] = []
        while True:
            match = _SENTENCE_END.search(self._transcript)
            if not match:
                return effects
            sentence = self._transcript[: match.end()].strip()
            self._transcript = self._transcript[match.end() :]
            if sentence:
                effects.append(UserSentence(sentence))

    def _flush_transcript(self) -> list[Effect]:
        text, self._transcript = self._transcript.strip(), ""
        return [UserSentence(text)] if text else []
