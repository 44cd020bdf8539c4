"""The emulator's side of the wire, pure: parse client JSON the way Google's proto3 parser does,
and build server messages the way Google sends them (camelCase, JSON, in binary frames)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_REASON_BYTES = 123
CLIENT_MESSAGES = frozenset(
    {"setup", "realtime_input", "client_content", "tool_response", "context_update"}
)  # the WebSocket limit for a close reason; Google truncates to it

_PATH = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(v1alpha|v1beta|v1)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)$"
    r"|/ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/BidiGenerateContent$"
)


class ClientError(Exception):
    """A client message the real service would refuse; carries the close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = truncate_reason(reason)


def truncate_reason(reason: str) -> str:
    data = reason.encode("utf-8")[:MAX_REASON_BYTES]
    return data.decode("utf-8", "ignore")


def match_path(path: str) -> str | None:
    """The API version for a Live endpoint path (prefix and ``//`` tolerated), else None."""
    match = _PATH.search(urlsplit(path).path)
    if not match:
        return None
    return match.group(1) or f"vertex-{match.group(3)}"


def credential(path: str, headers: Any) -> str | None:
    """The key or token a client presented, from any of the places clients put it."""
    key = headers.get("x-goog-api-key")
    if key:
        return str(key)
    authorization = headers.get("authorization") or ""
    for scheme in ("Token ", "Bearer "):
        if authorization.startswith(scheme):
            return authorization[len(scheme) :].strip()
    query = parse_qs(urlsplit(path).query)
    for name in ("key", "access_token"):
        if query.get(name):
            return query[name][0]
    return None


def snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


# Fields that hold free-form JSON (google.protobuf.Struct / Value): their insides are the
# user's own keys ("cityName" stays "cityName"), which proto3 parsing leaves alone.
_STRUCT_FIELDS = frozenset(
    {"args", "response", "parameters_json_schema", "response_json_schema", "parameters"}
)


def normalise(value: Any) -> Any:
    """Every field name at every level to snake_case (proto3 JSON accepts both spellings),
    except inside free-form JSON fields such as function arguments and responses."""
    if isinstance(value, dict):
        return {
            snake(k): v if snake(k) in _STRUCT_FIELDS else normalise(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def parse_client_message(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ClientError(1007, "Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(message, dict):
        raise ClientError(1007, "Invalid JSON payload received. Expected an object.")
    for key in message:
        if snake(key) not in CLIENT_MESSAGES:
            raise ClientError(
                1007, f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
            )
    return normalise(message)


def without_media(message: dict[str, Any]) -> dict[str, Any]:
    """The message as recorded for tests: media payloads replaced by their encoded length, so a
    long session's record does not grow by its audio."""
    realtime = message.get("realtime_input")
    if not isinstance(realtime, dict):
        return message
    slim = dict(realtime)
    for key in ("audio", "video"):
        if isinstance(slim.get(key), dict) and "data" in slim[key]:
            slim[key] = {**slim[key], "data": len(slim[key]["data"])}
    if isinstance(slim.get("media_chunks"), list):
        slim["media_chunks"] = [
            {**c, "data": len(c.get("data", ""))} if isinstance(c, dict) else c
            for c in slim["media_chunks"]
        ]
    return {**message, "realtime_input": slim}


def decode_bytes(data: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    data = data.replace("-", "+").replace("_", "/")
    data += "=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        raise ClientError(
            1007, "Invalid value at 'data' (TYPE_BYTES), Base64 decoding failed."
        ) from None


def mime_rate(mime_type: str, default: int = 16000) -> int:
    for parameter in mime_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip() == "rate" and value.strip().isdigit():
            return int(value)
    return default


def encode(message: dict[str, Any]) -> bytes:
    """Server messages travel as JSON in binary frames, as Google sends them."""
    return json.dumps(message, separators=(",", ":")).encode()


def audio_message(
    pcm: bytes, *, mime: str = "audio/pcm;rate=24000", role: bool = False, transcript: str = ""
) -> bytes:
    """One chunk of model speech (the hot path: built without ``json.dumps``). ``role`` adds
    ``"role": "model"`` (3.8, Vertex); ``transcript`` rides along as ``outputTranscription``
    (3.x)."""
    data = base64.b64encode(pcm).decode("ascii")
    turn = '{"parts":[{"inlineData":{"mimeType":"' + mime + '","data":"' + data + '"}}]'
    turn += ',"role":"model"}' if role else "}"
    extra = ',"outputTranscription":' + json.dumps({"text": transcript}) if transcript else ""
    return ('{"serverContent":{"modelTurn":' + turn + extra + "}}").encode()


def server_content(**fields: Any) -> bytes:
    return encode({"serverContent": fields})


def duration(seconds: float) -> str:
    """A proto ``Duration`` as Google writes it: ``"5s"``, ``"1.880s"``."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def usage_message(
    prompt: dict[str, int], response: dict[str, int], *, names: str = "response"
) -> dict[str, Any]:
    """Per-turn usage; ``names="candidates"`` spells the response side as Vertex does."""
    prompt_total, response_total = sum(prompt.values()), sum(response.values())
    side = "responseToken" if names == "response" else "candidatesToken"
    return {
        "promptTokenCount": prompt_total,
        f"{side}Count": response_total,
        "totalTokenCount": prompt_total + response_total,
        "promptTokensDetails": [{"modality": m, "tokenCount": n} for m, n in prompt.items() if n],
        f"{side}sDetails": [{"modality": m, "tokenCount": n} for m, n in response.items() if n],
    }


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an image the client sent, or (0, 0) when it is not one."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return (0, 0)


def server_message_record(data: bytes) -> dict[str, Any]:
    """A server message as the emulator records it for tests: media payloads replaced by their
    encoded length."""
    message = json.loads(data)
    for part in ((message.get("serverContent") or {}).get("modelTurn") or {}).get("parts") or []:
        inline = part.get("inlineData")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            inline["data"] = len(inline["data"])
    return message
