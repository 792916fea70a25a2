"""The case report a supervisor reads: what is in it, as a list of blocks (``vigil report``).

:func:`build` reads a case and returns :class:`Report` (headings, paragraphs with highlighted risk
words, tables, plots and evidence moments with their frame thumbnails);
:mod:`app.services.report_pdf` lays it out with reportlab and :mod:`app.services.report_html` as
one self-contained HTML file. Sentences and translation come from a ``text`` object (see
:class:`Text`): the review window and the command line pass :class:`app.ui.report_text.ReportText`,
the explanation panel's own sentences in the report's language; :class:`EnglishText` is the bare
fallback (the benchmark uses it).

Sections: case data; media and capture integrity; summary with plots (expression timeline, AU heat
map, forgery timeline, voice arousal and risk); top evidence moments; transcript excerpts;
annotations; verdict, reason and sign-off; models with versions, licences and validity limits.
Every page's footer says that no score decides on its own.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.services import compliance, review
from app.services import timeline as tlsvc
from app.services.report_plots import au_heatmap, cjk_font, expression_timeline, forgery_timeline, use_font, voice_plot
from app.store import queries
from app.store.workspace import Workspace

MAX_MOMENTS = 5
MAX_EXCERPTS = 16


def N_(text: str) -> str:  # noqa: N802 - marks a string for translation (resources/i18n/zh_CN.json)
    return text


FOOTER = N_("No score in this report decides on its own: every number is an indicator for a person to judge.")


class Text(Protocol):
    language: str

    def active(self) -> Any: ...
    def tr(self, text: str) -> str: ...
    def cue_label(self, name: str) -> str: ...
    def status_label(self, code: str) -> str: ...
    def forgery(self, f: dict[str, Any], limit: int = 3) -> list[str]: ...
    def integrity(self, g: dict[str, Any] | None) -> tuple[list[tuple[str, list[str]]], list[str]]: ...
    def voice(self, evidence: dict[str, Any], limit: int = 3) -> list[str]: ...


class EnglishText:
    """English without the explanation panel's sentence tables (for the benchmark and headless tests of layout)."""

    language = "en"

    def active(self) -> Any:
        return nullcontext(self)

    def tr(self, text: str) -> str:
        return text

    def cue_label(self, name: str) -> str:
        return name

    def status_label(self, code: str) -> str:
        return code.replace("_", " ")

    def forgery(self, f: dict[str, Any], limit: int = 3) -> list[str]:
        cues = sorted((f.get("cues") or {}).items(), key=lambda kv: -float((kv[1] or {}).get("contribution") or 0))
        return [f"{k}: score {float((c or {}).get('score') or 0):.2f}" for k, c in cues[:limit]]

    def integrity(self, g: dict[str, Any] | None) -> tuple[list[tuple[str, list[str]]], list[str]]:
        fs = list((g or {}).get("findings") or [])
        return [(str(f.get("check")), [str(f.get("summary") or "")]) for f in fs if float(f.get("weighted") or 0) >= 0.15], []

    def voice(self, evidence: dict[str, Any], limit: int = 3) -> list[str]:
        return [str(t.get("label")) for t in (evidence or {}).get("top_cues") or []][:limit]


@dataclass
class Block:
    """One piece of the report. ``kind``: h1, h2, p (``runs`` of (text, highlighted)), muted, bullets
    (``items``), table (``head``, ``rows``, ``widths`` as shares), image (``png``, ``caption``), moment
    (``jpeg`` thumbnail, ``title``, ``items``), pagebreak."""

    kind: str
    text: str = ""
    runs: list[tuple[str, bool]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    png: bytes = b""
    jpeg: bytes = b""
    title: str = ""
    caption: str = ""
    keep_next: bool = False  # stays on the page of the block after it (an introduction)


@dataclass
class Report:
    title: str
    language: str
    footer: str
    page_label: str  # "Page {0} of {1}" translated
    blocks: list[Block]


def _secs(t: float | None) -> str:
    if t is None or not math.isfinite(float(t)):
        return "–"
    m, s = divmod(max(float(t), 0.0), 60.0)
    return f"{int(m)}:{s:04.1f}"


def _num(v: Any, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    return f"{f:.{digits}f}" if math.isfinite(f) else "–"


def highlight_runs(text: str, words: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """``text`` split into (piece, is_risk_word) runs; offsets first, else a case-insensitive search
    (the same rule as the explanation panel's highlighter)."""
    spans, low = [], text.lower()
    for w in words:
        s, e, word = w.get("start"), w.get("end"), str(w.get("word") or w.get("text") or "")
        ok = isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)
        if not (ok and (not word or text[s:e].lower() == word.lower())):
            s = low.find(word.lower()) if word else -1
            e = s + len(word)
        if s >= 0 and e > s:
            spans.append((s, e))
    out, pos = [], 0
    for s, e in sorted(spans):
        if s < pos:
            continue
        if s > pos:
            out.append((text[pos:s], False))
        out.append((text[s:e], True))
        pos = e
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def thumbnail(path: str, t: float, width: int = 360) -> bytes:
    """A JPEG of the video frame at ``t`` seconds (empty when the file cannot be read there)."""
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            return b""
        cap.set(cv2.CAP_PROP_POS_MSEC, max(t, 0.0) * 1000.0)
        ok, img = cap.read()
        if not ok or img is None:
            return b""
        h, w = img.shape[:2]
        img = cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 82])
        return buf.tobytes() if ok else b""
    finally:
        cap.release()


def _moments(tl: tlsvc.TimelineData) -> list[dict[str, Any]]:
    """The moments that stand out most: the most suspicious forgery windows (not overlapping) and
    the applicant's answers with the highest deception-risk indicator, in time order."""
    out: list[dict[str, Any]] = []
    wins = sorted((w for w in tl.forgery_windows if w.get("probability") is not None),
                  key=lambda w: (-float(w["probability"]), float(w["start_s"])))
    for w in wins:
        if len([m for m in out if m["kind"] == "forgery"]) >= 2:
            break
        if all(w["end_s"] <= m["t0"] or w["start_s"] >= m["t1"] for m in out):
            out.append({"kind": "forgery", "t0": float(w["start_s"]), "t1": float(w["end_s"]),
                        "score": float(w["probability"])})
    utts = sorted((u for u in tl.utterances if u.get("is_applicant") and u.get("deception_risk") is not None),
                  key=lambda u: -float(u["deception_risk"]))
    for u in utts[:MAX_MOMENTS - len(out)]:
        out.append({"kind": "voice", "t0": float(u["start_s"]), "t1": float(u["end_s"]),
                    "score": float(u["deception_risk"]), "idx": u["idx"]})
    return sorted(out, key=lambda m: m["t0"])


#: The longest limits quote a report prints per model (whole sentences up to this many characters).
LIMITS_CHARS = 600


def _card_limits(card: str) -> str:
    """The start of a model card's limits section (a "limits" heading or bold lead-in), else of the card."""
    from app.paths import models_dir

    try:
        text = (models_dir() / card).read_text(encoding="utf-8")
    except OSError:
        return ""
    m = re.search(r"^##+ [^\n]*limit[^\n]*\n|\*\*[^*\n]*limits?[^*\n]*\*\*:?", text, re.I | re.M)
    status = re.search(r"^\| *Status *\| *(.+?) *\|\s*$", text, re.M)  # a card's summary table says it
    if m is None and status is not None:
        return _sentence(re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", status.group(1)).strip())
    body = text[m.end():] if m else re.sub(r"^#.*\n", "", text, count=1)
    body = re.sub(r"^\|.*$", "", body, flags=re.M)  # markdown tables do not read as a sentence
    first = re.split(r"^#", body, maxsplit=1, flags=re.M)[0]
    body = first if first.strip() else re.sub(r"^#.*$", "", body, flags=re.M)
    body = re.sub(r"^\s*[-*] ", "• ", body, flags=re.M)
    # Markdown emphasis out; an underscore inside a word (no_repeat_ngram_size) is part of a name.
    body = re.sub(r"\s+", " ", re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", body)).strip(" ;:")
    if len(body) > LIMITS_CHARS:  # whole sentences only; a single overlong one ends at a word with "…"
        cut = body[:LIMITS_CHARS]
        end = max(cut.rfind(". "), cut.rfind("; "), cut.rfind(" • "))
        body = cut[:end + 1].rstrip(" ;•") if end > 150 else cut[:cut.rfind(" ")].rstrip(" ,;") + " …"
    return _sentence(body)


def _sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop when it ends on a word."""
    if text and (text[-1].isalnum() or text.endswith(")")):
        text += "."
    return text[:1].upper() + text[1:]


def _models(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """Every model a run of the case used (from the run records), and the fusion and risk models behind
    its scores, each with its card's validity limits."""
    from app.paths import models_dir
    from app.store import runs

    try:
        manifest = {m["name"]: m for m in json.loads((models_dir() / "manifest.json").read_text("utf-8"))["models"]}
    except (OSError, ValueError, KeyError):
        manifest = {}
    out, seen = [], set()
    for kind in ("video", "voice"):
        run = runs.case_run(ws, case_id, kind=kind)
        used = json.loads((run or {}).get("models_json") or "[]")
        if kind == "video" and run and queries.forgery_session(ws, run["id"], 0) is not None:
            used.append({"name": "forgery_fusion", "version": "fusion weights of the run", "licence": "Proprietary (Vigil)",
                         "card": "cards/forgery_fusion.md"})
        if kind == "voice" and run:
            from app.store import voice as vstore

            model = next((u["risk_model"] for u in vstore.utterances(ws, run["id"]) if u["risk_model"]), None)
            if model:
                used.append({"name": "deception_risk", "version": model, "licence": "Proprietary (Vigil)",
                             "card": "cards/deception_risk.md"})
        for m in used:
            if m.get("name") in seen:
                continue
            seen.add(m.get("name"))
            card = m.get("card") or manifest.get(m.get("name"), {}).get("card", "")
            out.append({**m, "limits": _card_limits(card) if card else "", "card": card})
    return out


def _utterances(ws: Workspace, run: dict[str, Any] | None) -> list[dict[str, Any]]:
    from app.store import voice as vstore

    return list(vstore.utterances(ws, run["id"])) if run else []


def build(ws: Workspace, case_ref: str | int, text: Text | None = None, thumbs: bool = True) -> Report:
    """Read the case and lay out its report (see the module docstring)."""
    text = text or EnglishText()
    with text.active():
        return _build(ws, case_ref, text, thumbs)


def _build(ws: Workspace, case_ref: str | int, x: Text, thumbs: bool) -> Report:
    from app.services.report_sections import body

    case = ws.find_case(case_ref)
    tl = tlsvc.load_timeline(ws, case["id"])
    runs_ = queries.case_runs(ws, case["id"])
    media = ws.media(runs_[next(iter(runs_))]["media_id"]) if runs_ else None
    at0 = tlsvc.explain(ws, case["id"], 0.0) if len(tl) else {}
    not_run = compliance.emotion_not_run(ws, case["id"])  # emotion analysis refused by the compliance profile
    use_font(cjk_font())  # Chinese labels in the plots (and Chinese words in an English report's transcript)
    moments = []
    for m in _moments(tl):
        res = tlsvc.explain(ws, case["id"], m["t0"], m["t1"])
        jpeg = thumbnail(tl.media_path, 0.5 * (m["t0"] + m["t1"])) if thumbs and tl.media_path else b""
        moments.append({**m, "res": res, "jpeg": jpeg})
    plots = [(x.tr(N_("Expression timeline")), expression_timeline(tl, x.tr)),
             (x.tr(N_("Action-unit heat map (intensity 0–5)")), au_heatmap(tl, x.tr)),
             (x.tr(N_("Forgery timeline")), forgery_timeline(tl, x.tr, x.cue_label)),
             (x.tr(N_("Voice: arousal and deception risk per utterance")), voice_plot(tl, x.tr))]
    blocks = body(x, case, media, tl, at0, plots, moments, review.annotations(ws, case["id"]),
                  review.decisions(ws, case["id"]), review.case_status(ws, case["id"]), _models(ws, case["id"]),
                  _utterances(ws, runs_.get("voice")),
                  compliance.report_additions(compliance.profile(ws), (at0.get("forgery") or {}).get("session_probability"),
                                              emotion_refused=not_run is not None), not_run)
    title = x.tr(N_("Case report: {0}")).format(case["name"])
    return Report(title=title, language=x.language, footer=x.tr(FOOTER), page_label=x.tr(N_("Page {0} of {1}")),
                  blocks=blocks)


def usable_share(tl: tlsvc.TimelineData) -> float:
    return float(np.mean(tl.usable)) if len(tl) else math.nan


def write_report(ws: Workspace, case_ref: str | int, text: Text | None = None, pdf: str | Path | None = None,
                 html: str | Path | None = None) -> int:
    """Build the report once, write the PDF and/or HTML, and audit each file; returns the PDF's pages (0 without)."""
    from app.services.export import record_export
    from app.services.report_html import write_html
    from app.services.report_pdf import write_pdf

    report = build(ws, case_ref, text)
    case_id = int(ws.find_case(case_ref)["id"])
    pages = 0
    if pdf:
        pages = write_pdf(report, pdf)
        record_export(ws, case_id, "report_pdf", pdf, pages, language=report.language)
    if html:
        write_html(report, html)
        record_export(ws, case_id, "report_html", html, 0, language=report.language)
    return pages

