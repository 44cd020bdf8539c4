"""A bot written for Pipecat's built-in ``GeminiLiveLLMService``, as its examples write one.

tests/test_dropin.py runs this file twice: as it is (the built-in), and with the one import
below changed to ``pipecat_gemini_live.dropin``. Nothing else here may know about this package:
it is the user's file. Shaped like Pipecat's realtime Gemini Live examples (function calling,
Google Search, locally driven turns, video), plus a live settings update and ``http_options``
pointing at a private endpoint, as a user behind a proxy writes it.
"""

from __future__ import annotations

import os

from google.genai.types import HttpOptions
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import LLMRunFrame, LLMUpdateSettingsFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.google.gemini_live.llm import (
    GeminiLiveLLMService,
    GeminiMediaResolution,
    GeminiVADParams,
)
from pipecat.services.llm_service import FunctionCallParams

SYSTEM_INSTRUCTION = """
You are a helpful assistant who can answer questions and use tools.

You have three tools available to you:
1. get_current_weather: Use this tool to get the current weather in a specific location.
2. get_restaurant_recommendation: Use this tool to get a restaurant recommendation.
3. google_search: Use this tool to search the web for information.
""".strip()


async def fetch_weather_from_api(params: FunctionCallParams) -> None:
    temperature = 75 if params.arguments["format"] == "fahrenheit" else 24
    await params.result_callback(
        {"conditions": "nice", "temperature": temperature, "format": params.arguments["format"]}
    )


async def fetch_restaurant_recommendation(params: FunctionCallParams) -> None:
    await params.result_callback({"name": "The Golden Dragon"})


def tools() -> ToolsSchema:
    weather_function = FunctionSchema(
        name="get_current_weather",
        description="Get the current weather",
        properties={
            "location": {
                "type": "string",
                "description": "The city and state, e.g. San Francisco, CA",
            },
            "format": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "description": "The temperature unit to use.",
            },
        },
        required=["location", "format"],
    )
    restaurant_function = FunctionSchema(
        name="get_restaurant_recommendation",
        description="Get a restaurant recommendation",
        properties={
            "location": {
                "type": "string",
                "description": "The city and state, e.g. San Francisco, CA",
            },
        },
        required=["location"],
    )
    search_tool = {"google_search": {}}
    return ToolsSchema(
        standard_tools=[weather_function, restaurant_function],
        custom_tools={AdapterType.GEMINI: [search_tool]},
    )


def build(
    transport_input: FrameProcessor, transport_output: FrameProcessor
) -> tuple[PipelineWorker, GeminiLiveLLMService, LLMContext]:
    llm = GeminiLiveLLMService(
        api_key=os.getenv("GOOGLE_API_KEY"),
        system_instruction=SYSTEM_INSTRUCTION,
        tools=tools(),
        settings=GeminiLiveLLMService.Settings(
            voice="Aoede",
            # Turns are driven by Pipecat's VAD (below), not the server's.
            vad=GeminiVADParams(disabled=True),
            media_resolution=GeminiMediaResolution.LOW,
        ),
        http_options=HttpOptions(base_url=os.getenv("GEMINI_BASE_URL"), api_version="v1beta"),
    )
    llm.register_function("get_current_weather", fetch_weather_from_api)
    llm.register_function("get_restaurant_recommendation", fetch_restaurant_recommendation)

    context = LLMContext([{"role": "user", "content": "Say hello."}])
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
    pipeline = Pipeline(
        [transport_input, user_aggregator, llm, transport_output, assistant_aggregator]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        idle_timeout_secs=None,
    )
    return worker, llm, context


async def on_client_connected(worker: PipelineWorker) -> None:
    await worker.queue_frames([LLMRunFrame()])


async def change_voice(worker: PipelineWorker, voice: str) -> None:
    await worker.queue_frame(
        LLMUpdateSettingsFrame(delta=GeminiLiveLLMService.Settings(voice=voice))
    )
