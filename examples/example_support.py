"""What every example does first: quiet logs unless ``--verbose``, the ``.env`` file, the key.

An example decides "Google's Live API or the bundled emulator" from the same variables
``GeminiLiveService`` reads its key from: ``GOOGLE_API_KEY``, then ``GEMINI_API_KEY``, from the
environment or a ``.env`` file (the environment wins). This module imports nothing from Pipecat,
so an example can use :func:`log_environment` before its Pipecat imports (Pipecat logs a banner
when it is imported).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the order GeminiLiveService reads them
REPOSITORY = Path(__file__).resolve().parent.parent


def log_environment(module_name: str, argv: Sequence[str] | None = None) -> dict[str, str]:
    """For ``os.environ.update()`` before Pipecat is imported: loguru at WARNING, unless
    ``--verbose`` (or ``LOGURU_LEVEL`` is set), when the example runs as a script
    (``module_name == "__main__"``). Nothing when a test imports the example."""
    argv = sys.argv if argv is None else argv
    if module_name != "__main__" or "--verbose" in argv or "LOGURU_LEVEL" in os.environ:
        return {}
    return {"LOGURU_LEVEL": "WARNING"}


def configure_logs(verbose: bool) -> None:
    """Quiet: only warnings and errors from Pipecat and the service; ``verbose``: all of
    Pipecat's logs (its DEBUG lines included), as loguru prints them by default."""
    from loguru import logger

    if verbose:
        return
    logger.remove()
    logger.add(sys.stderr, level="WARNING")


def uvicorn_log_level(verbose: bool) -> str:
    return "info" if verbose else "warning"


def find_env_file(start: Path | None = None) -> Path | None:
    """The ``.env`` in ``start`` (the current directory) or the nearest directory above it, else
    the repository's own ``.env``; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / ".env").is_file():
            return directory / ".env"
    fallback = REPOSITORY / ".env"
    return fallback if fallback.is_file() else None


@dataclass(frozen=True)
class KeySource:
    """Where the API key comes from: ``variable`` None means no key (use the emulator)."""

    variable: str | None
    env_file: Path | None = None  # the .env that set it, if it was not in the environment

    @property
    def online(self) -> bool:
        return self.variable is not None

    def describe(self) -> str:
        if self.variable is None:
            return "no GOOGLE_API_KEY or GEMINI_API_KEY (environment or .env file)"
        where = f"from {self.env_file}" if self.env_file else "from the environment"
        return f"{self.variable} is set ({where})"


def api_key_variable() -> str | None:
    """The variable ``GeminiLiveService`` will read its key from; None when neither is set."""
    return next((name for name in KEY_VARIABLES if os.environ.get(name)), None)


def api_key() -> str | None:
    variable = api_key_variable()
    return os.environ[variable] if variable else None


def load_env(env_file: Path | None = None) -> KeySource:
    """Read ``env_file`` (default: :func:`find_env_file`) into the environment without
    overriding what is already set, and say where the API key, if any, comes from."""
    from dotenv import load_dotenv

    before = api_key_variable()
    path = env_file if env_file is not None else find_env_file()
    if path is not None and path.is_file():
        load_dotenv(path, override=False)
    variable = api_key_variable()
    return KeySource(variable, path if variable and variable != before else None)


def start_example(verbose: bool) -> KeySource:
    """What each example's ``main()`` does first: logs, then the ``.env`` file, then the key."""
    configure_logs(verbose)
    return load_env()


def progress(message: str) -> None:
    """A line saying what a long step is doing, printed at once (stdout may be a pipe)."""
    print(message, flush=True)


async def serve(server: Any, announce: str) -> None:
    """Run a ``uvicorn.Server``; print ``announce`` once it really listens (not before)."""
    serving = asyncio.ensure_future(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started:
        print(announce, flush=True)
    await serving
