"""What a call costs: token usage by modality, priced from a table the user can override.

Live API usage comes per model turn with a breakdown by modality (text, audio, image/video) on
both sides. Audio is by far the dearest part (about 25 tokens per second each way), so a cost
estimate that ignores the breakdown is off several times over. The default prices are Google's
published list prices in US dollars per million tokens as known to this package; pass your own
:class:`TokenPrices` (``GeminiLiveService(prices=...)``) for your contract or a newer model.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.metrics.metrics import MetricsData

from pipecat_gemini_live.events import Usage


@dataclass(frozen=True)
class TokenPrices:
    """US dollars per million tokens, per direction and modality."""

    text_in: float
    audio_in: float
    image_in: float
    text_out: float
    audio_out: float
    cached_in: float | None = None  # defaults to the uncached rate of the modality
    source: str = ""

    def cost(self, usage: Usage) -> float:
        """Dollars for one turn's usage. Tokens the breakdown leaves unassigned are priced as
        text (the cheapest), and thinking tokens as text output."""
        audio_in = usage.prompt_tokens_for("AUDIO")
        image_in = usage.prompt_tokens_for("IMAGE") + usage.prompt_tokens_for("VIDEO")
        text_in = max(0, usage.prompt_tokens - audio_in - image_in)
        audio_out = usage.response_tokens_for("AUDIO")
        text_out = max(0, usage.response_tokens - audio_out) + usage.thoughts_tokens
        dollars = (
            text_in * self.text_in
            + audio_in * self.audio_in
            + image_in * self.image_in
            + text_out * self.text_out
            + audio_out * self.audio_out
        )
        if usage.cached_tokens and self.cached_in is not None:
            # Cached input is billed at the cached rate instead of the (text) input rate.
            dollars -= usage.cached_tokens * (self.text_in - self.cached_in)
        return max(0.0, dollars) / 1_000_000


_LIVE_25 = TokenPrices(
    text_in=0.50,
    audio_in=3.00,
    image_in=3.00,
    text_out=2.00,
    audio_out=12.00,
    source="Gemini 2.5 Flash Live list prices (USD per 1M tokens)",
)

PRICES: dict[str, TokenPrices] = {
    "gemini-2.5-flash-native-audio-preview-12-2025": _LIVE_25,
    "gemini-2.5-flash-native-audio-preview-09-2025": _LIVE_25,
    "gemini-live-2.5-flash-native-audio": _LIVE_25,
    "gemini-live-2.5-flash-preview-native-audio-09-2025": _LIVE_25,
    # 3.x: published per minute (about $0.005 in, $0.018 out), which is the 2.5 token rates at
    # 25 audio tokens per second; secondary sources, so check against your invoice.
    "gemini-3.1-flash-live-preview": _LIVE_25,
    "gemini-3.8-live": _LIVE_25,
    "gemini-3.8-live-extended-thinking": _LIVE_25,
}


def prices_for(model: str) -> TokenPrices | None:
    return PRICES.get(model.removeprefix("models/"))


@dataclass(frozen=True)
class UsageReport:
    """One model turn's usage and cost, with the running totals of the call.

    Sent with the service's ``on_usage`` event after every turn that reported usage.
    """

    model: str
    turn: Usage
    turn_cost_usd: float | None
    session_prompt_tokens: int
    session_response_tokens: int
    session_total_tokens: int
    session_audio_in_tokens: int
    session_audio_out_tokens: int
    session_cost_usd: float | None
    turns: int


class CostMetricsData(MetricsData):
    """Estimated cost in US dollars, as a Pipecat metric: ``value`` for the turn,
    ``session_value`` for the call so far."""

    value: float
    session_value: float


@dataclass
class CostLedger:
    """Running totals for one call (a logical session, across reconnects)."""

    model: str
    prices: TokenPrices | None
    turns: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0
    audio_in_tokens: int = 0
    audio_out_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, usage: Usage) -> UsageReport:
        self.turns += 1
        self.prompt_tokens += usage.prompt_tokens
        self.response_tokens += usage.response_tokens
        self.total_tokens += usage.total_tokens or usage.prompt_tokens + usage.response_tokens
        self.audio_in_tokens += usage.prompt_tokens_for("AUDIO")
        self.audio_out_tokens += usage.response_tokens_for("AUDIO")
        turn_cost = self.prices.cost(usage) if self.prices else None
        if turn_cost is not None:
            self.cost_usd += turn_cost
        return UsageReport(
            model=self.model,
            turn=usage,
            turn_cost_usd=turn_cost,
            session_prompt_tokens=self.prompt_tokens,
            session_response_tokens=self.response_tokens,
            session_total_tokens=self.total_tokens,
            session_audio_in_tokens=self.audio_in_tokens,
            session_audio_out_tokens=self.audio_out_tokens,
            session_cost_usd=self.cost_usd if self.prices else None,
            turns=self.turns,
        )
