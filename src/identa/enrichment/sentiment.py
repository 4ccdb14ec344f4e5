"""Sentiment of a text with VADER (vaderSentiment ships its lexicon): compound score in [-1, 1]."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Score:
    compound: float
    positive: float
    neutral: float
    negative: float


class SentimentScorer:
    """Loads the lexicon on first use (about 30 ms), then scores in microseconds."""

    def __init__(self) -> None:
        self._analyzer: Any = None
        self._lock = threading.Lock()

    def score(self, text: str) -> Score:
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
                        SentimentIntensityAnalyzer,
                    )

                    self._analyzer = SentimentIntensityAnalyzer()
        scores = self._analyzer.polarity_scores(text)
        return Score(
            compound=float(scores["compound"]),
            positive=float(scores["pos"]),
            neutral=float(scores["neu"]),
            negative=float(scores["neg"]),
        )
