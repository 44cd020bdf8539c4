"""Pipecat context messages -> Live API ``Content`` turns (pure, no I/O).

An ``LLMContext`` holds OpenAI-style messages: text, images as data URLs, assistant
``tool_calls`` and ``tool`` results, plus Pipecat's async-tool bookkeeping messages. The Live
API wants ``{"role": "user"|"model", "parts": [...]}`` with ``functionCall`` and
``functionResponse`` parts. The system prompt is not a turn: it travels in ``setup``; any
other system or developer message is told to the model as a user turn.
"""

from __future__ import annotations

import json
from typing import Any

from loguru import logger
from pipecat.processors.aggregators import async_tool_messages

SYSTEM_ROLES = ("system", "developer")


def split_instruction(messages: list[Any], configured: str | None) -> tuple[str | None, list[Any]]:
    """The system instruction and the messages that are conversation, by Pipecat's rule for
    Gemini (its adapters): the configured instruction wins, and an initial ``system`` message
    is then dropped; without one, an initial ``system`` message is the instruction (unless it
    is the only message). Every other ``system`` or ``developer`` message, an initial
    ``developer`` one included ("Please introduce yourself"), is a user turn."""
    first = messages[0] if messages else None
    initial_system = (
        isinstance(first, dict)
        and first.get("role") == "system"
        and isinstance(first.get("content"), str)
        and async_tool_messages.parse_message(first) is None  # type: ignore[arg-type]
        and len(messages) > 1
    )
    if not initial_system:
        return configured, list(messages)
    assert isinstance(first, dict)
    return configured or first["content"], list(messages[1:])


def conversation_turns(messages: list[Any], *, function_parts: bool = True) -> list[dict[str, Any]]:
    """The conversation as ``clientContent`` turns, in order, consecutive same-role turns kept
    apart (the model reads them as they happened).

    ``function_parts=False``: tool calls and their results are told as text ("called X with
    ..."), for models that refuse ``functionCall``/``functionResponse`` parts in history.
    """
    names: dict[str, str] = {}  # tool_call_id -> function name, for the responses
    turns: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue  # provider-specific messages for other LLMs
        role = message.get("role")
        async_payload = async_tool_messages.parse_message(message)  # type: ignore[arg-type]
        if async_payload is not None:
            turn = _async_tool_turn(async_payload, names)
        elif role in ("user", "assistant", "model", *SYSTEM_ROLES):
            turn = _content_turn(message, names)
        elif role == "tool":
            turn = _tool_result_turn(message, names)
        else:
            turn = None
        if turn is not None:
            turns.append(turn if function_parts else _as_text(turn))
    return turns


def _as_text(turn: dict[str, Any]) -> dict[str, Any]:
    """A turn whose function parts are written out as text, for models that take only text."""
    parts: list[dict[str, Any]] = []
    for part in turn["parts"]:
        if "functionCall" in part:
            call = part["functionCall"]
            args = json.dumps(call.get("args") or {}, ensure_ascii=False)
            parts.append({"text": f"[Called function {call['name']} with arguments {args}]"})
        elif "functionResponse" in part:
            response = part["functionResponse"]
            result = json.dumps(response.get("response"), ensure_ascii=False, default=str)
            parts.append({"text": f"[Function {response['name']} returned {result}]"})
        else:
            parts.append(part)
    return {**turn, "parts": parts}


def message_text(message: dict[str, Any]) -> str:
    """The text of a message's content (string, or the text parts of a list), joined."""
    return " ".join(part["text"] for part in _parts(message.get("content")) if "text" in part)


def _content_turn(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any] | None:
    parts = _parts(message.get("content"))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        names[str(call.get("id"))] = name
        part: dict[str, Any] = {"name": name, "args": _json_object(function.get("arguments"))}
        if call.get("id"):
            part["id"] = call["id"]
        parts.append({"functionCall": part})
    if not parts:
        return None
    role = "model" if message.get("role") in ("assistant", "model") else "user"
    return {"role": role, "parts": parts}


def _tool_result_turn(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any] | None:
    call_id = str(message.get("tool_call_id") or "")
    return _function_response_turn(call_id, names.get(call_id, ""), message.get("content"))


def _async_tool_turn(payload: Any, names: dict[str, str]) -> dict[str, Any] | None:
    """A finished async tool is the call's response; started/intermediate notices are not."""
    if payload.kind != "final":
        return None
    call_id = str(payload.tool_call_id)
    return _function_response_turn(call_id, names.get(call_id, ""), payload.result)


def _function_response_turn(call_id: str, name: str, content: Any) -> dict[str, Any] | None:
    if not name:
        return None  # a result whose call is not in the history means nothing to the model
    result = _json_value(content)
    response = result if isinstance(result, dict) else {"result": result}
    part: dict[str, Any] = {"name": name, "response": response}
    if call_id:
        part["id"] = call_id
    return {"role": "user", "parts": [{"functionResponse": part}]}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for item in content if isinstance(content, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text" and item.get("text"):
            parts.append({"text": item["text"]})
        elif item.get("type") == "image_url":
            image = _inline_image((item.get("image_url") or {}).get("url", ""))
            if image is not None:
                parts.append(image)
    return parts


def _inline_image(url: str) -> dict[str, Any] | None:
    """``data:image/jpeg;base64,...`` -> an ``inlineData`` part (remote URLs cannot be sent)."""
    header, _, data = url.partition(",")
    if not header.startswith("data:") or ";base64" not in header or not data:
        logger.warning(
            f"An image in the context is not an inline base64 data URL ({url[:40]!r}...); "
            "the Live API takes images inline, so this one is not sent."
        )
        return None
    mime_type = header[len("data:") :].split(";")[0] or "image/jpeg"
    return {"inlineData": {"mimeType": mime_type, "data": data}}


def _json_value(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            return content
    return content


def _json_object(arguments: Any) -> dict[str, Any]:
    value = _json_value(arguments)
    return value if isinstance(value, dict) else {}
