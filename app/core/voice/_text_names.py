"""Names and documentation of the per-utterance text features (the exporter adds ``tx_``).

One view per quantity. Each lexicon or word-class count is exported once, as ``_rate``: per 100
word tokens (jieba words for Chinese, word tokens for English, so rates are comparable within a
language, not across). Why a rate per word and not the count, a per-second rate or a presence
flag: a count grows with the length of the answer (already in ``tokens``), a per-second rate
mixes the word choice with the speaking rate (already in ``syllables_per_s``), a flag throws the
amount away; the share of words is what the verbal-cue literature reports (LIWC percentages;
Newman et al. 2003; Hauch et al. 2015), and it is what the baseline comparison needs, because an
applicant's answers differ in length. The lending-fraud lexicon is the exception: a single slang
term is the signal whatever the answer's length, so it is exported as risk-weighted counts.

Columns that are a fixed function of others were dropped (see ``resources/voice/text_features.tsv``
and ``tests/test_voice_redundancy.py``, which measures it): the count, per-second and present
views; sums of other columns (detail, uncertainty, disfluency, emotion, pronoun and self-reference
rates; the scores rebuild the detail cue from its parts); ratios of two exported rates (I/we,
distancing, hedge-certainty balance, cognitive-detail); quotients of exported columns (words,
characters and timed words per second, articulation rate = 1 / mean word duration, sentences =
tokens / mean sentence length); switches between other columns (``sent_polarity``), complements
(``vader_neu`` = 1 - pos - neg) and flags of another column (``empty``, ``question_flag``).
Counts are 0 for empty text; rates, ratios, sentiment and timing are NaN wherever undefined (no
tokens, no duration, no words, other language).
"""

from __future__ import annotations

from app.core.voice._lexicon import DECEPTION_CATEGORIES, FRAUD_CATEGORIES
from app.core.voice._text_discourse_names import discourse_specs

#: Regex-based number categories.
NUMBER_CATEGORIES: dict[str, str] = {
    "number": "number expressions (digits, Chinese numerals with a unit or classifier, number words)",
    "amount": "money amounts (currency unit such as 元/块/美元/dollars/$, or a 万/亿 magnitude)",
    "percent": "percentages (%, 百分之…, percent)",
}

#: Categories exported as a rate per 100 word tokens.
COUNTED: dict[str, str] = {**DECEPTION_CATEGORIES, **NUMBER_CATEGORIES}

Spec = tuple[str, str, str, str]  # name, category, kind, description


def _counted() -> list[Spec]:
    return [(f"{cat}_rate", cat, "rate_per_100_tokens", f"{desc}, per 100 word tokens") for cat, desc in COUNTED.items()]


def _fraud() -> list[Spec]:
    out: list[Spec] = [
        ("fraud_lexicon_score", "fraud", "score",
         "sum of the risk weights (0-1) of all lending-fraud hits: a risk-weighted count"),
        ("fraud_categories_present", "fraud", "count", "number of fraud categories with at least one hit"),
    ]
    out += [(f"fraud_{cat}_score", f"fraud_{cat}", "score", f"sum of risk weights of hits of {desc}")
            for cat, desc in FRAUD_CATEGORIES.items()]
    return out


_BASIC: list[Spec] = [
    ("lang_zh", "size", "flag", "1 for Mandarin, 0 for English"),
    ("tokens", "size", "count", "word tokens (jieba words / English words and numbers; punctuation excluded)"),
    ("duration_s", "speed", "seconds", "speech duration (given, else the timed-word span)"),
    ("syllables_per_s", "speed", "rate_per_s",
     "syllables per second (speech rate; one per Han character or digit, vowel groups for Latin words)"),
    ("ttr", "lexical", "share", "type-token ratio: distinct word tokens / word tokens"),
    ("mattr", "lexical", "share", "moving-average type-token ratio over 25-token windows (NaN under 25 tokens)"),
    ("hapax_share", "lexical", "share", "share of distinct words used exactly once"),
    ("mean_word_len", "lexical", "length", "mean characters per word token"),
    ("long_word_share", "lexical", "share", "share of long words (English > 6 letters, Chinese >= 3 characters)"),
    ("mean_sentence_len", "syntax", "length", "mean word tokens per sentence"),
    ("max_sentence_len", "syntax", "length", "word tokens in the longest sentence"),
    ("sentence_len_sd", "syntax", "length", "standard deviation of sentence length (NaN under 2 sentences)"),
    ("question_share", "syntax", "share", "share of sentences ending in ?/？ (or, in Chinese, the particle 吗)"),
    ("exclamation_rate", "punctuation", "rate_per_100_tokens", "exclamation marks per 100 word tokens"),
    ("comma_rate", "punctuation", "rate_per_100_tokens", "commas (，,、) per 100 word tokens"),
    ("punct_rate", "punctuation", "rate_per_100_tokens", "punctuation characters per 100 word tokens"),
    ("immediate_repeat_rate", "repetition", "rate_per_100_tokens",
     "word tokens identical to the previous one (我我, the the) per 100 word tokens"),
    ("repeated_bigram_share", "repetition", "share",
     "word bigram occurrences beyond the first of each bigram / number of bigrams"),
    ("latency_s", "response", "seconds", "response latency passed in by the caller (NaN when unknown)"),
]

_SENTIMENT: list[Spec] = [
    ("emo_polarity", "sentiment", "polarity",
     "lexicon valence -1..1: (pos - neg) / (pos + neg) of emotion words, flipped after a nearby negation"),
    ("snownlp_pos", "sentiment", "probability", "SnowNLP positive probability (Chinese only)"),
    ("vader_neg", "sentiment", "share", "VADER negative proportion (English only)"),
    ("vader_pos", "sentiment", "share", "VADER positive proportion (English only)"),
    ("vader_compound", "sentiment", "polarity", "VADER compound score -1..1 (English only)"),
    ("sent_sentence_mean", "sentiment", "polarity", "mean per-sentence polarity"),
    ("sent_sentence_min", "sentiment", "polarity", "most negative sentence polarity"),
    ("sent_sentence_max", "sentiment", "polarity", "most positive sentence polarity"),
    ("sent_sentence_sd", "sentiment", "polarity", "standard deviation of sentence polarity (NaN under 2)"),
    ("sent_neg_share", "sentiment", "share", "share of sentences with polarity < -0.05"),
    ("sent_pos_share", "sentiment", "share", "share of sentences with polarity > 0.05"),
]

_TIMING: list[Spec] = [
    ("word_dur_mean", "timing", "seconds", "mean duration of a timed word"),
    ("word_dur_sd", "timing", "seconds", "standard deviation of word duration (NaN under 2 words)"),
    ("gap_mean", "timing", "seconds", "mean silence between consecutive words"),
    ("gap_max", "timing", "seconds", "longest silence between consecutive words"),
    ("pause_per_min", "timing", "rate_per_min", "silences between words of at least 0.25 s per minute of span"),
    ("long_pause_per_min", "timing", "rate_per_min", "silences between words of at least 1.0 s per minute of span"),
    ("pause_time_share", "timing", "share", "share of the span spent in pauses of at least 0.25 s"),
]

_ZH: list[Spec] = [
    ("zh_han_share", "zh_specific", "share", "Han characters / all letters, digits and Han characters"),
    ("zh_latin_share", "zh_specific", "share", "Latin-alphabet tokens / word tokens (code-switching)"),
    ("zh_traditional_share", "zh_specific", "share", "share of Han characters written in Traditional form"),
    ("zh_particle_rate", "zh_specific", "rate_per_100_tokens",
     "sentence particles 吧 呢 啊 嘛 呀 啦 哦 吗 (modal stance) per 100 word tokens"),
    ("zh_ba_rate", "zh_specific", "rate_per_100_tokens",
     "particle 吧 (soliciting agreement, tentative assertion) per 100 word tokens"),
    ("zh_place_name_rate", "zh_specific", "rate_per_100_tokens", "place names tagged by jieba (ns) per 100 word tokens"),
    ("zh_time_word_rate", "zh_specific", "rate_per_100_tokens", "time words tagged by jieba (t) per 100 word tokens"),
]

_EN: list[Spec] = [
    ("en_contraction_rate", "en_specific", "rate_per_100_tokens", "contractions (don't, I'm, we'll) per 100 word tokens"),
    ("en_article_rate", "en_specific", "rate_per_100_tokens", "articles (a, an, the) per 100 word tokens"),
]

FEATURE_SPECS: tuple[Spec, ...] = tuple(
    _BASIC + _counted() + _fraud() + _SENTIMENT + _TIMING + _ZH + _EN + discourse_specs())

#: Stable names of the text features, in export order (the exporter adds ``tx_``).
TEXT_NAMES: tuple[str, ...] = tuple(s[0] for s in FEATURE_SPECS)
