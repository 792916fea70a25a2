"""The explanation panel's sentences for the case report, in the report's language.

The report is laid out in :mod:`app.services.report`, which may not import the UI; the sentence
code (:mod:`app.ui._evidence_text`, :mod:`app.ui._integrity_text`) and the translation table live
here. :class:`ReportText` hands them down as plain strings, so the report says exactly what the
panel says, and the command line and the review window share it. No widget is involved; only
:mod:`app.ui.i18n` touches Qt (QtCore, for its language-changed signal).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.ui import i18n
from app.ui._evidence_text import Sentence, forgery_sentences, fusion_sentence, voice_sentence
from app.ui._integrity_text import FLAG, At, check_label, finding_sentences, ordered


def _plain(s: Sentence, times: dict[int, float | None]) -> str:
    """A sentence template filled in as plain text: frame lists as "frame N (t s)", times as m:ss.s."""
    template, values = s

    def one(v: Any) -> str:
        if isinstance(v, list):
            shown = []
            for f in v[:6]:
                t = times.get(int(f))
                shown.append(i18n.tr("frame {0} ({1})").format(int(f), i18n.tr("{0} s").format(f"{t:.2f}")
                                                                if t is not None else "?"))
            return i18n.tr(", ").join(shown) + (" …" if len(v) > 6 else "")
        if isinstance(v, At):
            if not math.isfinite(v.t):
                return "?"
            m, sec = divmod(max(v.t, 0.0), 60.0)
            return f"{int(m)}:{sec:04.1f}"
        return str(v)

    try:
        return template.format(**{k: one(v) for k, v in values.items()})
    except (KeyError, IndexError, ValueError):  # a translation with a broken placeholder
        return template + " " + ", ".join(one(v) for v in values.values())


class ReportText:
    """Translation and plain-language sentences for one report language (``"en"`` or ``"zh"``)."""

    def __init__(self, language: str) -> None:
        self.language = i18n.normalize(language)

    @contextmanager
    def active(self) -> Iterator[ReportText]:
        """Translate into the report's language while the report is built, then restore the UI's.

        The module's language is swapped without the changed signal: the open window must not
        retranslate itself for a report written in the other language.
        """
        with i18n.borrowed(self.language):
            yield self

    def tr(self, text: str) -> str:
        return i18n.tr(text)

    def cue_label(self, name: str) -> str:
        return i18n.cue_label(name)

    def status_label(self, code: str) -> str:
        return i18n.status_label(code)

    def forgery(self, f: dict[str, Any], limit: int = 3) -> list[str]:
        """Why the forgery probability of an explanation (``timeline.explain()["forgery"]``) is what it is:
        the fusion sentence, then the evidence of the cues that add most, as the panel words them."""
        out = []
        g = f.get("integrity") or {}
        carried = fusion_sentence(f, i18n.cue_label)
        if carried is not None:
            out.append(_plain(carried, {}))
        times = {int(k): v for k, v in (f.get("frame_times") or {}).items()}
        cues = sorted((f.get("cues") or {}).items(), key=lambda kv: -float((kv[1] or {}).get("contribution") or 0.0))
        for name, cue in [kv for kv in cues if kv[0] != "integrity"][:limit]:
            cue = cue or {}
            if not float(cue.get("contribution") or 0.0) > 0.0:
                continue
            lines = [_plain(s, times) for s in forgery_sentences(name, cue.get("evidence"))][:3]
            if lines:
                out.append(f"{i18n.cue_label(name)}: " + " ".join(lines))
        if f.get("carried_by") == "integrity":
            for label, lines in self.integrity(g)[0]:
                out.append(f"{label}: " + " ".join(lines))
        return out

    def integrity(self, g: dict[str, Any] | None) -> tuple[list[tuple[str, list[str]]], list[str]]:
        """Capture integrity: ([(check label, sentences)] for the checks that found something, [clean checks])."""
        if not g:
            return [], []
        findings = ordered(list(g.get("findings") or []))
        found = [f for f in findings if float(f.get("weighted") or 0.0) >= FLAG]
        return ([(check_label(str(f.get("check"))), [_plain(s, {}) for s in finding_sentences(f)]) for f in found],
                [check_label(str(f.get("check"))) for f in findings if f not in found])

    def voice(self, evidence: dict[str, Any], limit: int = 3) -> list[str]:
        """The risk model's top cues of an utterance, one sentence each (▲ raises, ▼ lowers)."""
        cues = [t for t in (evidence or {}).get("top_cues") or [] if isinstance(t, dict)][:limit]
        return [("▲ " if float(t.get("contribution") or 0.0) > 0 else "▼ ") + voice_sentence(t) for t in cues]
