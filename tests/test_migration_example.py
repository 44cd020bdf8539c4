"""The migration example runs offline: the cascaded bot's tools, handlers and context, unchanged,
drive a Gemini Live call against the emulator, and the context comes out in the same shape."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import migrate_from_cascaded as example  # noqa: E402


async def test_the_same_tools_handlers_and_context_work_with_gemini_live(monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    context, tools = await example.run(example.DEFAULT_QUESTION)
    assert tools.results == [("get_weather", {"sky": "sunny", "celsius": 21})]
    roles = [(m["role"], "tool_calls" in m) for m in context.get_messages() if isinstance(m, dict)]
    # The user's words first, then the call, its result, and the spoken answer.
    assert roles == [("user", False), ("assistant", True), ("tool", False), ("assistant", False)]
    assert "sunny" in context.get_messages()[-1]["content"]


def test_both_pipelines_declare_the_same_tools():
    from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

    from pipecat_gemini_live import GeminiLiveService

    pair = LLMContextAggregatorPair(example.new_context())
    _, live = example.gemini_live_middle(pair, {"api_key": "k", "base_url": "ws://127.0.0.1:1"})
    assert isinstance(live, GeminiLiveService)
    declared = [d["name"] for d in live.session_config.tools[0]["functionDeclarations"]]
    assert declared == [t.name for t in example.TOOLS.standard_tools]
    assert live.has_function("get_weather") and live.has_function("book_table")


@pytest.mark.skipif(
    not (os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY")),
    reason="the cascade needs Google keys",
)
def test_the_cascaded_pipeline_builds_with_the_same_handlers():  # pragma: no cover - needs keys
    from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

    middle = example.cascaded_middle(LLMContextAggregatorPair(example.new_context()))
    assert middle[2].has_function("get_weather")
