"""Gemini Live (native audio) as a first-class Pipecat stage, plus a local Live API emulator.

The service is imported on first use, so ``pipecat_gemini_live.emulator`` (and its CLI) start
without loading Pipecat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipecat_gemini_live.config import (
    ActivityHandling,
    ContextCompression,
    MediaResolution,
    Sensitivity,
    ToolResponseScheduling,
    TranslationSettings,
    TurnCoverage,
    VADSettings,
    VertexSettings,
)
from pipecat_gemini_live.errors import ConfigurationError, ConnectionClosed, GeminiLiveError
from pipecat_gemini_live.limits import SessionLimit, SessionLimitReached, set_session_limit
from pipecat_gemini_live.models import MODELS, ModelCapabilities
from pipecat_gemini_live.vision import VideoSettings
from pipecat_gemini_live.voices import VOICES

if TYPE_CHECKING:
    from pipecat_gemini_live.dropin import GeminiLiveLLMService
    from pipecat_gemini_live.service import GeminiLiveService, GeminiLiveSettings
    from pipecat_gemini_live.tokens import create_ephemeral_token

__all__ = [
    "MODELS",
    "VOICES",
    "ActivityHandling",
    "ConfigurationError",
    "ConnectionClosed",
    "ContextCompression",
    "GeminiLiveError",
    "GeminiLiveLLMService",
    "GeminiLiveService",
    "GeminiLiveSettings",
    "MediaResolution",
    "ModelCapabilities",
    "Sensitivity",
    "SessionLimit",
    "SessionLimitReached",
    "ToolResponseScheduling",
    "TranslationSettings",
    "TurnCoverage",
    "VADSettings",
    "VertexSettings",
    "VideoSettings",
    "create_ephemeral_token",
    "set_session_limit",
]


def __getattr__(name: str) -> Any:
    if name == "create_ephemeral_token":
        from pipecat_gemini_live.tokens import create_ephemeral_token

        return create_ephemeral_token
    if name in ("GeminiLiveService", "GeminiLiveSettings"):
        from pipecat_gemini_live import service

        return getattr(service, name)
    if name == "GeminiLiveLLMService":  # the drop-in for Pipecat's built-in service
        from pipecat_gemini_live.dropin import GeminiLiveLLMService

        return GeminiLiveLLMService
    raise AttributeError(f"module 'pipecat_gemini_live' has no attribute {name!r}")
