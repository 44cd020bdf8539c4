"""A local Gemini Live API server that speaks the real wire protocol, for tests and demos."""

from pipecat_gemini_live.emulator.behaviour import (
    DefaultResponder,
    Reply,
    Responder,
    ScriptedResponder,
    ToolCallSpec,
    UserTurn,
    VadSettings,
    synthesize,
)
from pipecat_gemini_live.emulator.server import EmulatedSession, LiveEmulator

__all__ = [
    "DefaultResponder",
    "EmulatedSession",
    "LiveEmulator",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "ToolCallSpec",
    "UserTurn",
    "VadSettings",
    "synthesize",
]
