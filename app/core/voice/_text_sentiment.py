"""Sentiment of a transcript: VADER for English, SnowNLP plus a lexicon valence for Chinese.

VADER (Hutto & Gilbert 2014) is rule-based, handles negation and intensifiers, and works on short
spoken English. SnowNLP's sentiment model was trained on Chinese product reviews and is unreliable
on spoken narratives: it scores 我很难过，生活太糟糕了，压力特别大，非常痛苦。 at 0.98
positive. Its probability is kept as a feature, but Chinese headline polarity comes from the emotion words of
``deception_zh.tsv`` (with a negation just before an emotion word flipping it), and falls back to
SnowNLP only when no emotion word occurs. Both models ship their data inside their wheels; nothing
is downloaded.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from app.core.voice._lexicon import Hit
from app.core.voice._text_segment import Token

NEUTRAL_BAND = 0.05
NEGATION_WINDOW = 3  # word tokens before an emotion word in which a negation flips it

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def _vader() -> Any:
    with _LOCK:
        if "vader" not in _MODELS:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _MODELS["vader"] = SentimentIntensityAnalyzer()
        return _MODELS["vader"]


def vader_scores(text: str) -> dict[str, float]:
    """VADER ``neg``, ``neu``, ``pos`` and ``compound`` of English text."""
    return {k: float(v) for k, v in _vader().polarity_scores(text).items()}


def snownlp_positive(words: list[str]) -> float:
    """SnowNLP's probability that Chinese words are positive (NaN when none has a Han character).

    SnowNLP's naive-Bayes sentiment model is applied to the jieba words, after SnowNLP's own
    stop-word filter: the same model as ``SnowNLP(text).sentiments``, without its character-HMM
    segmenter, which costs about 20 ms a sentence and segments much like jieba.
    """
    if not any("\u4e00" <= c <= "\u9fff" for w in words for c in w):
        return math.nan
    with _LOCK:
        if "snownlp" not in _MODELS:
            from snownlp import normal, sentiment

            _MODELS["snownlp"] = (normal.filter_stop, sentiment.classifier.classifier)
        filter_stop, bayes = _MODELS["snownlp"]
    kept = filter_stop(words)
    if not kept:
        return math.nan
    label, prob = bayes.classify(kept)
    return float(prob if label == "pos" else 1.0 - prob)


def emotion_polarity(hits: list[Hit], tokens: list[Token], norm: str) -> float:
    """Lexicon valence in -1..1 of the emotion hits, NaN when there is none.

    Each positive word counts +1 and each negative word -1; a negation hit ending within
    ``NEGATION_WINDOW`` word tokens before it, in the same clause, flips the sign (不太开心 is
    negative, 不难过 positive). Overlapping emotion hits keep the longest (不开心 over 开心).

    Parameters
    ----------
    hits : list of Hit
        All lexicon hits of the text.
    tokens : list of Token
        Its tokens.
    norm : str
        The normalised text (for clause breaks).

    Returns
    -------
    float
    """
    emo = sorted((h for h in hits if h.entry.category in ("emotion_pos", "emotion_neg")),
                 key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    for h in emo:
        if not kept or h.start >= kept[-1].end:
            kept.append(h)
    if not kept:
        return math.nan
    negs = [h for h in hits if h.entry.category == "negation"]
    words = [t for t in tokens if t.word]
    total = 0.0
    for h in kept:
        sign = 1.0 if h.entry.category == "emotion_pos" else -1.0
        before = [t for t in words if t.end <= h.start][-NEGATION_WINDOW:]
        lo = before[0].start if before else h.start
        for n in negs:
            if lo <= n.start and n.end <= h.start and not any(c in ",，。.!?！？;；" for c in norm[n.end:h.start]):
                sign = -sign
                break
        total += sign
    return total / len(kept)


def sentence_polarity(text: str, words: list[str], lang: str, emo: float) -> float:
    """Polarity of one sentence: VADER compound (en); lexicon valence, else 2*SnowNLP-1 (zh)."""
    if lang == "en":
        return vader_scores(text)["compound"] if text.strip() else math.nan
    if math.isfinite(emo):
        return emo
    p = snownlp_positive(words)
    return 2.0 * p - 1.0 if math.isfinite(p) else math.nan
