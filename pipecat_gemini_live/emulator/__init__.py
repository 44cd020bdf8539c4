"""A local Gemini Live API server that speaks the real wire protocol, for tests and demos.

Each session plays by the server profile of the model it asks for (:mod:`.profiles`, from
recordings of Google's servers); :meth:`LiveEmulator.replay` plays a recorded call back.
"""

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
from pipecat_gemini_live.emulator.profiles import ServerProfile, ServerRules, profile_for
from pipecat_gemini_live.emulator.records import ConnectionRecord, EmulatedSession
from pipecat_gemini_live.emulator.server import LiveEmulator

__all__ = [
    "ConnectionRecord",
    "DefaultResponder",
    "EmulatedSession",
    "LiveEmulator",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "ServerProfile",
    "ServerRules",
    "ToolCallSpec",
    "UserTurn",
    "VadSettings",
    "profile_for",
    "synthesize",
]
