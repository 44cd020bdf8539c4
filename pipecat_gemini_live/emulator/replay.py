"""Playing a recorded call back to a client: the server's frames, as recorded, in order.

A recording (:class:`~pipecat_gemini_live.recording.Recording`, from Google's servers or from
``GeminiLiveService(record_to=...)``) alternates what the client sent and what the server
answered. Played back, the server's frames go out in their recorded order, and where the
recorded client spoke, the replay waits until this client has done the same:

- a run of audio messages: until it has sent as much audio (any audio, when the recording cut
  the payloads);
- a turn (``clientContent`` with ``turnComplete``, realtime text, ``activityEnd``): until it
  has sent one more such turn;
- a ``toolResponse``: until it has answered each of those call ids (by name, for id-less ones).

Everything else the client sends (setup excepted) is recorded but not waited for. Frames with
recorded times keep their spacing from the client message they answer, scaled by ``pace``
(0: as fast as possible). A wait that times out is noted in ``session.replay_errors`` and the
replay goes on, so a test sees where its bot diverged from the recorded call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from pipecat_gemini_live.emulator import wire
from pipecat_gemini_live.emulator.records import EmulatedSession
from pipecat_gemini_live.emulator.speaker import Outbox
from pipecat_gemini_live.recording import CUT_MEDIA_CHARS, Interaction


@dataclass(frozen=True)
class Emit:
    """A server frame to send as recorded."""

    data: bytes
    at: float | None = None


@dataclass(frozen=True)
class Expect:
    """What the client must have sent before the replay goes on."""

    kind: Literal["audio", "turn", "tool_response"]
    description: str
    at: float | None = None
    audio_seconds: float = 0.0  # 0: any audio (the recording cut the payloads)
    call_ids: tuple[str, ...] = ()
    call_names: tuple[str, ...] = ()


Step = Emit | Expect


def replay_steps(interactions: list[Interaction]) -> list[Step]:
    """A connection's recorded frames as what to send and what to wait for, in order."""
    steps: list[Step] = []
    run: list[dict[str, Any]] = []  # the audio blobs of a run of sent audio messages
    run_at: float | None = None
    heard = 0.0  # seconds of full-length audio the recorded client had sent so far

    def end_of_audio_run() -> None:
        nonlocal heard
        if not run:
            return
        cut = any(len(str(blob.get("data") or "")) <= CUT_MEDIA_CHARS for blob in run)
        heard += 0.0 if cut else sum(_audio_seconds(blob) for blob in run)
        steps.append(
            Expect("audio", "stream the user's audio", run_at, audio_seconds=0.0 if cut else heard)
        )
        run.clear()

    for item in interactions:
        if item.direction == "received":
            end_of_audio_run()
            steps.append(Emit(json.dumps(item.data, separators=(",", ":")).encode(), item.at))
            continue
        message = wire.normalise(item.data)
        audio = (message.get("realtime_input") or {}).get("audio")
        if isinstance(audio, dict):
            run.append(audio)
            run_at = item.at
            continue
        end_of_audio_run()
        expect = _expectation(message, item.at)
        if expect is not None:
            steps.append(expect)
    end_of_audio_run()
    return steps


def _audio_seconds(blob: dict[str, Any]) -> float:
    """Seconds of PCM16 in a base64 audio blob, from its length and mime rate."""
    data = str(blob.get("data") or "")
    return len(data) * 3 / 4 / 2 / wire.mime_rate(str(blob.get("mime_type") or ""))


def _expectation(message: dict[str, Any], at: float | None) -> Expect | None:
    content = message.get("client_content")
    realtime = message.get("realtime_input") or {}
    if (isinstance(content, dict) and content.get("turn_complete")) or (
        isinstance(realtime.get("text"), str) and realtime["text"].strip()
    ):
        return Expect("turn", "send a user turn (text or content with turnComplete)", at)
    if realtime.get("activity_end") is not None:
        return Expect("turn", "end the user's activity (activityEnd)", at)
    response = message.get("tool_response")
    if isinstance(response, dict):
        items = [i for i in response.get("function_responses") or [] if isinstance(i, dict)]
        ids = tuple(str(i["id"]) for i in items if i.get("id"))
        names = tuple(str(i.get("name") or "") for i in items if not i.get("id"))
        return Expect(
            "tool_response",
            f"answer tool calls {list(ids) or list(names)}",
            at,
            call_ids=ids,
            call_names=names,
        )
    return None


class ClientProgress:
    """What the client has sent so far, for the replay's waits."""

    def __init__(self) -> None:
        self.turns = 0
        self.audio_seconds = 0.0
        self.audio_messages = 0
        self.answered_ids: set[str] = set()
        self.answered_names: Counter[str] = Counter()
        self.changed = asyncio.Event()

    def observe(self, message: dict[str, Any]) -> None:
        """Take in one client message (normalised to snake_case)."""
        if _expectation(message, None) is not None and "tool_response" not in message:
            self.turns += 1
        audio = (message.get("realtime_input") or {}).get("audio")
        if isinstance(audio, dict):
            self.audio_seconds += _audio_seconds(audio)
            self.audio_messages += 1
        response = message.get("tool_response") or {}
        for item in response.get("function_responses") or []:
            if item.get("id"):
                self.answered_ids.add(str(item["id"]))
            else:
                self.answered_names[str(item.get("name") or "")] += 1
        self.changed.set()


class ReplayPlayer:
    """Plays one recorded connection to the client on ``outbox``."""

    AUDIO_TOLERANCE = 0.1  # seconds: the client's chunking may hold back its last partial chunk

    def __init__(
        self,
        steps: list[Step],
        session: EmulatedSession,
        outbox: Outbox,
        progress: ClientProgress,
        *,
        connection: int,
        pace: float,
        wait_timeout: float,
    ) -> None:
        self.steps = steps
        self.session = session
        self.out = outbox
        self.progress = progress
        self.connection = connection
        self.pace = pace
        self.wait_timeout = wait_timeout
        self._turns_expected = 0
        self._audio_runs = 0
        self._names_expected: Counter[str] = Counter()

    async def run(self) -> None:
        anchor_wall, anchor_at = time.monotonic(), 0.0
        for step in self.steps:
            if isinstance(step, Emit):
                if step.at is not None and self.pace > 0:
                    due = anchor_wall + (step.at - anchor_at) / self.pace
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                await self.out.send(step.data)
                continue
            await self._wait_for(step)
            if step.at is not None:
                anchor_wall, anchor_at = time.monotonic(), step.at
        self.session.replay_finished = True

    async def _wait_for(self, expect: Expect) -> None:
        if expect.kind == "turn":
            self._turns_expected += 1
        elif expect.kind == "audio":
            self._audio_runs += 1
        else:
            self._names_expected.update(expect.call_names)
        deadline = time.monotonic() + self.wait_timeout
        while not self._satisfied(expect):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.session.replay_errors.append(
                    f"connection {self.connection}: waited {self.wait_timeout:g}s for the client "
                    f"to {expect.description}; it did not"
                )
                return
            self.progress.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.progress.changed.wait(), remaining)

    def _satisfied(self, expect: Expect) -> bool:
        progress = self.progress
        if expect.kind == "turn":
            return progress.turns >= self._turns_expected
        if expect.kind == "audio":
            if expect.audio_seconds == 0.0:
                return progress.audio_messages >= self._audio_runs
            return progress.audio_seconds >= expect.audio_seconds - self.AUDIO_TOLERANCE
        if not set(expect.call_ids) <= progress.answered_ids:
            return False
        return all(progress.answered_names[n] >= c for n, c in self._names_expected.items())
