"""Chinese text in Simplified characters (mainland usage), for transcripts, the lexicon and scoring.

Whisper often writes Mandarin in Traditional characters (申請 for 申请); mainland risk officers and
the reference transcripts of Mandarin corpora use Simplified ones. The conversion is OpenCC's
``t2s`` table (characters and the phrases whose conversion depends on context, e.g. 乾隆 stays,
乾淨 becomes 干净), through ``opencc-python-reimplemented`` (pure Python, Apache-2.0). It replaced
zhconv, whose GPL-2.0+ licence the shipped application may not carry. The conversion is a table
look-up: deterministic, and idempotent on text that is already Simplified.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

__all__ = ["to_simplified"]


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """``text`` with its Chinese characters in their Simplified form; anything else unchanged."""
    if not text or not _HAN.search(text):
        return text
    return str(_t2s().convert(text))
