"""The same bot two ways: a cascaded STT -> LLM -> TTS pipeline, and one GeminiLiveService.

Everything a bot is made of is shared, unchanged: the system instruction, the ``ToolsSchema``,
the handlers (``register_function``), the ``LLMContext`` and its aggregators. Only the middle of
the pipeline changes::

    cascaded:    input -> STT -> user agg -> LLM -> TTS -> output -> assistant agg
    Gemini Live: input ->        user agg -> GeminiLiveService -> output -> assistant agg

    python examples/migrate_from_cascaded.py              # the Gemini Live bot (offline: emulator)
    python examples/migrate_from_cascaded.py --cascaded   # the cascaded bot (needs Google Cloud
                                                          # credentials and an API key)

The Gemini Live run asks "what's the weather in Paris", the model calls ``get_weather``, the
shared handler answers, and the reply speaks the result; it prints the tool round trip and the
transcript. Without ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` (in the environment or a ``.env``
file) the bundled emulator plays the model, with a scripted call and answer. ``--verbose`` shows
Pipecat's logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from example_support import (
    KeySource,
    api_key,
    api_key_variable,
    log_environment,
    progress,
    start_example,
)

os.environ.update(log_environment(__name__))  # before Pipecat's import, which logs a banner

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndFrame, LLMFullResponseEndFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams, LLMService
from quickstart import DEFAULT_QUESTION, RecordingSpeaker, speak_into, start_pipeline

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.audio import read_wav

# ---------------------------------------------------------------- shared by both pipelines

SYSTEM_INSTRUCTION = (
    "You are a concise travel assistant. Use get_weather for any weather question, "
    "and book_table to reserve restaurants. Answer in one or two sentences."
)

TOOLS = ToolsSchema(
    standard_tools=[
        FunctionSchema(
            name="get_weather",
            description="Current weather for a city.",
            properties={"city": {"type": "string", "description": "City name"}},
            required=["city"],
        ),
        FunctionSchema(
            name="book_table",
            description="Reserve a restaurant table.",
            properties={
                "restaurant": {"type": "string"},
                "people": {"type": "integer"},
                "time": {"type": "string", "description": "HH:MM, 24-hour clock"},
            },
            required=["restaurant", "people", "time"],
        ),
    ]
)

FORECASTS = {"paris": {"sky": "sunny", "celsius": 21}, "oslo": {"sky": "snow", "celsius": -3}}


async def get_weather(params: FunctionCallParams) -> None:
    city = str(params.arguments.get("city", "")).strip().lower()
    forecast = FORECASTS.get(city)
    await params.result_callback(forecast or {"error": f"no forecast for {city or 'that city'}"})


async def book_table(params: FunctionCallParams) -> None:
    args = params.arguments
    await params.result_callback({"confirmed": True, "reference": f"T-{args.get('people', 0)}42"})


def register_tools(llm: LLMService) -> None:
    """The same registration for either LLM service."""
    llm.register_function("get_weather", get_weather)
    llm.register_function("book_table", book_table)


def new_context() -> LLMContext:
    return LLMContext(tools=TOOLS)


# ---------------------------------------------------------------- the two middles


def cascaded_middle(aggregators: LLMContextAggregatorPair) -> list[FrameProcessor]:
    """STT -> LLM -> TTS, here with Google's services (any Pipecat STT/LLM/TTS works)."""
    from pipecat.services.google.llm import GoogleLLMService
    from pipecat.services.google.stt import GoogleSTTService
    from pipecat.services.google.tts import GoogleTTSService

    credentials = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    llm = GoogleLLMService(
        api_key=api_key(),
        settings=GoogleLLMService.Settings(system_instruction=SYSTEM_INSTRUCTION),
    )
    register_tools(llm)
    return [
        GoogleSTTService(credentials_path=credentials),
        aggregators.user(),
        llm,
        GoogleTTSService(credentials_path=credentials),
    ]


def gemini_live_middle(
    aggregators: LLMContextAggregatorPair, endpoint: dict[str, Any]
) -> list[FrameProcessor]:
    """One speech-to-speech stage in place of the three; tools and handlers unchanged."""
    llm = GeminiLiveService(system_instruction=SYSTEM_INSTRUCTION, tools=TOOLS, **endpoint)
    register_tools(llm)
    return [aggregators.user(), llm]


# ---------------------------------------------------------------- running it


class ToolLog(FrameProcessor):
    """Prints each tool result on its way through, and notes the end of each reply."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[tuple[str, Any]] = []
        self.replies = 0
        self.reply_done = asyncio.Event()

    async def process_frame(self, frame: Any, direction: FrameDirection) -> None:
        from pipecat.frames.frames import FunctionCallResultFrame

        await super().process_frame(frame, direction)
        if isinstance(frame, FunctionCallResultFrame):
            self.results.append((frame.function_name, frame.result))
            print(f"  tool {frame.function_name}({frame.arguments}) -> {frame.result}")
        elif isinstance(frame, LLMFullResponseEndFrame):
            self.replies += 1
            self.reply_done.set()
        await self.push_frame(frame, direction)


@contextlib.asynccontextmanager
async def live_endpoint(key: KeySource | None = None) -> AsyncIterator[dict[str, Any]]:
    """Google's Live API with an API key; otherwise the emulator, scripted to use the tool."""
    key = key or KeySource(api_key_variable())
    if key.online:
        print(f"Using Google's Live API: {key.describe()}.")
        yield {}
        return
    from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder, ToolCallSpec

    weather = Reply(
        input_transcript="What's the weather like in Paris today?",
        text="Let me check.",
        tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
        after_tool=Reply(text="It's sunny and twenty-one degrees in Paris."),
    )
    print(f"Offline: {key.describe()}, so the bundled Live API emulator plays Gemini.")
    print("  Its tool call and answer are scripted; the handler that answers the call is real.")
    async with LiveEmulator(
        api_key="test-key", responder=ScriptedResponder([weather]), pace=1.0
    ) as emulator:
        progress(f"  the emulator listens at {emulator.base_url}")
        yield {"api_key": "test-key", "base_url": emulator.base_url}


async def run(
    question: Path, *, cascaded: bool = False, key: KeySource | None = None
) -> tuple[LLMContext, ToolLog]:
    pcm, rate, channels = read_wav(question)
    async with live_endpoint(key) as endpoint:
        context = new_context()
        aggregators = LLMContextAggregatorPair(context)
        middle = (
            cascaded_middle(aggregators) if cascaded else gemini_live_middle(aggregators, endpoint)
        )
        tools, speaker = ToolLog(), RecordingSpeaker()
        pipeline = Pipeline([*middle, tools, speaker, aggregators.assistant()])
        worker, task = await start_pipeline(pipeline, rate)
        seconds = len(pcm) / 2 / channels / rate
        progress(f"Streaming the question ({seconds:.1f} s of audio, in real time)...")
        await speak_into(worker, pcm, rate, channels)
        progress("Waiting for the spoken answer...")
        deadline = time.monotonic() + 30
        while not (tools.results and tools.replies) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        await worker.queue_frame(EndFrame())
        await task
    return context, tools


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cascaded", action="store_true", help="run the STT/LLM/TTS version")
    parser.add_argument("--input", type=Path, default=DEFAULT_QUESTION)
    parser.add_argument("--verbose", action="store_true", help="show Pipecat's logs")
    args = parser.parse_args()
    key = start_example(args.verbose)
    if args.cascaded and not key.online:
        print("The cascaded version needs GOOGLE_API_KEY (or GEMINI_API_KEY) and Google Cloud")
        print("credentials (GOOGLE_APPLICATION_CREDENTIALS); a .env file works for both.")
        return 2
    context, tools = asyncio.run(run(args.input, cascaded=args.cascaded, key=key))
    print("\nContext after the call (the same shape either way)")
    if not key.online:
        print("  (offline: the user's words, the call and the answers are the emulator's script)")
    for message in context.get_messages():
        role = message.get("role")
        body = message.get("content") or message.get("tool_calls")
        print(f"  {role:>9}: {body}")
    return 0 if tools.results else 1


if __name__ == "__main__":
    sys.exit(main())
