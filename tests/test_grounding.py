"""Google Search grounding: the native tool reaches setup, and the server's grounding metadata
comes out as Pipecat's LLMSearchResponseFrame with the sources of each part of the answer."""

from __future__ import annotations

from pipecat.services.google.frames import LLMSearchResponseFrame

from pipecat_gemini_live import GeminiLiveService
from pipecat_gemini_live.emulator import LiveEmulator, Reply, ScriptedResponder
from tests.pipeline_kit import running_bot, silence, speech

GROUNDING = {
    "webSearchQueries": ["weather paris today"],
    "searchEntryPoint": {"renderedContent": "<div>weather paris today</div>"},
    "groundingChunks": [
        {"web": {"uri": "https://weather.example/paris", "title": "weather.example"}},
        {"web": {"uri": "https://news.example/fr", "title": "news.example"}},
    ],
    "groundingSupports": [
        {
            "segment": {"startIndex": 0, "endIndex": 26, "text": "It is sunny in Paris today"},
            "groundingChunkIndices": [0],
            "confidenceScores": [0.93],
        }
    ],
}


async def test_search_grounding_becomes_a_search_response_frame():
    reply = Reply(text="It is sunny in Paris today.", grounding=GROUNDING)
    async with LiveEmulator(api_key="test-key", responder=ScriptedResponder([reply])) as emu:
        llm = GeminiLiveService(
            api_key="test-key", base_url=emu.base_url, tools=[{"googleSearch": {}}]
        )
        async with running_bot([llm]) as bot:
            await bot.say(speech(0.6) + silence(0.8))
            await bot.wait_for(lambda: bot.tail.frames(LLMSearchResponseFrame), 10)
        assert {"google_search": {}} in emu.sessions[0].setup["tools"]
    (frame,) = bot.tail.frames(LLMSearchResponseFrame)
    assert frame.search_result == "It is sunny in Paris today."
    assert frame.rendered_content == "<div>weather paris today</div>"
    assert [o.site_uri for o in frame.origins] == [
        "https://weather.example/paris",
        "https://news.example/fr",
    ]
    (result,) = frame.origins[0].results
    assert result.text == "It is sunny in Paris today" and result.confidence == [0.93]
    assert frame.origins[1].results == []
