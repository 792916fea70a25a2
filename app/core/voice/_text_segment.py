"""Tokens, sentences and number expressions of a transcript, for the text features.

Chinese is segmented by jieba (part-of-speech mode, so place names, person names and time words
are tagged) with the lending-fraud slang added as user words, so 撸口子 or 包装流水 stay one token.
jieba is loaded once per process, quietly; its prefix-dictionary cache goes to Vigil's user cache
folder (``jieba/``), or the system temporary folder when that cannot be written, never into the
repository or the application bundle. English is split by a regular expression that keeps
contractions (don't, I'm) as one token.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.voice import _lexicon
from app.paths import user_cache_dir

USER_WORD_MIN_FREQ = 2000


@dataclass(frozen=True)
class Token:
    """A token of the normalised text: ``text[start:end]``, its jieba tag, and whether it is a word."""

    text: str
    start: int
    end: int
    tag: str
    word: bool


_WORDISH = re.compile(r"[^\W_]")
_EN_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:]\d+)*|[^\w\s]")
_LOCK = threading.Lock()
_JIEBA: list[Any] = []


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def jieba_cache_dir() -> Path | None:
    """Where jieba may write its cache: the user cache folder, else the temp folder, else nowhere."""
    for d in (user_cache_dir() / "jieba", Path(tempfile.gettempdir())):
        if _writable_dir(d):
            return d
    return None


@contextlib.contextmanager
def _jieba_quiet(level: int) -> Iterator[None]:
    log = logging.getLogger("jieba")
    old = log.level
    log.setLevel(level)
    try:
        yield
    finally:
        log.setLevel(old)


def _load_user_dict(tk: Any, path: Path) -> set[str]:
    words = set()
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        parts = line.strip().split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        tk.add_word(parts[0], freq, tag)
        words.add(parts[0])
    return words


def pos_tokenizer() -> Any:
    """The process-wide jieba part-of-speech tokenizer with Vigil's user words (built once)."""
    with _LOCK:
        if _JIEBA:
            return _JIEBA[0]
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        cache = jieba_cache_dir()
        tk.tmp_dir = str(cache) if cache else os.devnull
        with _jieba_quiet(logging.WARNING if cache else logging.CRITICAL + 1):
            tk.initialize()
        added: set[str] = set()
        for path in _lexicon.user_dict_files():
            added |= _load_user_dict(tk, path)
        for e in _lexicon.entries("zh"):
            term = e.term.strip().lower()
            if e.group == "fraud" and len(term) >= 2 and term not in added and not e.term.startswith("re:") \
                    and " " not in term:
                tk.add_word(term, max(USER_WORD_MIN_FREQ, 3 * tk.suggest_freq(term, tune=False)), "n")
        _JIEBA.append(jieba.posseg.POSTokenizer(tk))
        return _JIEBA[0]


def reset_tokenizer() -> None:
    """Drop the jieba tokenizer so the next call rebuilds it (after lexicons change)."""
    with _LOCK:
        _JIEBA.clear()


def segment(norm: str, lang: str) -> list[Token]:
    """Tokens of normalised text, with offsets; whitespace is dropped.

    Parameters
    ----------
    norm : str
        Text from :func:`app.core.voice._lexicon.normalize`.
    lang : str
        ``"zh"`` (jieba) or ``"en"`` (regular expression).

    Returns
    -------
    list of Token
    """
    out: list[Token] = []
    if not norm.strip():
        return out
    if lang == "zh":
        pos = 0
        for pair in pos_tokenizer().cut(norm):
            w, flag = pair.word, pair.flag
            if norm.startswith(w, pos):
                start = pos
            else:
                found = norm.find(w, pos)
                start = found if found >= 0 else pos
            pos = start + len(w)
            if w.strip():
                out.append(Token(w, start, pos, flag, bool(_WORDISH.search(w))))
        return out
    for m in _EN_TOKEN.finditer(norm):
        w = m.group()
        word = bool(_WORDISH.search(w))
        out.append(Token(w, m.start(), m.end(), "w" if word else "x", word))
    return out


_SENT_END = re.compile(r"[。！？!?；;]+|…+|\.{2,}|(?<!\d)\.(?!\d)|\n+")


def sentences(norm: str, tokens: list[Token]) -> list[list[Token]]:
    """Word tokens grouped into sentences (split at 。！？!?；; … . and line breaks)."""
    cuts = [m.end() for m in _SENT_END.finditer(norm)]
    groups: list[list[Token]] = []
    current: list[Token] = []
    ci = 0
    for t in tokens:
        while ci < len(cuts) and t.start >= cuts[ci]:
            if current:
                groups.append(current)
                current = []
            ci += 1
        if t.word:
            current.append(t)
    if current:
        groups.append(current)
    return groups


def sentence_end_char(norm: str, sent: list[Token]) -> str:
    """The first non-space character after a sentence's last word ("" at the end of text)."""
    rest = norm[sent[-1].end:].lstrip(" \t")
    return rest[:1]


# --- numbers -------------------------------------------------------------------------------------

_ZH_DIGITS = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"
_ZH_UNITS = set("年月日号天周岁元块毛角分秒点次张笔家位人套台辆倍折期份层楼米斤里户万千百亿%个")
_ZH_STOP = {"万一", "千万", "一一", "万万", "百分"}
_ZH_ONE_NOT = set("个点下些样起定直般切边旦共会向")
_ZH_CURRENCY = re.compile(r"(?:多|余|来)?(?:万|千|百)?(?:块钱|元|块|毛|角|人民币|美元|美金|港币|欧元|rmb|yuan|刀)")
_ZH_NUM = re.compile(rf"\d+(?:[.,]\d+)*|[{_ZH_DIGITS}]+")
_EN_W = ("zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
         "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
         "million|billion|dozen")
_EN_NUM = re.compile(rf"[$€£¥]?\d+(?:[.,:]\d+)*(?:k\b|m\b|bn\b)?|\b(?:{_EN_W})(?:[\s-]+(?:and[\s-]+)?(?:{_EN_W}))*\b")
_EN_CURRENCY = re.compile(r"\s*(?:dollars?|bucks|usd|rmb|yuan|pounds?|euros?|grand)\b")
_PERCENT = re.compile(r"\s*(?:%|percent\b|per\s+cent\b)")


def _zh_number_ok(norm: str, s: int, e: int) -> bool:
    run = norm[s:e]
    if run[0].isdigit():
        return True
    nxt, prev = norm[e:e + 1], norm[s - 1:s]
    if prev == "第":
        return True
    if run in _ZH_STOP and nxt not in _ZH_UNITS:
        return False
    if len(run) >= 2:
        return True
    if run == "十" and nxt == "分":
        return False
    if run == "一" and (nxt in _ZH_ONE_NOT and not norm.startswith("个月", e)):
        return False
    return nxt in _ZH_UNITS


def numbers(norm: str, lang: str) -> list[tuple[str, int, int]]:
    """Number expressions as ``(kind, start, end)``; kind is ``amount``, ``percent`` or ``number``.

    Chinese: digit runs, and Chinese-numeral runs that are longer than one character or carry a
    unit or classifier (三年, 两个, 五万); lexicalised words such as 一定, 一起, 一点, 十分, 万一 are
    not numbers. Amounts carry a currency unit (元, 块, 美元, $, dollars) or a 万/亿 magnitude
    (in loan talk almost always money). Percentages: %, 百分之..., percent.

    Parameters
    ----------
    norm : str
        Normalised text.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    list of tuple
    """
    out: list[tuple[str, int, int]] = []
    if lang == "zh":
        for m in _ZH_NUM.finditer(norm):
            s, e = m.span()
            if norm[s - 3:s] == "百分之" or norm.startswith("百分之", s):
                continue
            if not _zh_number_ok(norm, s, e):
                continue
            pct = _PERCENT.match(norm, e)
            cur = _ZH_CURRENCY.match(norm, e)
            if pct:
                out.append(("percent", s, pct.end()))
            elif cur or any(c in "万亿" for c in norm[s:e]) or norm[s - 1:s] in ("¥", "$"):
                out.append(("amount", s, cur.end() if cur else e))
            else:
                unit = 2 if norm.startswith("个月", e) else int(norm[e:e + 1] in _ZH_UNITS)
                out.append(("number", s, e + unit))
        for m in re.finditer(rf"百分之[{_ZH_DIGITS}\d.]+", norm):
            out.append(("percent", m.start(), m.end()))
        return sorted(out, key=lambda x: x[1])
    for m in _EN_NUM.finditer(norm):
        s, e = m.span()
        pct = _PERCENT.match(norm, e)
        cur = _EN_CURRENCY.match(norm, e)
        if pct:
            out.append(("percent", s, pct.end()))
        elif cur or norm[s] in "$€£¥" or norm[e - 1] == "k":
            out.append(("amount", s, cur.end() if cur else e))
        else:
            out.append(("number", s, e))
    return out


_VOWELS = re.compile(r"[aeiouy]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def syllables(tokens: list[Token]) -> int:
    """Approximate syllable count: one per Han character or digit, vowel groups for Latin words."""
    n = 0
    for t in tokens:
        if not t.word:
            continue
        han = len(_HAN.findall(t.text))
        if han:
            n += han
            continue
        if t.text[0].isdigit():
            n += sum(c.isdigit() for c in t.text)
            continue
        w = t.text.split("'")[0]
        k = len(_VOWELS.findall(w))
        if w.endswith("e") and not w.endswith(("le", "ee")) and k > 1:
            k -= 1
        n += max(1, k)
    return n


def is_han(c: str) -> bool:
    """Whether a character is a CJK ideograph."""
    return bool(_HAN.match(c))
