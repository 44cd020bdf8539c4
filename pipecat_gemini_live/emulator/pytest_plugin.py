"""pytest fixtures: a running emulator for your own bots' tests.

async def test_my_bot(gemini_live_emulator):
    llm = GeminiLiveService(api_key="test-key", base_url=gemini_live_emulator.base_url)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest_asyncio

from pipecat_gemini_live.emulator.server import LiveEmulator


@pytest_asyncio.fixture
async def gemini_live_emulator() -> AsyncIterator[LiveEmulator]:
    """A started ``LiveEmulator(api_key="test-key")``."""
    async with LiveEmulator(api_key="test-key") as emulator:
        yield emulator


@pytest_asyncio.fixture
async def gemini_live_emulator_factory() -> AsyncIterator[Callable[..., Any]]:
    """``await factory(**LiveEmulator kwargs)`` -> a started emulator, stopped after the test."""
    async with AsyncExitStack() as stack:

        async def make(**kwargs: Any) -> LiveEmulator:
            return await stack.enter_async_context(LiveEmulator(**kwargs))

        yield make
