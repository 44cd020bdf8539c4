"""The call's one :class:`~pipecat_gemini_live.session.LiveSession`: opened on first use (the
first input or context), holding a slot of the session limit while it lives."""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from typing import Any

from loguru import logger

from pipecat_gemini_live import protocol
from pipecat_gemini_live.access import Access
from pipecat_gemini_live.config import SessionConfig
from pipecat_gemini_live.events import ServerEvent
from pipecat_gemini_live.limits import SessionLimit, process_session_limit
from pipecat_gemini_live.outgoing import ClientMessage
from pipecat_gemini_live.recording import AudioMode
from pipecat_gemini_live.session import LiveSession, RetryPolicy, SessionEvent


class Connector:
    def __init__(
        self,
        access: Access,
        *,
        retry: RetryPolicy | None,
        resumption_handle: str | None,
        session_limit: SessionLimit | None,
        record_to: str | os.PathLike[str] | None,
        record_audio: AudioMode,
        name: str,
    ) -> None:
        self._access = access
        self._retry = retry
        self._initial_handle = resumption_handle
        self._limit = session_limit
        self._record = (record_to, record_audio)
        self._name = name
        self._slot: SessionLimit | None = None
        self.session: LiveSession | None = None

    async def open(
        self,
        config: SessionConfig,
        build_setup: Callable[[str | None], ClientMessage],
        on_event: Callable[[ServerEvent | SessionEvent], Coroutine[Any, Any, None]],
    ) -> LiveSession:
        """The session, started now if it is not yet; raises ``SessionLimitReached`` when the
        process's cap on sessions is full for longer than it lets a call wait."""
        if self.session is None:
            limit = self._limit or process_session_limit()
            if limit is not None and self._slot is None:
                await limit.acquire()
                self._slot = limit
            path, audio = self._record
            self.session = LiveSession(
                url=self._access.url,
                headers=self._access.headers,
                build_setup=build_setup,
                on_event=on_event,
                retry=self._retry,
                recorder=self._access.recorder(path, config, audio, self._name),
                ssl_context=self._access.ssl,
            )
            self.session.handle = self._initial_handle
            self.session.conversation.uses_resumption = config.session_resumption
            await self.session.start()
        return self.session

    async def follow(self, changed: set[str], config: SessionConfig) -> None:
        """Changed settings reach the live call: a new instruction in place
        (``contextUpdate``), anything else by switching to a new connection of the same
        conversation at the next safe point (a new model: a new conversation)."""
        session = self.session
        if session is None:
            return  # not connected yet: the first setup carries everything
        if "system_instruction" in changed:
            instruction = config.system_instruction or ""
            await session.send(protocol.context_update(system_instruction=instruction))
        rest = changed - {"system_instruction"}
        if not rest:
            return
        if "model" in rest:
            logger.warning(
                f"{self._name}: the model changed to {config.model}; a Live session cannot "
                "change model, so a new one starts (the old conversation is not carried over)"
            )
            session.handle = None
        logger.info(
            f"{self._name}: applying {sorted(rest)} by switching connection at a safe point"
        )
        session.request_rotation()

    async def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()
        self.release()

    def release(self) -> None:
        """Give the session-limit slot back (the call ended or failed)."""
        if self._slot is not None:
            self._slot.release()
            self._slot = None
