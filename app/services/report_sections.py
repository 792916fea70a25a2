"""The sections of the case report, as :class:`app.services.report.Block` lists (the words, not the layout)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from app.services._explain import _risk_words  # the explanation panel's risk words (same offsets)
from app.services.report import MAX_EXCERPTS, Block, N_, Text, _num, _secs, highlight_runs


def _pct(p: Any) -> str:
    try:
        f = float(p)
    except (TypeError, ValueError):
        return "–"
    return f"{100 * f:.0f}%" if math.isfinite(f) else "–"


def _case(x: Text, case: dict[str, Any], media: dict[str, Any] | None, status: dict[str, Any],
          emotion_not_run: dict[str, str] | None = None) -> list[Block]:
    rows = [[x.tr(N_("Case")), f"{case['name']} (#{case['id']})"],
            [x.tr(N_("Applicant reference")), case.get("applicant_ref") or "–"],
            [x.tr(N_("Status")), x.status_label(status["status"])],
            [x.tr(N_("Created")), str(case.get("created_at") or "–")]]
    if emotion_not_run:  # a compliance profile kept emotion analysis from running (see compliance.emotion_not_run)
        purpose = emotion_not_run.get("purpose") or "–"
        rows.append([x.tr(N_("Emotion analysis")), x.tr(N_(
            "Emotion analysis was not run: the interview's purpose is {0}, and under the EU profile the "
            "EU AI Act (Art. 5(1)(f)) prohibits emotion recognition in the workplace.")).format(x.tr(purpose))])
    out = [Block("h2", x.tr(N_("Case data"))), Block("table", rows=rows, widths=[0.3, 0.7])]
    out.append(Block("h2", x.tr(N_("Media"))))
    if media is None:
        return out + [Block("muted", x.tr(N_("No media analysed yet.")))]
    fps = _num(media.get("fps"), 2)
    rows = [[x.tr(N_("File")), str(media.get("path"))],
            ["SHA-256", str(media.get("sha256"))],
            [x.tr(N_("Duration")), f"{_secs(media.get('duration_s'))} ({_num(media.get('duration_s'), 1)} s)"],
            [x.tr(N_("Picture")), f"{media.get('width')}×{media.get('height')}, {fps} fps, {media.get('video_codec') or '–'}"],
            [x.tr(N_("Sound")), (media.get("audio_codec") or "–") if media.get("has_audio") else x.tr(N_("none"))]]
    return out + [Block("table", rows=rows, widths=[0.3, 0.7])]


def _integrity(x: Text, at0: dict[str, Any]) -> list[Block]:
    g = (at0.get("forgery") or {}).get("integrity")
    out = [Block("h2", x.tr(N_("Capture integrity")))]
    if not g:
        return out + [Block("muted", x.tr(N_("No capture-integrity record for this file.")))]
    out.append(Block("p", runs=[(x.tr(N_("Score {0} (0–1; the higher, the stronger the signs of a replayed, edited or "
                                                     "virtual-camera recording).")).format(_num(g.get("score"))), False)]))
    found, clean = x.integrity(g)
    for label, lines in found:
        out.append(Block("bullets", title=label, items=lines or [label]))
    if clean:
        out.append(Block("muted", x.tr(N_("Nothing unusual: {0}.")).format(x.tr(", ").join(clean))))
    return out


def _summary(x: Text, tl: Any, at0: dict[str, Any], plots: list[tuple[str, bytes]]) -> list[Block]:
    f = at0.get("forgery") or {}
    app = [u for u in tl.utterances if u.get("is_applicant")]
    risks = [float(u["deception_risk"]) for u in app if u.get("deception_risk") is not None]
    usable = float(np.mean(tl.usable)) if len(tl) else math.nan
    rows = [[x.tr(N_("Frames analysed")), f"{len(tl)} ({x.tr(N_('usable'))} {_pct(usable)})"],
            [x.tr(N_("Forgery probability, whole interview")), _pct(f.get("session_probability"))],
            [x.tr(N_("Highest forgery window")),
             _pct(max((w["probability"] for w in tl.forgery_windows if w.get("probability") is not None), default=None))],
            [x.tr(N_("Utterances (applicant)")), f"{len(tl.utterances)} ({len(app)})"],
            [x.tr(N_("Deception-risk indicator, applicant: mean / highest")),
             f"{_num(np.mean(risks)) if risks else '–'} / {_num(max(risks)) if risks else '–'}"]]
    out = [Block("h1", x.tr(N_("Summary"))), Block("table", rows=rows, widths=[0.55, 0.45])]
    for caption, png in plots:
        out.append(Block("image", png=png, caption=caption))
    return out


def _moments(x: Text, moments: list[dict[str, Any]]) -> list[Block]:
    out = [Block("h1", x.tr(N_("Top evidence moments")))]
    if not moments:
        return out + [Block("muted", x.tr(N_("Nothing stands out: no forgery window or scored answer.")))]
    out.append(Block("muted", x.tr(N_("The most suspicious forgery windows and the applicant's answers with the highest "
                                      "deception-risk indicator, with the reasons the explanation panel gives.")),
                     keep_next=True))
    for m in moments:
        res = m["res"]
        span = f"{_secs(m['t0'])}–{_secs(m['t1'])}"
        if m["kind"] == "forgery":
            title = x.tr(N_("{0}: forgery window, probability {1}")).format(span, _pct(m["score"]))
            items = x.forgery(res.get("forgery") or {})
        else:
            title = x.tr(N_("{0}: applicant's answer, deception risk {1} (0–1)")).format(span, _num(m["score"]))
            u = next((u for u in res.get("utterances") or [] if u.get("idx") == m.get("idx")), None)
            items = []
            if u is not None:
                items.append("“" + str(u.get("text") or "") + "”")
                items += x.voice(u.get("evidence") or {})
        expr = res.get("expression") or {}
        if expr.get("dominant"):
            p = (expr.get("probs") or {}).get(expr["dominant"])
            items.append(x.tr(N_("Dominant expression: {0} {1}")).format(x.tr(str(expr["dominant"])), _pct(p)))
        aus = res.get("top_aus") or []
        if aus:
            items.append(x.tr(N_("Strongest action units: {0}")).format(x.tr(", ").join(
                f"{a.get('au')} {x.tr(str(a.get('name', '')))} {_num(a.get('value'), 1)}" for a in aus[:3])))
        out.append(Block("moment", jpeg=m.get("jpeg") or b"", title=title, items=items or ["–"]))
    return out


def _transcript(x: Text, utts: list[dict[str, Any]]) -> list[Block]:
    out = [Block("h1", x.tr(N_("Transcript excerpts")))]
    if not utts:
        return out + [Block("muted", x.tr(N_("No speech was analysed.")))]
    if len(utts) > MAX_EXCERPTS:
        keep = sorted((u for u in utts if u.get("is_applicant")),
                      key=lambda u: -float(u.get("deception_risk") or 0.0))[:MAX_EXCERPTS]
        ids = {u["idx"] for u in keep}
        utts = [u for u in utts if u["idx"] in ids]
        out.append(Block("muted", x.tr(N_("The {0} answers with the highest deception-risk indicator, in time order "
                                          "(the full transcript is in the JSON export).")).format(len(utts))))
    out.append(Block("muted", x.tr(N_("Risk words are highlighted.")), keep_next=True))
    for u in utts:
        ev = u.get("evidence") if isinstance(u.get("evidence"), dict) else json.loads(u.get("evidence_json") or "{}")
        words = _risk_words(ev.get("lexicon_hits") or [])
        role = x.tr(N_("Applicant")) if u.get("is_applicant") else x.tr(N_("Interviewer"))
        head = f"{_secs(u['start_s'])} {x.tr(N_('Speaker {0}')).format(u.get('speaker') or '?')} · {role}"
        if u.get("is_applicant") and u.get("deception_risk") is not None:
            head += " · " + x.tr(N_("risk {0}")).format(_num(u["deception_risk"]))
        out.append(Block("p", title=head, runs=highlight_runs(str(u.get("text") or ""), words)))
    return out


def _annotations(x: Text, anns: list[dict[str, Any]]) -> list[Block]:
    out = [Block("h1", x.tr(N_("Annotations")))]
    if not anns:
        return out + [Block("muted", x.tr(N_("No annotations.")))]
    rows = [[f"{_secs(a['start_s'])}" + (f"–{_secs(a['end_s'])}" if a["end_s"] > a["start_s"] else ""),
             x.tr(a["tier"]), x.tr(a["label"]) if a["label"] else "", a["note"] or "", a.get("author") or ""]
            for a in anns]
    head = [x.tr(N_("Time")), x.tr(N_("Tier")), x.tr(N_("Label")), x.tr(N_("Note")), x.tr(N_("By"))]
    return out + [Block("table", head=head, rows=rows, widths=[0.16, 0.17, 0.25, 0.3, 0.12])]


def _verdict(x: Text, status: dict[str, Any], decisions: list[dict[str, Any]]) -> list[Block]:
    out = [Block("h1", x.tr(N_("Verdict and sign-off")))]
    if status.get("verdict"):
        rows = [[x.tr(N_("Verdict")), x.status_label(status["verdict"])],
                [x.tr(N_("Reason")), status.get("reason") or "–"],
                [x.tr(N_("Reviewer")), f"{status.get('reviewer') or '–'} ({status.get('at') or '–'})"],
                [x.tr(N_("Signed off by")), f"{status['signed_off_by']} ({status['signed_off_at']})"
                 if status.get("signed_off_by") else x.tr(N_("not yet signed off"))]]
        out.append(Block("table", rows=rows, widths=[0.3, 0.7]))
    else:
        out.append(Block("p", runs=[(x.tr(N_("No verdict yet; status: {0}.")).format(
            x.status_label(status["status"])), False)]))
    if decisions:
        rows = [[str(d["at"]), x.tr(N_("sign-off")) if d["kind"] == "signoff" else x.status_label(d["status"]),
                 d.get("supervisor") or d.get("reviewer") or "", d.get("note") or d.get("reason") or ""]
                for d in decisions]
        out.append(Block("h2", x.tr(N_("Decision history"))))
        out.append(Block("table", head=[x.tr(N_("When")), x.tr(N_("Decision")), x.tr(N_("By")),
                                        x.tr(N_("Reason or note"))], rows=rows, widths=[0.24, 0.18, 0.16, 0.42]))
    return out


def _models(x: Text, models: list[dict[str, Any]]) -> list[Block]:
    out = [Block("h1", x.tr(N_("Models used")))]
    if not models:
        return out + [Block("muted", x.tr(N_("No analysis has run yet.")))]
    out.append(Block("muted", x.tr(N_("Validity limits are quoted from each model's card (models/cards/, in English).")),
                     keep_next=True))
    rows = [[str(m.get("name")), str(m.get("version") or "–"), str(m.get("licence") or "–"), m.get("limits") or "–"]
            for m in models]
    head = [x.tr(N_("Model")), x.tr(N_("Version")), x.tr(N_("Licence")), x.tr(N_("Validity limits"))]
    return out + [Block("table", head=head, rows=rows, widths=[0.15, 0.19, 0.17, 0.49])]


def _compliance(x: Text, additions: list[dict[str, str]]) -> list[Block]:
    """What the workspace's compliance profile adds (FinCEN key term, deep-synthesis label, AI Act note)."""
    if not additions:
        return []
    out = [Block("h1", x.tr(N_("Compliance")))]
    rows = [[a["text"], a.get("note", "")] for a in additions]
    return out + [Block("table", head=[x.tr(N_("Required entry")), x.tr(N_("Why"))], rows=rows, widths=[0.4, 0.6])]


def body(x: Text, case: dict[str, Any], media: dict[str, Any] | None, tl: Any, at0: dict[str, Any],
         plots: list[tuple[str, bytes]], moments: list[dict[str, Any]], anns: list[dict[str, Any]],
         decisions: list[dict[str, Any]], status: dict[str, Any], models: list[dict[str, Any]],
         utts: list[dict[str, Any]], additions: list[dict[str, str]] | None = None,
         emotion_not_run: dict[str, str] | None = None) -> list[Block]:
    """Every section in reading order."""
    return [*_case(x, case, media, status, emotion_not_run), *_integrity(x, at0), *_summary(x, tl, at0, plots), *_moments(x, moments), *_transcript(x, utts), *_annotations(x, anns),
            *_verdict(x, status, decisions), *_compliance(x, additions or []), *_models(x, models)]
