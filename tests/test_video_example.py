"""The screen-share example runs offline: 15 fps of screen reach the model as about one image a
second, scaled to 768 px, and the bot answers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import video_screen_share as example


async def test_the_screen_share_reaches_the_model_paced_and_scaled(monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    result = await example.run(seconds=4.0, fps=15.0)
    assert result["frames_captured"] >= 45
    # 1 fps while the user speaks, 0.5 otherwise: a handful, not 60.
    assert 2 <= result["images_received"] <= 8
    assert result["image_sizes"] == [(768, 432)]
    assert "quarterly plan" in result["reply"] and result["reply_seconds"] > 1
