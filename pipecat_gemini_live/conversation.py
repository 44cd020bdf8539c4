"""What the session knows of the conversation, to switch connections without losing anything.

:class:`ConversationState` says whether now is a safe point: between replies, no tool call
pending, the user not mid-turn, and a resumption handle that covers everything said so far.
:class:`SwitchPlan` holds a planned switch (after ``goAway``, or for new settings): it happens
at the first safe point, or at the deadline, which is the server's time left minus what a
switch takes (measured, not guessed: a generous fixed margin cut replies that would have
finished in time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pipecat_gemini_live.events import (
    AudioChunk,
    GenerationComplete,
    InteractionStatus,
    Interrupted,
    ModelText,
    OutputTranscript,
    ResumptionUpdate,
    ServerEvent,
    ToolCall,
    TurnComplete,
)
from pipecat_gemini_live.tools import ToolLedger

# A sound the server answered with no turn within this long was not a turn (a cough, a door).
UNANSWERED_SPEECH_SECONDS = 3.0


@dataclass
class ConversationState:
    """What the session must know about the conversation to pick a safe moment to switch."""

    tools: ToolLedger = field(default_factory=ToolLedger)
    replying: bool = False
    handle: str | None = None
    resumable: bool = False
    handle_is_current: bool = False  # no turn has happened since the handle was issued
    uses_resumption: bool = True
    working: bool = False  # interactionStatus IN_PROGRESS: the model is still on it
    handle_at: float = 0.0  # monotonic time the latest handle arrived
    voiced_at: float = 0.0  # monotonic time the client last sent audio with speech in it

    @property
    def user_turn_open(self) -> bool:
        """The user spoke after the latest handle and the server has not answered yet: the
        handle does not cover those words, and the server may be about to reply to them."""
        return (
            self.voiced_at > self.handle_at
            and time.monotonic() - self.voiced_at < UNANSWERED_SPEECH_SECONDS
        )

    @property
    def at_safe_point(self) -> bool:
        """Between replies, no tool call pending, the user not mid-turn, the model not still
        working (extended thinking), and (when resuming) holding a handle that covers
        everything said so far: a switch now loses nothing."""
        fresh = self.handle_is_current or not self.uses_resumption
        idle = not (self.replying or self.working or self.user_turn_open)
        return idle and not self.tools.pending and fresh

    def observe(self, event: ServerEvent) -> None:
        if isinstance(event, (AudioChunk, ModelText, OutputTranscript, ToolCall)):
            self.replying = self.replying or not isinstance(event, ToolCall)
            self.handle_is_current = False
        elif isinstance(event, (TurnComplete, Interrupted, GenerationComplete)):
            self.replying = False
            self.handle_is_current = False
        elif isinstance(event, InteractionStatus):
            self.working = not event.idle
        elif isinstance(event, ResumptionUpdate):
            self.resumable = event.resumable
            if event.resumable and event.handle:
                self.handle = event.handle
                self.handle_is_current = True
                self.handle_at = time.monotonic()


MIN_SWITCH_MARGIN = 0.25  # seconds kept before the deadline even for a very fast switch


class SwitchPlan:
    """When the next planned switch must happen at the latest."""

    def __init__(self, margin: float | None = None) -> None:
        self._fixed_margin = margin
        self._switch_seconds = 0.0  # the longest switch (or first connect) seen so far
        self.deadline: float | None = None  # monotonic

    def measured(self, seconds: float) -> None:
        """How long opening a connection up to ``setupComplete`` took."""
        self._switch_seconds = max(self._switch_seconds, seconds)

    def margin(self, time_left: float) -> float:
        """What a switch takes (twice the longest seen), never more than half the time left."""
        if self._fixed_margin is not None:
            wanted = self._fixed_margin
        else:
            wanted = max(MIN_SWITCH_MARGIN, 2 * self._switch_seconds)
        return min(wanted, time_left / 2)

    def plan(self, time_left: float) -> float:
        """Plan a switch within ``time_left`` seconds; returns the seconds until its deadline."""
        due_in = max(0.0, time_left - self.margin(time_left))
        self.deadline = time.monotonic() + due_in
        return due_in

    def clear(self) -> None:
        self.deadline = None

    @property
    def planned(self) -> bool:
        return self.deadline is not None
