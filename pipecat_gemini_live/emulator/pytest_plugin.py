"""pytest fixtures: a running emulator for your own bots' tests.

Installed with the package as the ``gemini_live_emulator`` plugin (``-p no:gemini_live_emulator``
turns it off). The fixtures are async, so they run on pytest-asyncio
(``pip install pytest-asyncio``). Without it the plugin still loads, so installing this package
never breaks a test run; only a test that asks for one of these fixtures fails, saying what it
needs.

    import pytest

    @pytest.mark.asyncio  # or asyncio_mode = "auto" in your pytest configuration
    async def test_my_bot(gemini_live_emulator):
        llm = GeminiLiveService(api_key="test-key", base_url=gemini_live_emulator.base_url)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from pipecat_gemini_live.emulator.server import DEFAULT_API_KEY, LiveEmulator

NEEDS_PYTEST_ASYNCIO = (
    "The {name} fixture (from pipecat-gemini-live) is async and needs pytest-asyncio, which is "
    "not installed: `pip install pytest-asyncio`, then mark the test @pytest.mark.asyncio (or "
    'set asyncio_mode = "auto" in your pytest configuration).'
)


async def _emulator() -> AsyncIterator[LiveEmulator]:
    """A started ``LiveEmulator(api_key="test-key")``."""
    async with LiveEmulator(api_key=DEFAULT_API_KEY) as emulator:
        yield emulator


async def _emulator_factory() -> AsyncIterator[Callable[..., Any]]:
    """``await factory(**LiveEmulator kwargs)`` -> a started emulator, stopped after the test."""
    async with AsyncExitStack() as stack:

        async def make(**kwargs: Any) -> LiveEmulator:
            return await stack.enter_async_context(LiveEmulator(**kwargs))

        yield make


def _missing(name: str) -> Callable[[], Iterator[None]]:
    """A stand-in fixture that fails the test using it with what to install."""

    def fixture() -> Iterator[None]:
        pytest.fail(NEEDS_PYTEST_ASYNCIO.format(name=name), pytrace=False)
        yield  # pragma: no cover

    fixture.__doc__ = f"Needs pytest-asyncio (not installed): {NEEDS_PYTEST_ASYNCIO}"
    return fixture


def _async_fixture() -> Callable[..., Any] | None:
    """``pytest_asyncio.fixture``, or None where pytest-asyncio is not installed."""
    try:
        import pytest_asyncio
    except ImportError:
        return None
    return pytest_asyncio.fixture


_fixture = _async_fixture()
gemini_live_emulator: Any
gemini_live_emulator_factory: Any
if _fixture is not None:
    gemini_live_emulator = _fixture(_emulator, name="gemini_live_emulator")
    gemini_live_emulator_factory = _fixture(_emulator_factory, name="gemini_live_emulator_factory")
else:
    gemini_live_emulator = pytest.fixture(
        _missing("gemini_live_emulator"), name="gemini_live_emulator"
    )
    gemini_live_emulator_factory = pytest.fixture(
        _missing("gemini_live_emulator_factory"), name="gemini_live_emulator_factory"
    )
