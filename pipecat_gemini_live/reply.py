"""The bot's side of the conversation as Pipecat frames: each reply bracketed, its audio and
words, its latency, its sources and its cost.

Every ``LLMFullResponseStartFrame`` gets its ``LLMFullResponseEndFrame`` (and every
``TTSStartedFrame`` its ``TTSStoppedFrame``), after a barge-in too, where the End follows the
``InterruptionFrame``: the assistant aggregator has then already recorded the reply as
interrupted and cut to what was heard, and RTVI clients see ``bot-llm-stopped`` for every
``bot-llm-started``. TTFB runs from the end of the user's speech (the last voiced audio sent) to
the first byte of the reply's audio, through Pipecat's metric helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    LLMThoughtEndFrame,
    LLMThoughtStartFrame,
    LLMThoughtTextFrame,
    MetricsFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.services.google.frames import LLMSearchOrigin, LLMSearchResponseFrame, LLMSearchResult

from pipecat_gemini_live.events import (
    AudioChunk,
    GroundingMetadata,
    ModelText,
    OutputTranscript,
    Usage,
)
from pipecat_gemini_live.metrics import SpeechClock, UsageTracker, to_token_usage
from pipecat_gemini_live.pricing import CostLedger, CostMetricsData, TokenPrices

if TYPE_CHECKING:
    from pipecat_gemini_live.service import GeminiLiveService


class ReplyEmitter:
    def __init__(
        self,
        service: GeminiLiveService,
        speech: SpeechClock,
        *,
        model: str,
        prices: TokenPrices | None,
    ) -> None:
        self._service = service
        self._speech = speech
        self._usage = UsageTracker()
        self.ledger = CostLedger(model, prices)
        self._odd_byte = b""
        self._timing = False  # a TTFB measurement is running, to stop at the first audio
        self._grounding: GroundingMetadata | None = None
        self._text = ""

    # ------------------------------------------------------------------ brackets

    async def started(self) -> None:
        speech_end = self._speech.ttfb_start()
        if speech_end is not None:
            await self._service.start_ttfb_metrics(start_time=speech_end)
            self._timing = True
        if not self._service.session_config.text_output:
            await self._service.push_frame(TTSStartedFrame())
        await self._service.push_frame(LLMFullResponseStartFrame())

    async def ended(self) -> None:
        self._odd_byte = b""
        if not self._service.session_config.text_output:
            await self._service.push_frame(TTSStoppedFrame())
        await self._service.push_frame(LLMFullResponseEndFrame())

    async def interrupted(self) -> None:
        """Before the ``InterruptionFrame`` goes out: an answer that never came has no TTFB."""
        if self._timing:
            self._timing = False
            await self._service.cancel_ttfb_metrics()

    # ------------------------------------------------------------------ content

    async def audio(self, event: AudioChunk) -> None:
        """Model speech, in whole PCM16 samples (a byte left over waits for the next chunk)."""
        if self._timing:
            self._timing = False
            await self._service.stop_ttfb_metrics()
        audio = event.data
        if self._odd_byte or len(audio) % 2:  # rare: the server split a sample
            audio = self._odd_byte + audio
            self._odd_byte = audio[len(audio) - len(audio) % 2 :]
            audio = audio[: len(audio) - len(audio) % 2]
        if audio:
            await self._service.push_frame(
                TTSAudioRawFrame(audio=audio, sample_rate=event.sample_rate, num_channels=1)
            )

    async def words(self, event: OutputTranscript) -> None:
        """What the bot says: ``TTSTextFrame`` for the context (the output transport releases it
        as the audio plays) and ``LLMTextFrame`` for RTVI's bot-llm-text (not appended)."""
        text_frame = LLMTextFrame(event.text)
        text_frame.append_to_context = False
        await self._service.push_frame(text_frame)
        self._text += event.text
        spoken = TTSTextFrame(event.text, text_type="sentence")
        spoken.includes_inter_frame_spaces = True
        await self._service.push_frame(spoken)

    async def text(self, event: ModelText) -> None:
        """A reply in TEXT modality."""
        await self._service.push_frame(LLMTextFrame(event.text))

    async def thought(self, event: ModelText) -> None:
        await self._service.push_frame(LLMThoughtStartFrame())
        await self._service.push_frame(LLMThoughtTextFrame(event.text))
        await self._service.push_frame(LLMThoughtEndFrame())

    def grounding(self, event: GroundingMetadata) -> None:
        self._grounding = event  # the latest is the fullest; sent with the turn

    def usage_seen(self, event: Usage) -> None:
        self._usage.observe(event)

    # ------------------------------------------------------------------ the turn's end

    async def turn_complete(self) -> None:
        """Google Search grounding as Pipecat's ``LLMSearchResponseFrame`` (what the bot said,
        and the sources each part of it rests on), then the turn's usage and cost."""
        grounding, self._grounding = self._grounding, None
        text, self._text = self._text.strip(), ""
        if grounding is not None:
            await self._service.push_frame(search_response(grounding, text))
        usage = self._usage.end_turn()
        if usage is None:
            return
        report = self.ledger.add(usage)
        service = self._service
        await service.start_llm_usage_metrics(to_token_usage(usage))
        turn_cost, call_cost = report.turn_cost_usd, report.session_cost_usd
        if turn_cost is not None and call_cost is not None and service.usage_metrics_enabled:
            cost = CostMetricsData(
                processor=service.name,
                model=service.session_config.model,
                value=turn_cost,
                session_value=call_cost,
            )
            await service.push_frame(MetricsFrame(data=[cost]))
        await service._call_event_handler("on_usage", report)


def search_response(grounding: GroundingMetadata, reply_text: str) -> LLMSearchResponseFrame:
    """Grounding -> Pipecat's ``LLMSearchResponseFrame``: each source with the parts of the
    answer it supports."""
    origins = [LLMSearchOrigin(site_uri=s.uri, site_title=s.title) for s in grounding.sources]
    for support in grounding.supports:
        for index in support.source_indices:
            if 0 <= index < len(origins):
                origins[index].results.append(
                    LLMSearchResult(text=support.text, confidence=list(support.confidence))
                )
    return LLMSearchResponseFrame(
        search_result=reply_text or None,
        rendered_content=grounding.rendered_content,
        origins=origins,
    )
