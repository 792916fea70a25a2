"""Lexicons behind the text features: loading the TSV files and finding their terms in text.

Every ``*.tsv`` in ``resources/lexicons/`` is read, then every ``*.tsv`` in
``<user data dir>/lexicons/`` (so an institution's own terms survive upgrades). Each file is UTF-8
with a header naming at least ``term lang category meaning_en meaning_zh source``; an optional
``risk_weight`` column (0-1) weights lending-fraud terms. A later row with the same
(term, lang, category) replaces an earlier one, so a local file can re-weight a shipped term.

A term is matched literally (case-insensitive; for Chinese after Traditional-to-Simplified
conversion), with any space matching any run of whitespace. A term written ``re:<regex>`` is a
regular expression over the same normalised text. A match only counts when it starts and ends on
token boundaries (jieba words for Chinese, word tokens for English), so 我 does not fire inside
我们 and "in" not inside "into". Within one deception category (positive and negative emotion count
as one here), and across all lending-fraud categories, overlapping matches keep the leftmost-longest
one; different deception categories may share words (不知道 is evasion, its 知道 cognitive), as in
LIWC.
"""

from __future__ import annotations

import csv
import functools
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import VigilError
from app.paths import resources_dir, user_data_dir

LANGS: tuple[str, ...] = ("zh", "en")
COLUMNS: tuple[str, ...] = ("term", "lang", "category", "meaning_en", "meaning_zh", "source")
DEFAULT_FRAUD_WEIGHT = 0.5

#: Deception-cue categories and what they count (basis: see resources/lexicons/README.md).
DECEPTION_CATEGORIES: dict[str, str] = {
    "hedge": "hedges, tentative wording (可能, 大概, maybe, I guess)",
    "certainty": "certainty and over-assurance (绝对, 说实话, definitely, I swear)",
    "negation": "negations (不, 没有, no, never, n't)",
    "first_singular": "first-person singular self-references (我, 本人, I, me, my)",
    "first_plural": "first-person plural (我们, 咱们, we, us, our)",
    "second_person": "second-person address (你, 您, you, your)",
    "distancing": "third-person and distancing references (他, 对方, 有人, he, they, someone)",
    "temporal": "temporal detail (昨天, 当时, 三点, yesterday, then, at three)",
    "spatial": "spatial detail (在, 旁边, 银行, in, near, office)",
    "perceptual": "perceptual / sensory detail (看到, 听到, saw, heard)",
    "filler": "fillers and filled pauses (嗯, 呃, 那个, um, uh, you know)",
    "self_correction": "self-corrections and repairs (我是说, 应该说, I mean, sorry)",
    "cognitive": "cognitive-process words (因为, 所以, 知道, because, think, know)",
    "motion": "motion verbs (去, 来, 走, go, went, drive)",
    "exclusive": "exclusive / differentiation words (但是, 除了, but, except, without)",
    "emotion_neg": "negative-emotion words (担心, 难过, worried, angry)",
    "emotion_pos": "positive-emotion words (开心, 满意, happy, great)",
    "evasion": "evasive non-answers (不记得, 不方便说, I don't remember, I'd rather not say)",
}

#: Lending-fraud lexicon categories.
FRAUD_CATEGORIES: dict[str, str] = {
    "channel": "lending-channel and approval slang (口子, 下款, 强下, guaranteed approval)",
    "predatory": "illegal or predatory loan products (空放, 砍头息, 714高炮, 套路贷, payday loan)",
    "falsification": "falsified documents, credit 'repair' (包装流水, 假流水, 洗白征信, fake bank statements)",
    "intermediary": "loan agents and debt-relief intermediaries (代办, 代还, 停息挂账, debt settlement)",
    "default_intent": "intent not to repay, nominee borrowing (不想还钱, 撸口子, 反催收, 背债, bust-out)",
    "debt_distress": "over-indebtedness and damaged credit (以贷养贷, 多头借贷, 征信花了, loan stacking)",
    "collection": "debt collection (催收, 爆通讯录, in collections)",
    "cashout": "credit cash-out (套现, 养卡, cash advance)",
    "urgency": "urgent need for money: weak on its own (急用, 资金周转)",
    "community": "online-loan forum subculture (老哥, 口子老哥, 上岸)",
}


class LexiconError(VigilError):
    """A lexicon file cannot be read: bad header, language, weight or pattern."""


@dataclass(frozen=True)
class Entry:
    """One lexicon row, compiled."""

    term: str
    lang: str
    category: str
    meaning_en: str
    meaning_zh: str
    source: str
    risk_weight: float | None
    group: str  # "fraud", "deception" or "other" (shown as evidence only)
    pattern: re.Pattern[str]
    file: str


@dataclass(frozen=True)
class Hit:
    """A lexicon entry found at ``text[start:end]``."""

    entry: Entry
    start: int
    end: int


def _fold_char(c: str) -> str:
    """One character, width-folded and lower-cased, or unchanged where that would change length."""
    if c in "\u2019\u2018\u02bc\uff07":
        return "'"
    n = unicodedata.normalize("NFKC", c)
    n = n if len(n) == 1 else c
    low = n.lower()
    return low if len(low) == 1 else n


def normalize(text: str, lang: str) -> str:
    """Text folded for matching, with exactly the length of ``text`` so offsets carry over.

    Parameters
    ----------
    text : str
        Original text.
    lang : str
        ``"zh"`` or ``"en"``; Chinese is also converted to Simplified characters.

    Returns
    -------
    str
        Lower-cased, width-folded (and for Chinese simplified) text of the same length.
    """
    s = fold(text)
    return simplify(s) if lang == "zh" else s


def fold(text: str) -> str:
    """Width-folded, lower-cased text with curly apostrophes made straight; same length."""
    return "".join(_fold_char(c) for c in text)


def simplify(text: str) -> str:
    """Traditional Chinese characters converted to Simplified, keeping the text's length."""
    if not text:
        return text
    from app.core.voice.simplified import to_simplified

    simp = to_simplified(text)
    if len(simp) != len(text):
        simp = "".join(t if len(t := to_simplified(c)) == 1 else c for c in text)
    return simp


def compile_term(term: str, lang: str) -> re.Pattern[str]:
    """The pattern of a lexicon term (``re:`` prefix: a regular expression).

    Parameters
    ----------
    term : str
        The term as written in the lexicon.
    lang : str
        Its language, for normalisation.

    Returns
    -------
    re.Pattern
        Pattern over :func:`normalize`-d text.
    """
    if term.startswith("re:"):
        return re.compile(term[3:])
    parts = normalize(term.strip(), lang).split()
    return re.compile(r"\s+".join(re.escape(p) for p in parts))


def lexicon_dirs() -> list[Path]:
    """Folders read for lexicons, in order: the shipped ones, then the user's own."""
    dirs = [resources_dir() / "lexicons"]
    local = user_data_dir() / "lexicons"
    if local.is_dir():
        dirs.append(local)
    return dirs


def _group(category: str) -> str:
    if category in FRAUD_CATEGORIES:
        return "fraud"
    return "deception" if category in DECEPTION_CATEGORIES else "other"


def read_lexicon(path: Path) -> list[Entry]:
    """Every row of one lexicon TSV file.

    Parameters
    ----------
    path : Path
        UTF-8 TSV with a header; blank lines and lines starting with ``#`` are skipped.

    Returns
    -------
    list of Entry

    Raises
    ------
    LexiconError
        When the header lacks a required column, or a row has a bad language, weight or regex.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"{path.name}: cannot read lexicon ({exc})") from exc
    rows = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    if not rows:
        return []
    reader = csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader)]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise LexiconError(f"{path.name}: header lacks column(s) {', '.join(missing)}")
    col = {h: i for i, h in enumerate(header)}
    out = []
    for lineno, row in enumerate(reader, 2):
        get = {c: (row[i].strip() if i < len(row) else "") for c, i in col.items()}
        term, lang, cat = get["term"], get["lang"], get["category"]
        if not term:
            continue
        if lang not in LANGS:
            raise LexiconError(f"{path.name}:{lineno}: language must be one of {LANGS}, not {lang!r}")
        weight: float | None = None
        if get.get("risk_weight"):
            try:
                weight = float(get["risk_weight"])
            except ValueError:
                weight = -1.0
            if not 0.0 <= weight <= 1.0:
                raise LexiconError(f"{path.name}:{lineno}: risk_weight must be a number from 0 to 1")
        group = _group(cat)
        if group == "fraud" and weight is None:
            weight = DEFAULT_FRAUD_WEIGHT
        try:
            pattern = compile_term(term, lang)
        except re.error as exc:
            raise LexiconError(f"{path.name}:{lineno}: bad pattern {term!r} ({exc})") from exc
        out.append(Entry(term, lang, cat, get["meaning_en"], get["meaning_zh"], get["source"], weight, group,
                         pattern, path.name))
    return out


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def entries(lang: str) -> tuple[Entry, ...]:
    """All lexicon entries of one language, later files overriding earlier ones (cached).

    Parameters
    ----------
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    tuple of Entry
    """
    with _LOCK:
        merged: dict[tuple[str, str], Entry] = {}
        for d in lexicon_dirs():
            for path in sorted(d.glob("*.tsv")):
                for e in read_lexicon(path):
                    if e.lang == lang:
                        merged.pop((e.term, e.category), None)
                        merged[(e.term, e.category)] = e
        return tuple(merged.values())


def user_dict_files() -> list[Path]:
    """jieba user dictionaries (``user_dict*.txt``) in the lexicon folders."""
    return [p for d in lexicon_dirs() for p in sorted(d.glob("user_dict*.txt"))]


def clear_caches() -> None:
    """Forget loaded lexicons so edited files are read again."""
    entries.cache_clear()


# Categories resolved together: 不开心 is negative emotion, and its 开心 is then not positive.
_SHARED = {"emotion_pos": "emotion", "emotion_neg": "emotion"}


def _leftmost_longest(hits: list[Hit]) -> list[Hit]:
    hits = sorted(hits, key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    last_end = -1
    for h in hits:
        if h.start >= last_end:
            kept.append(h)
            last_end = h.end
    return kept


def find(norm: str, lang: str, starts: set[int], ends: set[int]) -> list[Hit]:
    """Lexicon matches in normalised text that start and end on token boundaries.

    Parameters
    ----------
    norm : str
        Text from :func:`normalize`.
    lang : str
        ``"zh"`` or ``"en"``.
    starts, ends : set of int
        Character offsets where tokens start and end.

    Returns
    -------
    list of Hit
        Sorted by position; leftmost-longest within each deception category and within the whole
        lending-fraud group.
    """
    by_key: dict[str, list[Hit]] = {}
    for e in entries(lang):
        for m in e.pattern.finditer(norm):
            if m.end() > m.start() and m.start() in starts and m.end() in ends:
                key = "fraud" if e.group == "fraud" else f"{e.group}:{_SHARED.get(e.category, e.category)}"
                by_key.setdefault(key, []).append(Hit(e, m.start(), m.end()))
    out = [h for hits in by_key.values() for h in _leftmost_longest(hits)]
    return sorted(out, key=lambda h: (h.start, h.end, h.entry.category))
