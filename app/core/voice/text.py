"""Text features of one utterance's transcript (Mandarin or English), and the words behind them.

:func:`text_features` measures what the literature on verbal deception cues and on lending fraud
looks at: hedging and over-assurance, negation, self- versus other-reference, reality-monitoring
detail (time, place, perception, numbers), fillers and self-repairs, evasive non-answers,
sentiment, fluency and timing, plus a risk-weighted count of lending-fraud slang (撸口子, 包装流水,
"fake bank statements"). :func:`lexicon_hits` lists the matched terms with their meaning and source,
as the evidence a reviewer sees. None of these is a lie detector: they are cues to compare with the
applicant's own baseline answers (see :mod:`app.core.voice.scoring`).

Lexicons live in ``resources/lexicons/`` (see its README.md and :mod:`app.core.voice._lexicon`);
the names are documented in ``resources/voice/text_features.tsv`` (:func:`write_feature_table`)
and :mod:`app.core.voice._text_names`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.core.voice import _lexicon
from app.core.voice import _text_sentiment as senti
from app.core.voice._lexicon import FRAUD_CATEGORIES, Hit
from app.core.voice._text_discourse import discourse_features
from app.core.voice._text_names import COUNTED, FEATURE_SPECS, NUMBER_CATEGORIES, TEXT_NAMES
from app.core.voice._text_segment import Token, is_han, numbers, segment, sentence_end_char, sentences, syllables

__all__ = ["FEATURE_SPECS", "TEXT_NAMES", "lexicon_hits", "normalize_lang", "text_features", "tokenize",
           "write_feature_table"]

NAN = math.nan
PAUSE_S = 0.25
LONG_PAUSE_S = 1.0
MATTR_WINDOW = 25
_ZH_PARTICLES = frozenset("吧呢啊嘛呀啦哦吗")
_EN_ARTICLES = frozenset(("a", "an", "the"))
_NUMBER_ZH = {"number": "数字", "amount": "金额", "percent": "百分比"}
_NUMBER_SOURCE = ("Vrij (2008) 'Detecting Lies and Deceit' (reality monitoring); Nahari, Vrij & Fisher (2014) "
                  "verifiable detail")


def normalize_lang(lang: str) -> str:
    """``"zh"`` or ``"en"`` from a language code or name (zh-CN, cmn, yue, Mandarin, en-US, English).

    Raises
    ------
    ValueError
        For any other language.
    """
    base = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    if base in ("zh", "cmn", "yue", "chinese", "mandarin", "cantonese"):
        return "zh"
    if base in ("en", "eng", "english"):
        return "en"
    raise ValueError(f"text features support Mandarin ('zh') and English ('en'), not {lang!r}")


def _analyse(text: str, lang: str) -> tuple[str, list[Token], list[Hit], list[tuple[str, int, int]]]:
    norm = _lexicon.normalize(text, lang)
    tokens = segment(norm, lang)
    hits = _lexicon.find(norm, lang, {t.start for t in tokens}, {t.end for t in tokens}) if tokens else []
    return norm, tokens, hits, numbers(norm, lang)


def tokenize(text: str, lang: str) -> list[tuple[str, int, int]]:
    """Tokens of a transcript as ``(token, start, end)`` offsets into ``text`` (whitespace dropped).

    Chinese uses jieba with Vigil's lending-fraud user words (撸口子 stays one token); English keeps
    contractions (don't) together.
    """
    lang = normalize_lang(lang)
    text = text if isinstance(text, str) else ""
    return [(text[t.start:t.end], t.start, t.end) for t in segment(_lexicon.normalize(text, lang), lang)]


def lexicon_hits(text: str, lang: str) -> list[dict[str, Any]]:
    """Every lexicon term and number expression found in the text, as reviewer evidence.

    Parameters
    ----------
    text : str
        The transcript.
    lang : str
        ``"zh"`` or ``"en"`` (or an alias accepted by :func:`normalize_lang`).

    Returns
    -------
    list of dict
        In text order, each with ``term`` (as in the lexicon), ``text`` (as spoken), ``start`` and
        ``end`` (character offsets into ``text``), ``category``, ``group`` (``fraud``, ``deception``,
        ``number`` or ``other``), ``meaning_en``, ``meaning_zh``, ``risk_weight`` (fraud terms;
        None otherwise), ``source`` and ``file``.
    """
    lang = normalize_lang(lang)
    text = text if isinstance(text, str) else ""
    _, _, hits, nums = _analyse(text, lang)
    out: list[dict[str, Any]] = [
        {"term": h.entry.term, "text": text[h.start:h.end], "start": h.start, "end": h.end,
         "category": h.entry.category, "group": h.entry.group, "meaning_en": h.entry.meaning_en,
         "meaning_zh": h.entry.meaning_zh, "risk_weight": h.entry.risk_weight, "source": h.entry.source,
         "file": h.entry.file} for h in hits]
    out += [{"term": text[s:e], "text": text[s:e], "start": s, "end": e, "category": kind, "group": "number",
             "meaning_en": NUMBER_CATEGORIES[kind], "meaning_zh": _NUMBER_ZH[kind], "risk_weight": None,
             "source": _NUMBER_SOURCE, "file": ""} for kind, s, e in nums]
    return sorted(out, key=lambda d: (d["start"], d["end"], d["group"], d["category"]))


def _div(a: float, b: float) -> float:
    return a / b if b and math.isfinite(b) and b > 0 else NAN


def _ratio(a: float, b: float) -> float:
    return a / (a + b) if a + b > 0 else NAN


def _timing(words: Sequence[Sequence[Any]] | None) -> list[tuple[float, float]]:
    spans = []
    for w in words or ():
        try:
            s, e = float(w[1]), float(w[2])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(s) and math.isfinite(e) and e >= s:
            spans.append((s, e))
    return sorted(spans)


def _timing_features(spans: list[tuple[float, float]]) -> dict[str, float]:
    f: dict[str, float] = {}
    if not spans:
        return f
    span = spans[-1][1] - spans[0][0]
    durs = np.array([e - s for s, e in spans])
    gaps = np.array([max(0.0, b[0] - a[1]) for a, b in zip(spans, spans[1:])])
    pauses = gaps[gaps >= PAUSE_S]
    f.update(word_dur_mean=float(durs.mean()), word_dur_sd=float(durs.std(ddof=1)) if len(durs) > 1 else NAN,
             gap_mean=float(gaps.mean()) if gaps.size else NAN, gap_max=float(gaps.max()) if gaps.size else NAN,
             pause_time_share=_div(float(pauses.sum()), span), pause_per_min=_div(60.0 * pauses.size, span),
             long_pause_per_min=_div(60.0 * float((gaps >= LONG_PAUSE_S).sum()), span))
    return f


def _lexical(words: list[Token], lang: str) -> dict[str, float]:
    n = len(words)
    texts = [t.text for t in words]
    types = Counter(texts)
    f: dict[str, float] = {}
    if n:
        f["ttr"] = len(types) / n
        f["hapax_share"] = sum(1 for v in types.values() if v == 1) / len(types)
        f["mean_word_len"] = float(np.mean([len(w) for w in texts]))
        long = (lambda w: len(w) >= 3) if lang == "zh" else (lambda w: sum(c.isalpha() for c in w) > 6)
        f["long_word_share"] = sum(1 for w in texts if long(w)) / n
    if n >= MATTR_WINDOW:
        f["mattr"] = float(np.mean([len(set(texts[i:i + MATTR_WINDOW])) / MATTR_WINDOW
                                    for i in range(n - MATTR_WINDOW + 1)]))
    repeats = sum(1 for a, b in zip(texts, texts[1:]) if a == b)
    bigrams = Counter(zip(texts, texts[1:]))
    rep_bi = sum(v - 1 for v in bigrams.values() if v > 1)
    f.update(immediate_repeat_rate=_div(100.0 * repeats, n), repeated_bigram_share=_div(rep_bi, n - 1))
    return f


def _punctuation(norm: str, n: int) -> dict[str, float]:
    punct = sum(1 for c in norm if unicodedata.category(c).startswith("P"))
    return {"exclamation_rate": _div(100.0 * norm.count("!"), n),
            "comma_rate": _div(100.0 * sum(norm.count(c) for c in ",、"), n), "punct_rate": _div(100.0 * punct, n)}


def _sentiment(text: str, norm: str, lang: str, tokens: list[Token], hits: list[Hit],
               sents: list[list[Token]]) -> dict[str, float]:
    f: dict[str, float] = {}
    if not sents:
        return f
    emo = senti.emotion_polarity(hits, tokens, norm)
    f["emo_polarity"] = emo
    if lang == "en":
        v = senti.vader_scores(text)
        f.update(vader_neg=v["neg"], vader_pos=v["pos"], vader_compound=v["compound"])
    else:
        f["snownlp_pos"] = senti.snownlp_positive([t.text for t in tokens if t.word])
    pols = []
    for sent in sents:
        s, e = sent[0].start, sent[-1].end
        part = [h for h in hits if s <= h.start and h.end <= e]
        sub = senti.emotion_polarity(part, [t for t in tokens if s <= t.start and t.end <= e], norm)
        pols.append(senti.sentence_polarity(text[s:e], [t.text for t in sent], lang, sub))
    arr = np.array([p for p in pols if math.isfinite(p)])
    if arr.size:
        f.update(sent_sentence_mean=float(arr.mean()), sent_sentence_min=float(arr.min()),
                 sent_sentence_max=float(arr.max()), sent_sentence_sd=float(arr.std(ddof=1)) if arr.size > 1 else NAN,
                 sent_neg_share=float((arr < -senti.NEUTRAL_BAND).mean()),
                 sent_pos_share=float((arr > senti.NEUTRAL_BAND).mean()))
    return f


def _language_specific(text: str, norm: str, lang: str, words: list[Token], sents: list[list[Token]]
                       ) -> dict[str, float]:
    n = len(words)
    if lang == "zh":
        alnum = sum(1 for c in norm if c.isalnum())
        han = [i for i, c in enumerate(norm) if is_han(c)]
        folded = _lexicon.fold(text)
        latin = sum(1 for t in words if re.search(r"[a-z]", t.text))
        particles = sum(1 for t in words if t.text in _ZH_PARTICLES)
        return {"zh_han_share": _div(len(han), alnum), "zh_latin_share": _div(latin, n),
                "zh_traditional_share": _div(sum(1 for i in han if folded[i] != norm[i]), len(han)),
                "zh_particle_rate": _div(100.0 * particles, n),
                "zh_ba_rate": _div(100.0 * sum(1 for t in words if t.text == "吧"), n),
                "zh_place_name_rate": _div(100.0 * sum(1 for t in words if t.tag.startswith("ns")), n),
                "zh_time_word_rate": _div(100.0 * sum(1 for t in words if t.tag == "t"), n)}
    contractions = sum(1 for t in words if "'" in t.text)
    return {"en_contraction_rate": _div(100.0 * contractions, n),
            "en_article_rate": _div(100.0 * sum(1 for t in words if t.text in _EN_ARTICLES), n)}


def text_features(text: str, lang: str, duration_s: float | None = None, latency_s: float | None = None,
                  words: list[tuple[str, float, float]] | None = None) -> dict[str, float]:
    """All text features of one utterance.

    Parameters
    ----------
    text : str
        The transcript (empty or None gives zero counts and NaN rates; never raises).
    lang : str
        ``"zh"`` or ``"en"`` (aliases per :func:`normalize_lang`).
    duration_s : float or None
        Utterance duration for per-second rates; when None, the span of ``words`` is used.
    latency_s : float or None
        Response latency measured by the caller; reported as ``latency_s`` (NaN when None).
    words : list of (word, start_s, end_s) or None
        ASR word timings for the pause and articulation features (extra fields are ignored).

    Returns
    -------
    dict of str to float
        Exactly the keys of :data:`TEXT_NAMES`, all Python floats (NaN where undefined).

    Raises
    ------
    ValueError
        When ``lang`` is neither Mandarin nor English.
    """
    lang = normalize_lang(lang)
    text = text if isinstance(text, str) else ""
    f: dict[str, float] = dict.fromkeys(TEXT_NAMES, NAN)
    norm, tokens, hits, nums = _analyse(text, lang)
    wtoks = [t for t in tokens if t.word]
    n = len(wtoks)
    spans = _timing(words)
    dur = float(duration_s) if duration_s is not None and math.isfinite(duration_s) and duration_s > 0 else NAN
    if not math.isfinite(dur) and len(spans) and spans[-1][1] > spans[0][0]:
        dur = spans[-1][1] - spans[0][0]
    sents = sentences(norm, tokens)
    syl = syllables(wtoks)
    lens = [len(s) for s in sents]
    questions = sum(1 for s in sents if sentence_end_char(norm, s) == "?" or (lang == "zh" and s[-1].text == "吗"))
    f.update(lang_zh=float(lang == "zh"), tokens=float(n), duration_s=dur, syllables_per_s=_div(syl, dur),
             mean_sentence_len=float(np.mean(lens)) if lens else NAN, max_sentence_len=float(max(lens, default=0)),
             sentence_len_sd=float(np.std(lens, ddof=1)) if len(lens) > 1 else NAN,
             question_share=_div(questions, len(sents)),
             latency_s=float(latency_s) if latency_s is not None and math.isfinite(latency_s) else NAN)
    f.update(_lexical(wtoks, lang))
    f.update(_punctuation(norm, n))

    counts = dict.fromkeys(COUNTED, 0)
    for h in hits:
        if h.entry.group == "deception":
            counts[h.entry.category] += 1
    for kind, _, _ in nums:
        counts["number"] += 1
        if kind != "number":
            counts[kind] += 1
    f.update({f"{cat}_rate": _div(100.0 * c, n) for cat, c in counts.items()})

    fraud = [h for h in hits if h.entry.group == "fraud"]
    weights = [h.entry.risk_weight or 0.0 for h in fraud]
    f.update(fraud_lexicon_score=float(sum(weights)),
             fraud_categories_present=float(len({h.entry.category for h in fraud})))
    for cat in FRAUD_CATEGORIES:
        f[f"fraud_{cat}_score"] = float(sum(h.entry.risk_weight or 0.0 for h in fraud if h.entry.category == cat))

    f.update(_sentiment(text, norm, lang, tokens, hits, sents))
    if words is not None:
        f.update(_timing_features(spans))
    f.update(_language_specific(text, norm, lang, wtoks, sents))
    f.update(discourse_features(text, norm, lang, wtoks, sents, [h for h in hits if h.entry.group == "deception"]))
    return {k: float(f[k]) for k in TEXT_NAMES}


def write_feature_table(path: str | Path) -> Path:
    """Write the documentation table of every text feature: name, category, kind, description.

    Parameters
    ----------
    path : str or Path
        Destination TSV (UTF-8, tab-separated, with a header); parent folders are created.

    Returns
    -------
    Path
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = ["name\tcategory\tkind\tdescription"] + ["\t".join(s) for s in FEATURE_SPECS]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p
