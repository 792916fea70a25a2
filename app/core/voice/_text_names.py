"""Names and documentation of the per-utterance text features (the exporter adds ``tx_``).

Conventions: ``_count`` is a count in the utterance; ``_rate`` is per 100 word tokens (jieba words
for Chinese, word tokens for English, so rates are comparable within a language, not across);
``_per_s`` is per second of the utterance (its duration, else the span of its timed words);
``_present`` is 1.0 when the count is above zero. Counts are 0 for empty text; rates, ratios,
sentiment and timing are NaN wherever undefined (no tokens, no duration, no words, other language).
"""

from __future__ import annotations

from app.core.voice._lexicon import DECEPTION_CATEGORIES, FRAUD_CATEGORIES

#: Regex-based number categories.
NUMBER_CATEGORIES: dict[str, str] = {
    "number": "number expressions (digits, Chinese numerals with a unit or classifier, number words)",
    "amount": "money amounts (currency unit such as 元/块/美元/dollars/$, or a 万/亿 magnitude)",
    "percent": "percentages (%, 百分之…, percent)",
}

#: Categories that get count, rate, per-second and present features.
COUNTED: dict[str, str] = {**DECEPTION_CATEGORIES, **NUMBER_CATEGORIES}

Spec = tuple[str, str, str, str]  # name, category, kind, description


def _counted() -> list[Spec]:
    out: list[Spec] = []
    for cat, desc in COUNTED.items():
        out += [(f"{cat}_count", cat, "count", f"number of {desc}"),
                (f"{cat}_rate", cat, "rate_per_100_tokens", f"{cat} count per 100 word tokens"),
                (f"{cat}_per_s", cat, "rate_per_s", f"{cat} count per second of speech"),
                (f"{cat}_present", cat, "flag", f"1 when any {cat} item occurs, else 0")]
    return out


def _fraud() -> list[Spec]:
    out: list[Spec] = [
        ("fraud_count", "fraud", "count", "lending-fraud lexicon hits (all categories)"),
        ("fraud_lexicon_score", "fraud", "score",
         "sum of the risk weights (0-1) of all lending-fraud hits: a risk-weighted count"),
        ("fraud_noisy_or", "fraud", "probability",
         "1 - prod(1 - weight) over fraud hits: chance-like 0-1 summary of the weighted hits"),
        ("fraud_max_weight", "fraud", "score", "largest risk weight among fraud hits (0 when none)"),
        ("fraud_rate", "fraud", "rate_per_100_tokens", "fraud hits per 100 word tokens"),
        ("fraud_score_rate", "fraud", "rate_per_100_tokens", "fraud_lexicon_score per 100 word tokens"),
        ("fraud_distinct_terms", "fraud", "count", "distinct fraud terms that fired"),
        ("fraud_strong_count", "fraud", "count", "fraud hits with risk weight >= 0.7"),
        ("fraud_categories_present", "fraud", "count", "number of fraud categories with at least one hit"),
    ]
    for cat, desc in FRAUD_CATEGORIES.items():
        out += [(f"fraud_{cat}_count", f"fraud_{cat}", "count", f"hits of {desc}"),
                (f"fraud_{cat}_score", f"fraud_{cat}", "score", f"sum of risk weights of fraud_{cat} hits"),
                (f"fraud_{cat}_rate", f"fraud_{cat}", "rate_per_100_tokens", f"fraud_{cat} hits per 100 word tokens"),
                (f"fraud_{cat}_present", f"fraud_{cat}", "flag", f"1 when any fraud_{cat} term occurs")]
    return out


_BASIC: list[Spec] = [
    ("empty", "size", "flag", "1 when the text has no word token"),
    ("lang_zh", "size", "flag", "1 for Mandarin, 0 for English"),
    ("tokens", "size", "count", "word tokens (jieba words / English words and numbers; punctuation excluded)"),
    ("chars", "size", "count", "letters, digits and Han characters"),
    ("syllables", "size", "count", "syllables: one per Han character or digit, vowel groups for Latin words"),
    ("sentences", "size", "count", "sentences (split at 。！？!?；; … . and line breaks)"),
    ("duration_s", "speed", "seconds", "speech duration used for per-second rates (given, else timed-word span)"),
    ("words_per_s", "speed", "rate_per_s", "word tokens per second"),
    ("chars_per_s", "speed", "rate_per_s", "characters per second"),
    ("syllables_per_s", "speed", "rate_per_s", "syllables per second (speech rate)"),
    ("ttr", "lexical", "share", "type-token ratio: distinct word tokens / word tokens"),
    ("mattr", "lexical", "share", "moving-average type-token ratio over 25-token windows (NaN under 25 tokens)"),
    ("hapax_share", "lexical", "share", "share of distinct words used exactly once"),
    ("mean_word_len", "lexical", "length", "mean characters per word token"),
    ("long_word_share", "lexical", "share", "share of long words (English > 6 letters, Chinese >= 3 characters)"),
    ("mean_sentence_len", "syntax", "length", "mean word tokens per sentence"),
    ("max_sentence_len", "syntax", "length", "word tokens in the longest sentence"),
    ("sentence_len_sd", "syntax", "length", "standard deviation of sentence length (NaN under 2 sentences)"),
    ("question_count", "syntax", "count", "sentences ending in ?/？ (or, in Chinese, the particle 吗)"),
    ("question_flag", "syntax", "flag", "1 when the utterance contains a question"),
    ("exclamation_count", "punctuation", "count", "exclamation marks"),
    ("comma_count", "punctuation", "count", "commas (，,、)"),
    ("period_count", "punctuation", "count", "full stops (。.)"),
    ("ellipsis_count", "punctuation", "count", "ellipses (… or ...)"),
    ("punct_count", "punctuation", "count", "punctuation characters"),
    ("punct_rate", "punctuation", "rate_per_100_tokens", "punctuation characters per 100 word tokens"),
    ("immediate_repeat_count", "repetition", "count", "word tokens identical to the previous one (我我, the the)"),
    ("immediate_repeat_rate", "repetition", "rate_per_100_tokens", "immediate repeats per 100 word tokens"),
    ("repeated_bigram_count", "repetition", "count", "word bigram occurrences beyond the first of each bigram"),
    ("repeated_bigram_share", "repetition", "share", "repeated_bigram_count / number of bigrams"),
    ("latency_s", "response", "seconds", "response latency passed in by the caller (NaN when unknown)"),
]

_COMPOSITE: list[Spec] = [
    ("detail_count", "composite", "count", "reality-monitoring detail: temporal + spatial + perceptual + number"),
    ("detail_rate", "composite", "rate_per_100_tokens", "detail_count per 100 word tokens"),
    ("detail_per_s", "composite", "rate_per_s", "detail_count per second"),
    ("uncertainty_count", "composite", "count", "hedge + evasion"),
    ("uncertainty_rate", "composite", "rate_per_100_tokens", "uncertainty_count per 100 word tokens"),
    ("disfluency_count", "composite", "count", "filler + self_correction + immediate repeats"),
    ("disfluency_rate", "composite", "rate_per_100_tokens", "disfluency_count per 100 word tokens"),
    ("disfluency_per_s", "composite", "rate_per_s", "disfluency_count per second"),
    ("pronoun_rate", "composite", "rate_per_100_tokens",
     "person references (first, second and third person / distancing) per 100 word tokens"),
    ("self_reference_rate", "composite", "rate_per_100_tokens", "first person singular + plural per 100 word tokens"),
    ("i_we_ratio", "composite", "ratio", "first_singular / (first_singular + first_plural); NaN when both 0"),
    ("distancing_ratio", "composite", "ratio", "distancing / (distancing + first_singular); NaN when both 0"),
    ("hedge_certainty_balance", "composite", "ratio",
     "(hedge - certainty) / (hedge + certainty), -1 all certainty to +1 all hedge; NaN when both 0"),
    ("cognitive_detail_ratio", "composite", "ratio",
     "cognitive / (cognitive + detail): cognitive operations versus perceptual detail; NaN when both 0"),
    ("emotion_rate", "composite", "rate_per_100_tokens", "positive + negative emotion words per 100 word tokens"),
]

_SENTIMENT: list[Spec] = [
    ("sent_polarity", "sentiment", "polarity",
     "headline polarity -1..1: English VADER compound; Chinese emo_polarity, else 2*snownlp_pos-1"),
    ("emo_polarity", "sentiment", "polarity",
     "lexicon valence -1..1: (pos - neg) / (pos + neg) of emotion words, flipped after a nearby negation"),
    ("snownlp_pos", "sentiment", "probability", "SnowNLP positive probability (Chinese only)"),
    ("vader_neg", "sentiment", "share", "VADER negative proportion (English only)"),
    ("vader_neu", "sentiment", "share", "VADER neutral proportion (English only)"),
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
    ("timed_words", "timing", "count", "ASR words with valid start/end times"),
    ("speech_span_s", "timing", "seconds", "first word start to last word end"),
    ("timed_words_per_s", "timing", "rate_per_s", "timed words per second of span"),
    ("articulation_rate", "timing", "rate_per_s", "timed words per second of voiced word time (pauses excluded)"),
    ("word_dur_mean", "timing", "seconds", "mean duration of a timed word"),
    ("word_dur_sd", "timing", "seconds", "standard deviation of word duration (NaN under 2 words)"),
    ("gap_mean", "timing", "seconds", "mean silence between consecutive words"),
    ("gap_max", "timing", "seconds", "longest silence between consecutive words"),
    ("pause_count", "timing", "count", "silences between words of at least 0.25 s"),
    ("long_pause_count", "timing", "count", "silences between words of at least 1.0 s"),
    ("pause_time_share", "timing", "share", "share of the span spent in pauses of at least 0.25 s"),
    ("pause_per_min", "timing", "rate_per_min", "pauses of at least 0.25 s per minute of span"),
]

_ZH: list[Spec] = [
    ("zh_han_share", "zh_specific", "share", "Han characters / all letters, digits and Han characters"),
    ("zh_latin_tokens", "zh_specific", "count", "Latin-alphabet tokens in Chinese speech (code-switching)"),
    ("zh_latin_share", "zh_specific", "share", "Latin tokens / word tokens"),
    ("zh_traditional_share", "zh_specific", "share", "share of Han characters written in Traditional form"),
    ("zh_particle_count", "zh_specific", "count", "sentence particles 吧 呢 啊 嘛 呀 啦 哦 吗 (modal stance)"),
    ("zh_particle_rate", "zh_specific", "rate_per_100_tokens", "sentence particles per 100 word tokens"),
    ("zh_ba_count", "zh_specific", "count", "particle 吧: soliciting agreement, tentative assertion"),
    ("zh_place_names", "zh_specific", "count", "place names tagged by jieba (ns)"),
    ("zh_person_names", "zh_specific", "count", "person names tagged by jieba (nr)"),
    ("zh_time_words", "zh_specific", "count", "time words tagged by jieba (t)"),
]

_EN: list[Spec] = [
    ("en_contraction_count", "en_specific", "count", "contractions (don't, I'm, we'll)"),
    ("en_contraction_rate", "en_specific", "rate_per_100_tokens", "contractions per 100 word tokens"),
    ("en_modal_count", "en_specific", "count",
     "modal verbs (can, could, may, might, must, shall, should, will, would, and negated forms)"),
    ("en_modal_rate", "en_specific", "rate_per_100_tokens", "modal verbs per 100 word tokens"),
    ("en_article_rate", "en_specific", "rate_per_100_tokens", "articles (a, an, the) per 100 word tokens"),
    ("en_capitalized_count", "en_specific", "count",
     "capitalised words not starting a sentence (other than I): a proxy for names and places"),
]

FEATURE_SPECS: tuple[Spec, ...] = tuple(
    _BASIC + _counted() + _COMPOSITE + _fraud() + _SENTIMENT + _TIMING + _ZH + _EN)

#: Stable names of the text features, in export order (the exporter adds ``tx_``).
TEXT_NAMES: tuple[str, ...] = tuple(s[0] for s in FEATURE_SPECS)
