"""Seeded, randomized fault injection: one real Pipecat call per fault kind (goAway, a 1011
close, a drop without a close frame (1006), a TCP reset, a stall), faults at random points of it
(idle, while the user speaks, mid-reply, mid-tool-call; each point gets its share), and after
each the same checks.

What each trial asserts, and why that and not more:

- the conversation goes on: a user turn after the fault gets its whole reply;
- input audio: the session layer loses nothing. Everything the pipeline sent was written to
  some connection of the one logical session, in order. For a planned switch (goAway), a stall
  and a server close frame (1011), the server read every byte: received == sent, exactly.
  For an abrupt drop (no close frame: FIN or RST) bytes already written to the dead socket can
  be lost in flight (the Live API acknowledges nothing, so there is nothing to re-send from);
  then, per connection, received <= written, the shortfall only on the connection that dropped,
  and never a byte twice. The table shows how many bytes that was;
- tool calls: a call pending across the fault is run once and answered once, on the same
  logical session (the resumed connection if it switched);
- no stale audio: the reply audio the pipeline got between two connections' ``Connected``
  events is what the server sent on that connection, in order (all of it, or a prefix when the
  connection dropped or the goAway deadline cut the reply), so nothing of an old connection
  arrives after a switch; and every reply is bracketed (``LLMFullResponseStartFrame`` ...
  ``LLMFullResponseEndFrame``) so the context aggregators close each turn even when a fault
  cut it.

Set ``GEMINI_LIVE_FAULT_SEED`` to replay a run; the seed is printed with the table.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import (
    DataFrame,
    ErrorFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TTSAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from pipecat_gemini_live import GeminiLiveService, VADSettings
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ToolCallSpec, synthesize
from pipecat_gemini_live.session import Connected, LiveSession, Phase, RetryPolicy
from tests.pipeline_kit import Bot, running_bot, silence, speech

SEED = int(os.environ.get("GEMINI_LIVE_FAULT_SEED", "20260611"))
TRIALS = int(os.environ.get("GEMINI_LIVE_FAULT_TRIALS", "12"))
ALL_KINDS = ("go_away", "close_1011", "drop_1006", "reset", "stall")
KINDS = tuple(os.environ.get("GEMINI_LIVE_FAULT_KINDS", ",".join(ALL_KINDS)).split(","))
POINTS = ("idle", "mid_speech", "mid_reply", "mid_tool_call")
PACE = 8.0  # replies at 8x real time: long enough to be cut, short enough to keep this fast
CHUNK = 1600  # 50 ms of 16 kHz mono PCM16: what the service puts in each audio message
WAIT = 8.0  # a bound on every wait, far above what any step takes
ABRUPT = ("drop_1006", "reset")  # faults with no close frame: bytes in flight can be lost
ABRUPT_ENDS = ("drop", "reset")  # how the emulator records those connections' ends


@dataclass
class ConnectionMarker(DataFrame):
    """Pushed by the service (through the test's hook) when a connection is ready, in line with
    the audio frames, so the log shows which connection each piece of audio came from."""

    number: int = 0


class Script:
    """The emulated model's replies, queued by the test turn by turn."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()

    def reply(self, turn: Any, setup: dict[str, Any]) -> Reply:
        return self.queue.popleft() if self.queue else Reply(text="Extra turn.")


class GatedTool:
    """A tool whose handler waits until the test lets it answer, so a fault lands mid-call."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    def arm(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, params: Any) -> None:
        self.runs.append(params.tool_call_id)
        self.started.set()
        await self.release.wait()
        await params.result_callback({"found": params.arguments.get("n")})


@dataclass
class Tally:
    kind: str
    trials: int = 0
    passes: int = 0
    points: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    lost_in_flight: int = 0
    connections: int = 0
    cut_short: int = 0  # planned switches the goAway deadline forced mid-reply or mid-call
    refused: int = 0  # reconnects the server refused (e.g. a resume while the old one is open)
    tool_calls: int = 0
    tool_answered_once: int = 0
    failures: list[str] = field(default_factory=list)


def instrument(llm: GeminiLiveService) -> None:
    """Mark each new connection in the frame stream (wraps the service's event callback)."""
    original: Callable[[Any], Awaitable[None]] = llm._events.on_event

    async def on_event(event: Any) -> None:
        await original(event)
        if isinstance(event, Connected):
            await llm.push_frame(ConnectionMarker(number=event.connection_number))

    llm._events.on_event = on_event  # type: ignore[method-assign]


class Call:
    """One bot call against the emulator, with the bookkeeping the checks need."""

    def __init__(self, kind: str, rng: random.Random) -> None:
        self.kind = kind
        self.rng = rng
        self.script = Script()
        self.tool = GatedTool()
        self.sent_bytes = 0
        self.turns_queued = 0
        self.checked_connections = 0
        self.log_checked = 0
        self.in_reply = False
        self.emu: LiveEmulator
        self.llm: GeminiLiveService
        self.bot: Bot

    @property
    def session(self) -> LiveSession:
        assert self.llm.live_session is not None
        return self.llm.live_session

    async def say(self, seconds: float) -> None:
        """A user turn: speech then enough silence for the server's VAD (200 ms) to end it."""
        self.turns_queued += 1
        pcm = speech(seconds, seed=self.turns_queued) + silence(0.35)
        assert len(pcm) % CHUNK == 0  # every byte leaves the converter as whole chunks
        self.sent_bytes += len(pcm)
        await self.bot.say(pcm, speed=10.0)

    def words(self, label: str, count: int) -> str:
        filler = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
        return f"{label} " + " ".join(self.rng.choice(filler) for _ in range(count))

    async def settle(self) -> None:
        """Wait until nothing is in flight: a ready connection, the server has read all the audio
        written to it (so any turn it holds has been heard), and no reply is being produced."""
        emu_session = self.emu.sessions[0]

        def quiet() -> bool:
            stats = self.session.connection_stats
            log = emu_session.connection_log
            return (
                self.session.phase is Phase.READY
                and not self.session._buffer
                and len(stats) == len(log)
                and log[-1].audio_bytes_received == stats[-1].audio_messages_sent * CHUNK
                and (emu_session.reply_task is None or emu_session.reply_task.done())
            )

        await self.emu.wait_until(quiet, WAIT)

    async def inject(self, point: str) -> str:
        """Inject this call's fault kind; returns a note for the failure report."""
        target = self.emu.sessions[0]
        if self.kind == "go_away":
            time_left = round(self.rng.uniform(0.2, 2.0), 2)
            await self.emu.go_away(time_left=time_left, session=target, then_close=True)
            return f"goAway {time_left}s"
        if self.kind == "close_1011":
            await self.emu.close(1011, "Internal error occurred.", session=target)
            return "close 1011"
        if self.kind == "drop_1006":
            await self.emu.drop(session=target)
            return "drop without a close frame"
        if self.kind == "reset":
            await self.emu.reset(session=target)
            return "reset"
        seconds = round(self.rng.uniform(0.2, 1.0), 2)
        self.emu.stall(seconds, session=target)
        return f"stall {seconds}s"

    async def trial(self, tally: Tally, point: str) -> None:
        tally.points[point] = tally.points.get(point, 0) + 1
        tally.trials += 1
        problems: list[str] = []
        emu_session = self.emu.sessions[0]
        rotations_before = self.session.rotations
        connections_before = self.session.connections
        turn_index = len(emu_session.turns)
        replies_at_start = self.replies_ended()
        received_at_start = emu_session.audio_bytes_received
        answer = self.words(f"Answer {tally.trials}", self.rng.randint(1, 4))
        call_id = f"{self.kind}-{tally.trials}"
        if point == "mid_tool_call":
            self.tool.arm()
            self.script.queue.append(
                Reply(
                    text="Let me look.",
                    tool_calls=[ToolCallSpec("lookup", {"n": tally.trials}, id=call_id)],
                    after_tool=Reply(text=answer),
                )
            )
        else:
            self.script.queue.append(Reply(text=answer))
        speaking = asyncio.create_task(self.say(0.3))

        # Reach the chosen point of this turn, then inject the fault.
        if point == "idle":
            await speaking
            await self.emu.wait_until(
                lambda: (
                    len(emu_session.turns) > turn_index and "usage" in emu_session.turns[turn_index]
                ),
                WAIT,
            )
            await self.bot.wait_for(lambda: self.replies_ended() > replies_at_start, WAIT)
        elif point == "mid_speech":
            threshold = int(self.rng.uniform(0.05, 0.9) * 0.65 * 32000)
            await self.emu.wait_until(
                lambda: emu_session.audio_bytes_received - received_at_start >= threshold, WAIT
            )
        elif point == "mid_reply":
            total = len(synthesize(answer)[0])
            threshold = int(self.rng.uniform(0.1, 0.6) * total)
            await self.emu.wait_until(
                lambda: (
                    len(emu_session.turns) > turn_index
                    and emu_session.turns[turn_index]["audio_bytes_sent"] >= max(1, threshold)
                ),
                WAIT,
            )
        else:
            await asyncio.wait_for(self.tool.started.wait(), WAIT)
        note = await self.inject(point)
        if point == "mid_tool_call":
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            if self.kind in ABRUPT:
                # A response written in the instant the socket dies is lost in flight (no
                # acknowledgement exists to re-send from): answer once the client knows.
                await self.emu.wait_until(
                    lambda: (
                        self.session.connections > connections_before
                        or self.session.phase is not Phase.READY
                    ),
                    WAIT,
                )
            self.tool.release.set()
        await speaking
        if self.kind == "go_away":
            await self.emu.wait_until(lambda: self.session.rotations > rotations_before, WAIT)
        await self.settle()
        # A turn cut in the middle of the user's words may go unanswered (the new connection
        # heard only the rest of them); the user would say it again, as here.
        self.script.queue.clear()

        # The conversation goes on: the next turn is answered in full.
        follow_up = self.words(f"Follow {tally.trials}", 1)
        expected = synthesize(follow_up)[0]
        self.script.queue.append(Reply(text=follow_up))
        await self.say(0.3)
        try:
            # Replies reach the end of the pipeline in order, each bracketed (the frames of an
            # earlier, cut reply may still be on their way): the last whole one must be this.
            await self.bot.wait_for(lambda: self.last_reply_audio() == expected, WAIT)
        except AssertionError:
            heard = self.last_reply_audio()
            problems.append(f"the reply after the fault was {len(heard)} bytes, not whole")
        await self.settle()

        problems += self.check_input(tally)
        problems += self.check_audio_by_connection()
        problems += self.check_brackets()
        if point == "mid_tool_call":
            problems += self.check_tool_call(call_id, tally)
        if len(self.emu.sessions) != 1:
            problems.append(f"{len(self.emu.sessions)} logical sessions, not one")
        if problems:
            tally.failures.append(f"trial {tally.trials} ({point}, {note}): {'; '.join(problems)}")
        else:
            tally.passes += 1

    def replies_ended(self) -> int:
        return len(self.bot.tail.frames(LLMFullResponseEndFrame))

    def last_reply_audio(self) -> bytes:
        """The audio of the last reply that has ended at the end of the pipeline."""
        seen = self.bot.tail.seen
        end = next(
            (
                i
                for i in range(len(seen) - 1, -1, -1)
                if isinstance(seen[i].frame, LLMFullResponseEndFrame)
            ),
            None,
        )
        if end is None:
            return b""
        start = next(
            (i for i in range(end, -1, -1) if isinstance(seen[i].frame, LLMFullResponseStartFrame)),
            0,
        )
        return b"".join(
            s.frame.audio for s in seen[start:end] if isinstance(s.frame, TTSAudioRawFrame)
        )

    # ------------------------------------------------------------------ checks

    def check_input(self, tally: Tally) -> list[str]:
        emu_session = self.emu.sessions[0]
        stats = self.session.connection_stats
        written = [s.audio_messages_sent * CHUNK for s in stats]
        received = [c.audio_bytes_received for c in emu_session.connection_log]
        tally.bytes_sent = self.sent_bytes
        tally.bytes_received = emu_session.audio_bytes_received
        tally.lost_in_flight = sum(written) - sum(received)
        tally.connections = len(stats)
        tally.cut_short = sum(s.ended_by == "rotation (cut short)" for s in stats)
        tally.refused = len(self.emu.refused)
        problems = []
        if self.llm._input.pending_bytes:
            problems.append("audio left in the converter")
        if sum(written) != self.sent_bytes:
            problems.append(f"the session wrote {sum(written)} of {self.sent_bytes} bytes")
        if len(written) != len(received):
            problems.append(f"{len(written)} client connections vs {len(received)} on the server")
            return problems
        for number, (out, got, record) in enumerate(
            zip(written, received, emu_session.connection_log, strict=True), 1
        ):
            if got > out:
                problems.append(f"connection {number}: {got} bytes received, {out} written")
            elif got < out and record.ended_by not in ABRUPT_ENDS:
                problems.append(
                    f"connection {number} ({record.ended_by}) lost {out - got} bytes in flight"
                )
        return problems

    def check_audio_by_connection(self) -> list[str]:
        """Reply audio between two markers is what the server sent on that connection."""
        delivered: dict[int, bytearray] = {}
        current = 0  # the last marker seen: every frame of older connections is through
        for seen in self.bot.tail.seen:
            if isinstance(seen.frame, ConnectionMarker):
                current = seen.frame.number
            elif isinstance(seen.frame, TTSAudioRawFrame):
                delivered.setdefault(current, bytearray()).extend(seen.frame.audio)
        log = self.emu.sessions[0].connection_log
        stats = self.session.connection_stats
        problems = []
        # Only connections that are over and whose frames have all reached the end.
        while self.checked_connections + 1 < min(len(log), current):
            record = log[self.checked_connections]
            client_end = stats[self.checked_connections].ended_by
            self.checked_connections += 1
            got = bytes(delivered.get(record.number, b""))
            sent = bytes(record.output_audio)
            whole = got == sent
            prefix = len(got) <= len(sent) and sent.startswith(got)
            # Cut off: a reset loses what was in flight; a switch forced by the goAway deadline
            # stops reading the old connection mid-reply, and the rest of that reply is stale.
            cut = record.ended_by in ABRUPT_ENDS or client_end == "rotation (cut short)"
            if not (whole or (cut and prefix)):
                problems.append(
                    f"connection {record.number} ({record.ended_by}): {len(got)} bytes of audio "
                    f"delivered for {len(sent)} sent, {'in order' if prefix else 'not its own'}"
                )
        return problems

    def check_brackets(self) -> list[str]:
        """Start/End alternate, and reply audio only comes inside a reply."""
        problems = []
        for seen in self.bot.tail.seen[self.log_checked :]:
            frame = seen.frame
            if seen.direction is not FrameDirection.DOWNSTREAM:
                continue
            if isinstance(frame, LLMFullResponseStartFrame):
                if self.in_reply:
                    problems.append("a reply started before the previous one ended")
                self.in_reply = True
            elif isinstance(frame, LLMFullResponseEndFrame):
                if not self.in_reply:
                    problems.append("a reply ended that had not started")
                self.in_reply = False
            elif isinstance(frame, TTSAudioRawFrame) and not self.in_reply:
                problems.append("reply audio outside a reply")
        self.log_checked = len(self.bot.tail.seen)
        return sorted(set(problems))

    def check_tool_call(self, call_id: str, tally: Tally) -> list[str]:
        tally.tool_calls += 1
        answers = self.emu.sessions[0].tool_responses.get(call_id, [])
        written = sum(s.tool_response_ids.count(call_id) for s in self.session.connection_stats)
        runs = self.tool.runs.count(call_id)
        if len(answers) == 1 and written == 1 and runs == 1:
            tally.tool_answered_once += 1
            return []
        return [f"tool call {call_id}: ran {runs}x, written {written}x, received {len(answers)}x"]


async def run_call(kind: str, rng: random.Random, trials: int) -> Tally:
    tally = Tally(kind)
    call = Call(kind, rng)
    async with LiveEmulator(api_key="test-key", responder=call.script, pace=PACE) as emu:
        llm = GeminiLiveService(
            api_key="test-key",
            base_url=emu.base_url,
            retry=RetryPolicy(initial_delay=0.02, max_delay=0.1),
            settings=GeminiLiveService.Settings(vad=VADSettings(silence_duration_ms=200)),
        )
        llm.register_function("lookup", call.tool, cancel_on_interruption=False)
        instrument(llm)
        async with running_bot([llm], metrics=False) as bot:
            call.emu, call.llm, call.bot = emu, llm, bot
            # The first turn opens the call (and the first resumption handle).
            call.script.queue.append(Reply(text="Hello there."))
            await call.say(0.3)
            await bot.wait_for(lambda: call.replies_ended() == 1, WAIT)
            await emu.wait_until(lambda: llm.resumption_handle is not None, WAIT)
            await call.settle()
            # Every point gets its share of the trials, in a random order.
            schedule = [POINTS[i % len(POINTS)] for i in range(trials)]
            rng.shuffle(schedule)
            for point in schedule:
                await call.trial(tally, point)
            errors = bot.head.frames(ErrorFrame, FrameDirection.UPSTREAM)
            if errors:
                tally.failures.append(f"{len(errors)} ErrorFrame(s): {errors[0].error}")
                tally.passes = min(tally.passes, tally.trials - 1)
    return tally


def print_table(tallies: list[Tally], seconds: float) -> None:
    print(f"\nfault suite: seed {SEED}, {TRIALS} trials per kind, {seconds:.1f} s")
    header = (
        f"{'fault':<11}{'trials':>7}{'passes':>7}  {'points (idle/speech/reply/tool)':<33}"
        f"{'bytes sent':>11}{'received':>10}{'in flight':>10}{'conns':>6}{'cut short':>10}"
        f"{'refused':>8}{'tools once':>11}"
    )
    print(header)
    for t in tallies:
        points = "/".join(str(t.points.get(p, 0)) for p in POINTS)
        print(
            f"{t.kind:<11}{t.trials:>7}{t.passes:>7}  {points:<33}{t.bytes_sent:>11}"
            f"{t.bytes_received:>10}{t.lost_in_flight:>10}{t.connections:>6}{t.cut_short:>10}"
            f"{t.refused:>8}{f'{t.tool_answered_once}/{t.tool_calls}':>11}"
        )
        for failure in t.failures:
            print(f"    FAILED {failure}")


async def test_a_call_survives_every_fault_kind_at_random_points():
    rng = random.Random(SEED)
    started = time.monotonic()
    tallies = [await run_call(kind, rng, TRIALS) for kind in KINDS]
    print_table(tallies, time.monotonic() - started)
    for tally in tallies:
        assert tally.trials == TRIALS
        assert tally.passes == tally.trials, tally.failures
        # Planned switches, stalls and close frames lose nothing at all.
        if tally.kind not in ABRUPT:
            assert tally.bytes_received == tally.bytes_sent
        # One new connection per fault (a stall needs none): no extra switches, no storms.
        assert tally.connections == 1 + (0 if tally.kind == "stall" else tally.trials)
        if tally.kind == "go_away":
            assert tally.refused == 0  # the old connection was closed before resuming
