"""Input held while no connection is ready: kept in order, bounded, and nothing lost but audio.

Past the bound the oldest audio goes first (it is the least useful by the time a connection is
back); text, content, tool results and control messages are never dropped. Answers to calls of
a conversation that could not be resumed are taken out, by call id, before they are sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from pipecat_gemini_live.outgoing import ClientMessage

DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # about two minutes of 16 kHz audio


class InputBuffer:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._messages: deque[ClientMessage] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._messages)

    def __bool__(self) -> bool:
        return bool(self._messages)

    def __iter__(self) -> Iterator[ClientMessage]:
        return iter(self._messages)

    @property
    def size(self) -> int:
        return self._bytes

    def add(self, message: ClientMessage) -> int:
        """Keep ``message``; returns how many bytes of the oldest audio had to go for it."""
        self._messages.append(message)
        self._bytes += message.size
        dropped = 0
        while self._bytes > self.max_bytes:
            index = next((i for i, m in enumerate(self._messages) if m.is_audio), None)
            if index is None:
                break  # never drop text, tool results or control messages
            old = self._messages[index]
            del self._messages[index]
            self._bytes -= old.size
            dropped += old.size
        return dropped

    def first(self) -> ClientMessage:
        return self._messages[0]

    def pop_first(self) -> ClientMessage:
        message = self._messages.popleft()
        self._bytes -= message.size
        return message

    def drop_answers_to(self, void: set[str]) -> None:
        """Take out the answers to ``void`` calls (a lost conversation's)."""
        kept: deque[ClientMessage] = deque()
        for message in self._messages:
            remaining = message.without_calls(void)
            if remaining is not None:
                kept.append(remaining)
        self._messages = kept
        self._bytes = sum(message.size for message in kept)
