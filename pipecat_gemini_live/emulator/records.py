"""What the emulator saw and did, per session and per connection: the record tests read."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection

from pipecat_gemini_live.emulator.profiles import ServerProfile

if TYPE_CHECKING:
    from pipecat_gemini_live.emulator.model import EmulatedModel


@dataclass
class ConnectionRecord:
    """One WebSocket connection of a logical session: what crossed it, and how it ended.

    ``ended_by`` is "client" (the client closed or went away), "close <code>", "reset",
    "drop", "go_away deadline" or "lifetime". ``output_audio`` keeps the reply audio sent on it
    (only when the emulator records), so tests can check what reached the client and in what
    order.
    """

    number: int
    audio_bytes_received: int = 0
    audio_bytes_sent: int = 0
    output_audio: bytearray = field(default_factory=bytearray, repr=False)
    turns_completed: int = 0
    ended_by: str = ""


@dataclass
class EmulatedSession:
    """One logical Live session (it survives reconnects by resumption). Read it in tests.

    ``turns`` holds one dict per model turn: ``kind``, ``reply`` (the text spoken),
    ``input_transcript``, ``audio_bytes_sent``, ``usage``, and the emulator's own timing of it
    (wall-clock ``time.monotonic()``): ``speech_started_at``/``speech_ended_at`` (the user's
    speech, as its audio arrived), ``first_audio_at`` (the reply's first audio sent),
    ``interrupted``. ``server_messages`` lists every message sent, media cut to its length
    (when recording).
    """

    id: str
    setup: dict[str, Any]
    model: str
    profile: ServerProfile
    endpoint: str = "gemini-api"
    connections: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    server_messages: list[dict[str, Any]] = field(default_factory=list, repr=False)
    audio_bytes_received: int = 0
    audio_seconds_received: float = 0.0
    audio_chunks: list[tuple[int, int]] = field(default_factory=list)
    audio_mime_types: set[str] = field(default_factory=set)
    video_frames_received: int = 0
    video_frame_sizes: list[tuple[int, int]] = field(default_factory=list)  # (w, h) per image
    texts_received: list[str] = field(default_factory=list)
    tool_responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    context_updates: list[dict[str, Any]] = field(default_factory=list)
    client_content: list[dict[str, Any]] = field(default_factory=list)
    activity_events: list[str] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    interruptions: int = 0
    handles_issued: list[str] = field(default_factory=list)
    closed_codes: list[int] = field(default_factory=list)
    tool_calls_sent: list[dict[str, Any]] = field(default_factory=list)
    connection_log: list[ConnectionRecord] = field(default_factory=list)
    # Async (NON_BLOCKING) calls still open, and what happened to each result that came in:
    # {"id", "name", "scheduling", "will_continue", "spoken", "interrupted_reply"}.
    async_calls: dict[str, str] = field(default_factory=dict)
    async_results: list[dict[str, Any]] = field(default_factory=list)
    ignored_responses: list[dict[str, Any]] = field(default_factory=list)  # the server dropped
    replay_errors: list[str] = field(default_factory=list)  # where a replayed client diverged
    replay_finished: bool = False  # every recorded frame of the replay was sent

    # runtime, not for tests
    ws: ServerConnection | None = field(default=None, repr=False)
    model_runtime: EmulatedModel | None = field(default=None, repr=False)
    stalled_until: float = 0.0
    _counter: Any = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_id(self, kind: str) -> str:
        return f"{kind}-{self.id}-{next(self._counter)}"

    @property
    def reply_task(self) -> Any:
        """The task producing the current reply (None between replies)."""
        return self.model_runtime.reply_task if self.model_runtime else None

    @property
    def system_instruction(self) -> str:
        parts = (self.setup.get("system_instruction") or {}).get("parts") or []
        return " ".join(p.get("text", "") for p in parts if isinstance(p, dict))

    def declared_behavior(self, name: str) -> str | None:
        """The ``behavior`` a function is declared with in the current tools, if any."""
        for tool in self.setup.get("tools") or []:
            for function in tool.get("function_declarations") or []:
                if function.get("name") == name:
                    return function.get("behavior")
        return None

    def non_blocking(self, name: str) -> bool:
        """Runs NON_BLOCKING: declared so, or (3.8) declared without a behavior."""
        behavior = self.declared_behavior(name)
        if behavior is None:
            return self.profile.rules.default_non_blocking and self._declared(name)
        return behavior == "NON_BLOCKING"

    def _declared(self, name: str) -> bool:
        return any(
            function.get("name") == name
            for tool in self.setup.get("tools") or []
            for function in tool.get("function_declarations") or []
        )
