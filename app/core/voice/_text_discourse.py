"""Discourse, syntax and intent features of a transcript from part-of-speech tags and word classes.

These complement the deception and fraud lexicons (:mod:`app.core.voice._lexicon`) with what the
verbal-cue literature measures beyond word lists: the part-of-speech profile (Biber 1988; Newman
et al. 2003 found fewer first-person pronouns and more motion verbs, Hauch et al. 2015 fewer
details and more negations), clause structure and subordination, agency (does the speaker appear
as the subject of verbs), hedges that qualify actions, negation scope, specificity (quantified
nouns, exact times), tense and aspect (了/过/着, past, perfect, progressive, passive), question
forms, lexical diversity beyond the type-token ratio (MTLD, Yule's K), and closed word classes
(``resources/voice/discourse_words.tsv``). Chinese tags come from jieba, English tags from the
light tagger in :mod:`app.core.voice._text_pos`.

Every feature is a rate per 100 word tokens, a share or a length: one view per quantity.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.core.voice._text_pos import en_tags, zh_tag

NAN = math.nan
WORDS_FILE = Path(__file__).resolve().parents[3] / "resources" / "voice" / "discourse_words.tsv"
POS_EXPORTED = ("NOUN", "PROPN", "VERB", "AUX", "ADJ", "ADV", "PRON", "DET", "ADP", "CCONJ", "SCONJ", "NUM", "PART")
MTLD_TTR = 0.72  # McCarthy & Jarvis (2010)
MATTR_SHORT = 10
_FIRST = {"zh": frozenset(("我", "我们", "咱们", "咱", "本人")), "en": frozenset(("i", "we", "i'm", "i've", "i'd", "i'll",
                                                                          "we're", "we've", "we'd", "we'll"))}
_WH = {"zh": frozenset("什么 怎么 怎么样 为什么 哪 哪里 哪儿 谁 几 多少 为啥 咋".split()),
       "en": frozenset("what why how where who whom whose which when".split())}
_EN_PAST = frozenset(("went got made said saw came knew took thought gave found told became left felt brought began "
                      "kept held wrote stood heard meant met ran paid sat spoke lost fell sent built understood broke "
                      "spent bought sold forgot was were did had").split())
_EN_PARTICIPLE = frozenset(("gone gotten made said seen come known taken thought given found told become left felt "
                            "brought begun kept held written stood heard meant met run paid sat spoken lost fallen "
                            "sent built understood broken spent bought sold forgotten been done had").split())
_EN_BE = frozenset("be am is are was were been being 's 're 'm get got gets getting".split())
_EN_HAVE = frozenset("have has had 've 'd".split())
_EN_INFORMAL = frozenset("gonna wanna gotta kinda sorta yeah nope ain't y'all dunno lemme cause 'cause".split())
_EN_NOMINAL = ("tion", "sion", "ment", "ness", "ity", "ance", "ence")
_TIME_RE = {"zh": re.compile(r"\d{1,2}[:：]\d{2}|[\d零一二两三四五六七八九十]+点(?:[\d一二三四五六七八九十半]+分?)?|"
                             r"\d{2,4}年|[\d一二三四五六七八九十]+月[\d一二三四五六七八九十]+[日号]|"
                             r"(?:星期|周|礼拜)[一二三四五六日天]"),
            "en": re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.)|o'clock\b|\b(?:19|20)\d{2}\b|"
                             r"\b(?:january|february|march|april|may|june|july|august|september|october|november|"
                             r"december)\s+\d{1,2}\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")}
_ZH_ANOTA = re.compile(r"(.)[不没]\1")
_TAG_Q = {"zh": re.compile(r"(?:对吧|是吧|好吗|行吗|对不对|是不是|好不好)\s*[?？]?\s*$"),
          "en": re.compile(r"(?:,\s*(?:right|okay|ok)|(?:is|are|was|were|do|does|did|have|has|can|will|would)n't "
                           r"(?:it|you|they|he|she|we|i|there))\s*\?\s*$")}


@lru_cache(maxsize=1)
def word_classes() -> dict[str, dict[str, tuple[tuple[str, ...], ...]]]:
    """``{lang: {feature: phrases}}`` from ``discourse_words.tsv`` (each phrase a tuple of tokens)."""
    from app.core.voice._text_segment import segment

    out: dict[str, dict[str, set[tuple[str, ...]]]] = {"zh": {}, "en": {}}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        feature, lang, words = line.split("\t")
        dest = out[lang].setdefault(feature, set())
        for w in words.split("|"):
            toks = tuple(t.text for t in segment(w.lower(), lang) if t.word)
            if toks:
                dest.add(toks)
    return {lang: {f: tuple(sorted(p, key=len, reverse=True)) for f, p in d.items()} for lang, d in out.items()}


def class_names() -> tuple[str, ...]:
    """The word-class feature names (``<class>_rate``), in file order."""
    seen: dict[str, None] = {}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            seen[line.split("\t")[0]] = None
    return tuple(f"{k}_rate" for k in seen)


def _count_phrases(texts: list[str], skip: list[bool], phrases: tuple[tuple[str, ...], ...]) -> int:
    """Non-overlapping matches of any phrase in the token sequence, longest first at each position."""
    n, i, hits = len(texts), 0, 0
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for p in phrases:
        by_first.setdefault(p[0], []).append(p)
    while i < n:
        step = 1
        if not skip[i]:
            for p in by_first.get(texts[i], ()):
                if tuple(texts[i:i + len(p)]) == p:
                    hits, step = hits + 1, len(p)
                    break
        i += step
    return hits


def _div(a: float, b: float) -> float:
    return a / b if b else NAN


def _mtld_pass(texts: list[str]) -> float:
    factors, types, count = 0.0, set(), 0
    for w in texts:
        types.add(w)
        count += 1
        if len(types) / count <= MTLD_TTR:
            factors, types, count = factors + 1, set(), 0
    if count:
        factors += (1 - len(types) / count) / (1 - MTLD_TTR)
    return len(texts) / factors if factors > 0 else NAN


def _diversity(texts: list[str]) -> dict[str, float]:
    n = len(texts)
    f = {"mattr10": NAN, "mtld": NAN, "yule_k": NAN}
    if n >= MATTR_SHORT:
        f["mattr10"] = float(np.mean([len(set(texts[i:i + MATTR_SHORT])) / MATTR_SHORT
                                      for i in range(n - MATTR_SHORT + 1)]))
    if n >= 10:
        fwd, bwd = _mtld_pass(texts), _mtld_pass(texts[::-1])
        f["mtld"] = float(np.nanmean([fwd, bwd])) if math.isfinite(fwd) or math.isfinite(bwd) else NAN
    if n >= 2:
        spectrum = Counter(Counter(texts).values())
        f["yule_k"] = 1e4 * (sum(m * m * v for m, v in spectrum.items()) - n) / (n * n)
    return f


def _clauses(words: list[Any], tags: list[str], norm: str, sents: list[list[Any]]) -> list[list[int]]:
    """Word indexes grouped into clauses: sentences cut at , ; : and before a conjunction."""
    index = {id(t): k for k, t in enumerate(words)}
    out: list[list[int]] = []
    for sent in sents:
        cur: list[int] = []
        prev_end = None
        for t in sent:
            k = index[id(t)]
            gap = norm[prev_end:t.start] if prev_end is not None else ""
            if cur and (any(c in gap for c in ",，;；:：、") or tags[k] in ("SCONJ", "CCONJ")):
                out.append(cur)
                cur = []
            cur.append(k)
            prev_end = t.end
        if cur:
            out.append(cur)
    return out


def _within(tags: list[str], k: int, wanted: tuple[str, ...], span: int) -> bool:
    return any(tags[j] in wanted for j in range(k + 1, min(len(tags), k + 1 + span)))


def discourse_features(text: str, norm: str, lang: str, words: list[Any], sents: list[list[Any]],
                       hits: list[Any]) -> dict[str, float]:
    """Discourse, syntax and word-class features of one transcript (see the module docstring).

    ``words`` are the word tokens (:class:`app.core.voice._text_segment.Token` with ``word``
    true), ``sents`` the sentences of word tokens, ``hits`` the deception-lexicon hits.
    """
    n = len(words)
    f: dict[str, float] = {}
    if not n:
        return f
    texts = [t.text for t in words]
    if lang == "zh":
        tags = [zh_tag(t.text, t.tag) for t in words]
    else:
        starts = {id(s[0]) for s in sents}
        tags = en_tags(texts, [text[t.start:t.start + 1].isupper() for t in words], [id(t) in starts for t in words])
    per100 = 100.0 / n
    counts = Counter(tags)
    f.update({f"pos_{t.lower()}_rate": counts[t] * per100 for t in POS_EXPORTED})
    bigrams = list(zip(tags, tags[1:]))
    f["pos_bigram_diversity"] = len(set(bigrams)) / len(bigrams) if len(bigrams) >= 4 else NAN
    f["adj_noun_rate"] = sum(1 for a, b in bigrams if a == "ADJ" and b in ("NOUN", "PROPN")) * per100
    num_next = ("CLF",) if lang == "zh" else ("NOUN", "PROPN", "ADJ")
    f["numeral_classifier_rate"] = sum(1 for a, b in bigrams if a == "NUM" and b in num_next) * per100
    f["exact_time_rate"] = len(_TIME_RE[lang].findall(norm)) * per100

    clauses = _clauses(words, tags, norm, sents)
    lens = np.array([len(c) for c in clauses], float)
    f.update(mean_clause_len=float(lens.mean()), max_clause_len=float(lens.max()),
             clause_len_sd=float(lens.std(ddof=1)) if len(lens) > 1 else NAN)
    clause_end = {k: c[-1] for c in clauses for k in c}
    first = [k for k, w in enumerate(texts) if w in _FIRST[lang]]
    f["self_agent_share"] = _div(sum(1 for k in first if _within(tags, k, ("VERB",), 3)), len(first))
    index = {id(t): k for k, t in enumerate(words)}
    f["sentence_initial_pronoun_share"] = _div(sum(1 for s in sents if tags[index[id(s[0])]] == "PRON"), len(sents))
    verb_onsets = []
    for s in sents:
        ks = [index[id(t)] for t in s]
        on = next((j for j, k in enumerate(ks) if tags[k] == "VERB"), None)
        if on is not None:
            verb_onsets.append(on)
    f["verb_onset_mean"] = float(np.mean(verb_onsets)) if verb_onsets else NAN

    starts = [t.start for t in words]

    def word_at(pos: int) -> int:
        return int(np.searchsorted(starts, pos, side="right")) - 1

    def positions(cat: str) -> list[int]:
        return [max(0, word_at(h.start)) for h in hits if h.entry.category == cat]

    hedges, negs, fillers = positions("hedge"), positions("negation"), positions("filler")
    f["hedge_verb_share"] = _div(sum(1 for k in hedges if _within(tags, k, ("VERB", "AUX"), 3)), len(hedges))
    f["negated_verb_share"] = _div(sum(1 for k in negs if _within(tags, k, ("VERB", "AUX"), 2)), len(negs))
    f["negation_scope_mean"] = float(np.mean([clause_end.get(k, k) - k for k in negs])) if negs else NAN
    details = sorted(k for c in ("temporal", "spatial", "perceptual") for k in positions(c))
    f["detail_late_share"] = _div(sum(1 for k in details if k >= n / 2), len(details))
    f["hedge_early_share"] = _div(sum(1 for k in hedges if k < n / 3), len(hedges))
    clause_starts = {c[0] for c in clauses}
    f["filler_initial_share"] = _div(sum(1 for k in fillers if k in clause_starts), len(fillers))

    f.update(_aspect(texts, tags, lang, per100))
    f.update(_questions(norm, lang, sents, texts, tags, per100))
    wl = [len(w) for w in texts]
    f["word_len_sd"] = float(np.std(wl, ddof=1)) if n > 1 else NAN
    f.update(_diversity(texts))
    f.update(_cohesion(sents, texts, tags, index, n))
    skip = [lang == "zh" and t == "PART" for t in tags]
    for feat, phrases in word_classes()[lang].items():
        f[f"{feat}_rate"] = _count_phrases(texts, skip, phrases) * per100
    f.update(_zh_specific(words, texts, tags, sents, per100) if lang == "zh" else _en_specific(texts, tags, per100))
    return f


def _aspect(texts: list[str], tags: list[str], lang: str, per100: float) -> dict[str, float]:
    n = len(texts)
    if lang == "zh":
        after_verb = [k for k in range(1, n) if tags[k - 1] in ("VERB", "ADJ")]

        def marked(m: str) -> int:  # V + marker, or a verb jieba keeps whole with it (看过, 买了)
            return (sum(1 for k in after_verb if texts[k] == m)
                    + sum(1 for w, t in zip(texts, tags) if t == "VERB" and len(w) > 1 and w.endswith(m)))

        return {"perfective_rate": marked("了") * per100, "experiential_rate": marked("过") * per100,
                "progressive_rate": (marked("着") + sum(1 for k in range(n - 1) if texts[k] in ("正在", "在", "正")
                                                       and _within(tags, k, ("VERB",), 2))) * per100,
                "passive_rate": sum(1 for w in texts if w == "被") * per100}
    def near(k: int, pred: Any) -> bool:
        return any(pred(texts[j]) for j in range(k + 1, min(n, k + 3)))
    part = lambda w: w in _EN_PARTICIPLE or (len(w) > 4 and w.endswith("ed"))  # noqa: E731
    return {"perfective_rate": sum(1 for k, w in enumerate(texts) if w in _EN_PAST
                                   or (tags[k] == "VERB" and len(w) > 4 and w.endswith("ed"))) * per100,
            "experiential_rate": sum(1 for k, w in enumerate(texts) if w in _EN_HAVE and near(k, part)) * per100,
            "progressive_rate": sum(1 for k, w in enumerate(texts) if w in _EN_BE
                                    and near(k, lambda x: len(x) > 4 and x.endswith("ing"))) * per100,
            "passive_rate": sum(1 for k, w in enumerate(texts) if w in _EN_BE and near(k, part)) * per100}


def _questions(norm: str, lang: str, sents: list[list[Any]], texts: list[str], tags: list[str],
               per100: float) -> dict[str, float]:
    from app.core.voice._text_segment import sentence_end_char

    wh = tagq = 0
    for s in sents:
        end = sentence_end_char(norm, s)
        body = norm[s[0].start:s[-1].end + 2]
        is_q = end == "?" or (lang == "zh" and s[-1].text in ("吗", "呢"))
        if not is_q:
            continue
        words = [t.text for t in s]
        if _TAG_Q[lang].search(body.strip()):
            tagq += 1
        elif any(w in _WH[lang] for w in words):
            wh += 1
    ns = len(sents)
    alt = len(_ZH_ANOTA.findall(norm)) if lang == "zh" else len(re.findall(r"\bor not\b", norm))
    return {"wh_question_share": wh / ns, "tag_question_share": tagq / ns,
            "alternative_question_rate": alt * per100}


def _cohesion(sents: list[list[Any]], texts: list[str], tags: list[str], index: dict[int, int],
              n: int) -> dict[str, float]:
    content = ("NOUN", "PROPN", "VERB", "ADJ")
    sets = [{texts[index[id(t)]] for t in s if tags[index[id(t)]] in content} for s in sents]
    overlaps = [len(a & b) / len(a | b) for a, b in zip(sets, sets[1:]) if a | b]
    words = [w for w, t in zip(texts, tags) if t in content]
    rep = Counter(words)
    return {"sentence_overlap": float(np.mean(overlaps)) if overlaps else NAN,
            "content_repeat_share": _div(sum(1 for w in words if rep[w] > 1), len(words)),
            "first_sentence_share": len(sents[0]) / n if len(sents) > 1 else NAN}


def _zh_specific(words: list[Any], texts: list[str], tags: list[str], sents: list[list[Any]],
                 per100: float) -> dict[str, float]:
    from app.core.voice._text_segment import pos_tokenizer

    raw = [t.tag for t in words]
    freq = pos_tokenizer().tokenizer.FREQ
    han = [w for w in texts if re.fullmatch(r"[\u4e00-\u9fff]+", w)]
    logf = [math.log10(freq.get(w, 0) + 1) for w in han]
    shi_de = sum(1 for s in sents for k, t in enumerate(s) if t.text == "是" and any(u.text == "的" for u in s[k + 2:]))
    redup = sum(1 for w in texts if (len(w) == 2 and w[0] == w[1]) or (len(w) == 4 and w[:2] == w[2:])
                or (len(w) == 3 and w[1] == "一" and w[0] == w[2]))
    n = len(texts)
    return {"zh_classifier_rate": sum(1 for t in tags if t == "CLF") * per100,
            "zh_idiom_rate": sum(1 for t in raw if t == "i") * per100,
            "zh_fixed_expr_rate": sum(1 for t in raw if t == "l") * per100,
            "zh_verbal_noun_rate": sum(1 for t in raw if t == "vn") * per100,
            "zh_org_name_rate": sum(1 for t in raw if t == "nt") * per100,
            "zh_locative_rate": sum(1 for t in raw if t == "f") * per100,
            "zh_structural_de_rate": sum(1 for w in texts if w == "的") * per100,
            "zh_adverbial_de_rate": sum(1 for w in texts if w == "地") * per100,
            "zh_complement_de_rate": sum(1 for w, t in zip(texts, raw) if w == "得" and t == "ud") * per100,
            "zh_disposal_ba_rate": sum(1 for w, t in zip(texts, raw) if w == "把" and t == "p") * per100,
            "zh_shi_de_rate": shi_de * per100,
            "zh_reduplication_rate": redup * per100,
            "zh_single_char_share": sum(1 for w in texts if len(w) == 1) / n,
            "zh_four_char_share": sum(1 for w in texts if len(w) == 4) / n,
            "zh_logfreq_mean": float(np.mean(logf)) if logf else NAN,
            "zh_rare_word_share": _div(sum(1 for v in logf if v < 2.0), len(logf))}


def _en_specific(texts: list[str], tags: list[str], per100: float) -> dict[str, float]:
    n = len(texts)
    return {"en_nominalisation_rate": sum(1 for w, t in zip(texts, tags) if t == "NOUN" and len(w) > 6
                                          and w.endswith(_EN_NOMINAL)) * per100,
            "en_ly_adverb_rate": sum(1 for w, t in zip(texts, tags) if t == "ADV" and w.endswith("ly")) * per100,
            "en_do_support_rate": sum(1 for k, w in enumerate(texts) if w in ("do", "does", "did", "don't",
                                                                              "doesn't", "didn't")
                                      and any(tags[j] == "VERB" for j in range(k + 1, min(n, k + 3)))) * per100,
            "en_existential_there_rate": sum(1 for k, w in enumerate(texts[:-1]) if w == "there" and texts[k + 1]
                                             in ("is", "are", "was", "were", "'s", "has", "have", "will"))
            * per100 + sum(1 for w in texts if w == "there's") * per100,
            "en_informal_rate": sum(1 for w in texts if w in _EN_INFORMAL) * per100}
