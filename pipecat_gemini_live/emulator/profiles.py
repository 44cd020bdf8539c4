"""How each family of Live models behaves on the wire: one :class:`ServerProfile` per family.

Every field says what a real server does, with where we know it from:

- [rec] Google's own frames, recorded by pydantic-ai (``tests/recorded/``; its README lists the
  quirks). This is the ground truth, and it wins where sources disagree.
- [doc] Google's documentation (``ai.google.dev``, Vertex AI, Firebase).
- [peer] what Pipecat's built-in service or LiveKit's Google plugin say about the server in
  their code comments. Such rules are kept behind a switch (:class:`ServerRules`), because
  nobody here has seen them happen.

The emulator picks the profile from the ``setup.model`` of each session (and the endpoint it
was reached on), so a bot is tested against the behaviour of the model it asks for. Tests can
pass ``LiveEmulator(profile=...)``, e.g. ``dataclasses.replace(profile, call_ids="none")``.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

Endpoint = Literal["gemini-api", "vertex"]


@dataclass(frozen=True)
class ServerRules:
    """What the server refuses, each with its source; the peer-reported ones can be switched off.

    Attributes:
        client_content: ``"any"`` turns, or ``"initial_history_only"`` (3.1: clientContent only
            before the model's first turn; after that, 1007) [doc; the 3.1 recordings show a
            first user turn answered without ``historyConfig``].
        history_blocks_realtime: with ``initialHistoryInClientContent`` set, realtime input is
            ignored until the initial history arrives, so a client that sends no history is
            never heard [peer: issue notes on Pipecat's 3.1 seeding].
        reply_needs_realtime_input: a ``clientContent`` with ``turnComplete`` starts no reply
            until some realtime input arrives ("Gemini 3.x ... won't run inference without a
            realtime input", Pipecat's built-in). The 3.1 recordings show 3.1 replying without
            one, so only 3.8 has it [peer].
        seed_must_end_with_user: a ``clientContent`` with ``turnComplete`` whose last turn is the
            model's is refused with 1007 (Pipecat's built-in: 2.5 "requires the seed's final turn
            to be a user turn"; the 2.5 recordings show it accepted with ``turnComplete: false``,
            so only the completing case is refused) [peer].
        function_parts_in_history: ``functionCall``/``functionResponse`` parts in clientContent
            turns are refused with 1007 (Pipecat's adapter writes tool history as text because
            3.x closes with 1007) [peer].
        refuse_roles: turn roles other than ``user``/``model`` (``system``) are 1007 [doc:
            Content.role]. ``refuse_missing_role``: a turn without a role is 1007 too [peer;
            LiveKit sends role-less turns for instruction updates, so this is off where that
            matters].
        refuse_blocking_declarations: a ``behavior: BLOCKING`` declaration is 1007 (3.8 extended
            thinking runs every call NON_BLOCKING, Pipecat's built-in) [peer].
        thinking_level_required: the setup must carry ``thinkingConfig.thinkingLevel`` [peer].
        refuse_thinking_level / refuse_affective_dialog / proactive_audio_always_on: 3.8
            rejects a thinking level, affective dialog and ``proactiveAudio: false`` [doc].
        audio_only: ``responseModalities`` must be ``["AUDIO"]`` [doc].
        default_non_blocking: a function declared without ``behavior`` runs NON_BLOCKING [doc].
        drop_idless_blocking_responses: a function response without ``id`` to a BLOCKING call is
            dropped (3.8 on Vertex, LiveKit's ``create_function_response`` comment) [peer].
    """

    client_content: Literal["any", "initial_history_only"] = "any"
    history_blocks_realtime: bool = False
    reply_needs_realtime_input: bool = False
    seed_must_end_with_user: bool = False
    function_parts_in_history: bool = True
    refuse_roles: bool = True
    refuse_missing_role: bool = False
    refuse_blocking_declarations: bool = False
    thinking_level_required: bool = False
    refuse_thinking_level: bool = False
    refuse_affective_dialog: bool = False
    proactive_audio_always_on: bool = False
    audio_only: bool = False
    default_non_blocking: bool = False
    drop_idless_blocking_responses: bool = False

    def without_peer_reports(self) -> ServerRules:
        """Only what the recordings and the documentation show."""
        return replace(
            self,
            history_blocks_realtime=False,
            reply_needs_realtime_input=False,
            seed_must_end_with_user=False,
            function_parts_in_history=True,
            refuse_missing_role=False,
            refuse_blocking_declarations=False,
            thinking_level_required=False,
            drop_idless_blocking_responses=False,
        )


@dataclass(frozen=True)
class ServerProfile:
    """The wire behaviour of one model family on one endpoint.

    Attributes:
        name: the family, for messages and test ids.
        endpoint: ``"gemini-api"`` or ``"vertex"``.
        session_id: ``setupComplete`` carries ``{"sessionId": <uuid>}`` (Vertex) [rec].
        unasked_handles: ``sessionResumptionUpdate`` arrives even without ``sessionResumption``
            in the setup: ``"after_setup"`` (3.8, 13 ms after setupComplete), ``"mid_reply"``
            (3.1, between a tool response and the answer), or ``"never"`` (2.5, Vertex) [rec].
        voice_activity: ``voiceActivity`` ``ACTIVITY_START``/``ACTIVITY_END`` with an
            ``audioOffset`` at the onset and end of speech (3.8) [rec].
        input_transcript: ``"pieces"``: word by word (``" Hello"``, ``","``, ...) at the end of
            the user's turn (2.5); ``"whole"``: one piece just before ``ACTIVITY_END`` (3.8)
            [rec].
        audio_mime: ``audio/pcm;rate=24000``, or rate-less ``audio/pcm`` (Vertex) [rec].
        model_turn_role: ``modelTurn.role: "model"`` (3.8, Vertex) [rec].
        empty_frames: a bare ``{}`` before nearly every audio chunk, and before the reply's
            opening ``serverContent: {}`` (3.8) [rec].
        empty_content_first: ``"serverContent": {}`` opens each reply and tool call (3.x) [rec].
        output_transcript: ``"separate"`` messages between audio chunks (2.5), ``"combined"``
            on the audio messages (3.x), or ``"upfront"``: all of it before the audio (Vertex)
            [rec].
        transcript_opening: every turn opens with an empty ``outputTranscription: {}`` (Vertex
            ``gemini-live-2.5-flash``) [rec].
        transcript_finished: when ``outputTranscription: {"finished": true}`` comes: ``"never"``
            (Gemini API), right ``"after_transcript"`` (Vertex live, before the audio; in a
            turn that only calls a tool, after the call), or ``"after_audio"`` (Vertex native
            audio) [rec].
        thoughts: a thought summary as a ``{"text", "thought": true}`` part opens a reply:
            ``"always"`` (2.5 sends them unasked, though not before every tool call),
            ``"when_asked"`` (``includeThoughts``) [rec].
        grounding_on_turn_complete: ``groundingMetadata: {}`` rides on turnComplete (Vertex) [rec].
        usage_names: ``"response"`` (``responseTokenCount``) or ``"candidates"`` (Vertex) [rec].
        call_ids: ``"function-call"`` (2.5: ``function-call-<20 digits>``), ``"fc"`` (3.1:
            ``fc_<19 digits>``), ``"uuid"`` (Vertex), or ``"none"`` (calls without ids, an option
            for tests; no recording shows it) [rec].
        split_tool_turn: the turn that made a tool call closes at once (``generationComplete``,
            ``turnComplete`` with its usage), before the response; the answer is a new turn
            (Vertex live) [rec].
        generation_speedup: how much faster than real time the model produces audio (3.8: about
            3.4x in the recording) [rec].
        first_audio_seconds: from the end of the user's turn to the first audio (3.8 recorded
            1.6 s; kept short so tests stay fast; scaled by the emulator's ``pace``).
        late_interrupt_seconds: ``turnComplete`` is held until the client should have played
            the reply (``generationComplete`` comes 1.6-1.7 s earlier on 3.x) [rec]. A client's
            playout lags that estimate (its jitter buffer), so a user can still barge in after
            ``turnComplete``: for this long after it, speech is still answered with
            ``interrupted`` (LiveKit's plugin handles that order) [peer].
        interaction_status: ``interactionStatus`` IN_PROGRESS/IDLE around a reply (3.8 extended
            thinking) [peer: Pipecat's built-in reads it].
        rules: what the server refuses (:class:`ServerRules`).
    """

    name: str
    endpoint: Endpoint = "gemini-api"
    session_id: bool = False
    unasked_handles: Literal["never", "after_setup", "mid_reply"] = "never"
    voice_activity: bool = False
    input_transcript: Literal["pieces", "whole"] = "pieces"
    audio_mime: str = "audio/pcm;rate=24000"
    model_turn_role: bool = False
    empty_frames: bool = False
    empty_content_first: bool = False
    output_transcript: Literal["separate", "combined", "upfront"] = "separate"
    transcript_opening: bool = False
    transcript_finished: Literal["never", "after_transcript", "after_audio"] = "never"
    thoughts: Literal["always", "when_asked"] = "when_asked"
    grounding_on_turn_complete: bool = False
    usage_names: Literal["response", "candidates"] = "response"
    call_ids: Literal["function-call", "fc", "uuid", "none"] = "function-call"
    split_tool_turn: bool = False
    generation_speedup: float = 3.0
    first_audio_seconds: float = 0.3
    late_interrupt_seconds: float = 0.3
    interaction_status: bool = False
    rules: ServerRules = field(default_factory=ServerRules)

    def call_id_source(self, seed: int) -> Iterator[str]:
        """Function-call ids in this family's format (deterministic per session)."""
        rng = random.Random(seed)
        for _ in itertools.count():
            if self.call_ids == "fc":
                yield f"fc_{rng.randrange(10**18, 10**19)}"
            elif self.call_ids == "uuid":
                yield str(uuid.UUID(int=rng.getrandbits(128), version=4))
            elif self.call_ids == "none":
                yield ""
            else:
                yield f"function-call-{rng.randrange(10**18, 10**20)}"


NATIVE_AUDIO_25 = ServerProfile(
    name="2.5 native audio",
    thoughts="always",
    output_transcript="separate",
    input_transcript="pieces",
    call_ids="function-call",
    rules=ServerRules(seed_must_end_with_user=True),
)

FLASH_LIVE_31 = ServerProfile(
    name="3.1 flash live",
    unasked_handles="mid_reply",
    empty_content_first=True,
    output_transcript="combined",
    input_transcript="whole",
    call_ids="fc",
    rules=ServerRules(
        client_content="initial_history_only",
        history_blocks_realtime=True,
        function_parts_in_history=False,
    ),
)

LIVE_38 = ServerProfile(
    name="3.8 live",
    unasked_handles="after_setup",
    voice_activity=True,
    input_transcript="whole",
    model_turn_role=True,
    empty_frames=True,
    empty_content_first=True,
    output_transcript="combined",
    call_ids="fc",
    rules=ServerRules(
        reply_needs_realtime_input=True,
        function_parts_in_history=False,
        refuse_thinking_level=True,
        refuse_affective_dialog=True,
        proactive_audio_always_on=True,
        audio_only=True,
        default_non_blocking=True,
    ),
)

LIVE_38_EXTENDED_THINKING = replace(
    LIVE_38,
    name="3.8 live extended thinking",
    interaction_status=True,
    rules=replace(
        LIVE_38.rules,
        refuse_thinking_level=False,
        thinking_level_required=True,
        refuse_blocking_declarations=True,
    ),
)

VERTEX_LIVE_25 = ServerProfile(
    name="Vertex 2.5 live",
    endpoint="vertex",
    session_id=True,
    audio_mime="audio/pcm",
    model_turn_role=True,
    output_transcript="upfront",
    transcript_opening=True,
    transcript_finished="after_transcript",
    grounding_on_turn_complete=True,
    usage_names="candidates",
    call_ids="uuid",
    split_tool_turn=True,
)

# No tool call of this model was recorded: its tool turns are assumed unsplit, as on the API.
VERTEX_NATIVE_AUDIO_25 = replace(
    VERTEX_LIVE_25,
    name="Vertex 2.5 native audio",
    transcript_opening=False,
    transcript_finished="after_audio",
    split_tool_turn=False,
)

VERTEX_38 = replace(
    LIVE_38,
    name="Vertex 3.8 live",
    endpoint="vertex",
    session_id=True,
    audio_mime="audio/pcm",
    grounding_on_turn_complete=True,
    usage_names="candidates",
    call_ids="uuid",
    rules=replace(LIVE_38.rules, drop_idless_blocking_responses=True),
)

# Model id -> profile, per endpoint. The ids are the ones Google serves (the recordings use
# two this package's client table did not know: ``-latest`` and Vertex ``gemini-live-2.5-flash``).
_GEMINI_API: dict[str, ServerProfile] = {
    "gemini-3.8-live": LIVE_38,
    "gemini-3.8-live-extended-thinking": LIVE_38_EXTENDED_THINKING,
    "gemini-3.1-flash-live-preview": FLASH_LIVE_31,
    "gemini-2.5-flash-native-audio-preview-12-2025": NATIVE_AUDIO_25,
    "gemini-2.5-flash-native-audio-preview-09-2025": NATIVE_AUDIO_25,
    "gemini-2.5-flash-native-audio-latest": NATIVE_AUDIO_25,
    "gemini-live-2.5-flash-preview": replace(NATIVE_AUDIO_25, name="2.5 live (half-cascade)"),
    "gemini-2.0-flash-live-001": replace(NATIVE_AUDIO_25, name="2.0 live (half-cascade)"),
}
_VERTEX: dict[str, ServerProfile] = {
    "gemini-live-2.5-flash-native-audio": VERTEX_NATIVE_AUDIO_25,
    "gemini-live-2.5-flash-preview-native-audio-09-2025": VERTEX_NATIVE_AUDIO_25,
    "gemini-live-2.5-flash": VERTEX_LIVE_25,
    "gemini-3.8-live": VERTEX_38,
}
KNOWN_MODELS: dict[Endpoint, frozenset[str]] = {
    "gemini-api": frozenset(_GEMINI_API),
    "vertex": frozenset(_VERTEX),
}


def profile_for(model: str, endpoint: Endpoint = "gemini-api") -> ServerProfile | None:
    """The profile of a ``setup.model`` (any prefix), or None for a model Google does not serve
    on that endpoint."""
    model_id = model.rsplit("/", 1)[-1]
    table = _VERTEX if endpoint == "vertex" else _GEMINI_API
    return table.get(model_id)
