"""Rich-text rendering of an explanation (the dict from ``app.services.timeline.explain``).

Kept apart from the panel's threading so each stays small. Every number carries its unit or scale;
every heading and sentence goes through ``tr``; the words the applicant spoke are shown as spoken.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from app.ui import i18n
from app.ui._evidence_text import NOTHING, forgery_sentences, fusion_sentence, no_cue_sentence, voice_sentence
from app.ui._integrity_text import CONTEXT, FLAG, At, check_label, finding_sentences, ordered
from app.ui.i18n import N_, tr

EMOTION_NOT_RUN = N_("Emotion analysis was not run: the interview's purpose is {0}, and under the EU profile the "
                     "EU AI Act (Art. 5(1)(f)) prohibits emotion recognition in the workplace.")
PURPOSES = (N_("employee"), N_("hiring"))  # the purposes for which the EU profile refuses emotion analysis
MAX_UTTERANCES = 20  # an interval over a whole interview would otherwise render pages of text


def _secs(t: float) -> str:
    return tr("{0} s").format(f"{t:.2f}")


def _pct(p: float | None) -> str:
    return "–" if p is None or not np.isfinite(p) else f"{100.0 * float(p):.0f}%"


def _num(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return html.escape(str(v))
    return "–" if not np.isfinite(f) else f"{f:.{digits}f}"


def _frame_link(frame: int, times: dict[int, float | None], c: dict[str, str]) -> str:
    """``frame N (t s)`` as a ``seek:`` link (plain text when the frame's time is unknown)."""
    t = times.get(int(frame))
    # non-breaking spaces: a link never wraps inside its own brackets
    label = html.escape(tr("frame {0} ({1})").format(frame, _secs(t) if t is not None else "?")).replace(" ", "&nbsp;")
    return f'<a href="seek:{t:.4f}" style="color:{c["link"]};">{label}</a>' if t is not None else label


def _time_link(t: float, c: dict[str, str]) -> str:
    """``m:ss.s`` as a ``seek:`` link (plain text when the time is unknown)."""
    if not np.isfinite(t):
        return "?"
    m, sec = divmod(max(float(t), 0.0), 60.0)
    return f'<a href="seek:{t:.4f}" style="color:{c["link"]};">{int(m)}:{sec:04.1f}</a>'


def _sentence(template: str, values: dict[str, Any], times: dict[int, float | None], c: dict[str, str]) -> str:
    """A translated sentence template filled in as HTML: values escaped, frame lists as seek links."""
    parts = {k: tr(", ").join(_frame_link(int(f), times, c) for f in v) if isinstance(v, list)
             else _time_link(v.t, c) if isinstance(v, At) else html.escape(str(v)) for k, v in values.items()}
    try:
        return html.escape(template).format(**parts)
    except (KeyError, IndexError, ValueError):  # a translation with a broken placeholder: show the values
        return html.escape(template) + " " + html.escape(", ".join(str(v) for v in values.values()))


def _evidence_text(name: str, ev: Any, times: dict[int, float | None], c: dict[str, str]) -> str:
    """One cue's evidence as plain-language sentences (numbers with units and norms, frames as links)."""
    lines = [_sentence(t, v, times, c) for t, v in forgery_sentences(name, ev)]
    if not lines:
        return _p(html.escape(tr(NOTHING)), f'color:{c["muted"]};')
    return '<ul style="margin-top:0; margin-bottom:4px;">' + "".join(f"<li>{x}</li>" for x in lines) + "</ul>"


def highlight(text: str, words: list[dict[str, Any]], bg: str, fg: str) -> str:
    """``text`` as HTML with each risk word wrapped in a coloured span.

    ``words`` carry ``start``/``end`` character offsets into ``text``; a word whose offsets do not
    match the text (e.g. after an edit of the transcript) is found by a case-insensitive search.
    """
    spans: list[tuple[int, int]] = []
    low = text.lower()
    for w in words:
        s, e, word = w.get("start"), w.get("end"), str(w.get("word") or w.get("text") or "")
        ok = isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)
        if not (ok and (not word or text[s:e].lower() == word.lower())):
            s = low.find(word.lower()) if word else -1
            e = s + len(word)
        if s is not None and s >= 0 and e > s:
            spans.append((s, e))
    out, pos = [], 0
    for s, e in sorted(spans):
        if s < pos:
            continue  # overlapping hits: keep the first
        out.append(html.escape(text[pos:s]))
        out.append(f'<span style="background-color:{bg}; color:{fg}; font-weight:600;">'
                   f"{html.escape(text[s:e])}</span>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _h(text: str) -> str:
    return f"<h3 style=\"margin-top:10px; margin-bottom:4px;\">{html.escape(text)}</h3>"


def _p(text: str, style: str = "") -> str:
    return f'<p style="margin:2px 0; {style}">{text}</p>'


def _table(head: list[str], rows: list[list[str]], c: dict[str, str]) -> str:
    th = "".join(f'<th align="left" style="background-color:{c["panel"]};">{html.escape(x)}</th>' for x in head)
    body = "".join("<tr>" + "".join(f"<td>{x}</td>" for x in r) + "</tr>" for r in rows)
    return f'<table cellspacing="0" cellpadding="3" border="1" style="border-color:{c["grid"]};">' \
           f"<tr>{th}</tr>{body}</table>"


def render(res: dict[str, Any], c: dict[str, str]) -> str:
    """The explanation ``res`` (from ``timeline.explain``) as rich text in theme colours ``c``."""
    t0, t1 = float(res.get("t0") or 0.0), res.get("t1")
    if t1 is None or abs(float(t1) - t0) < 1e-9:
        title = tr("At {0}").format(_secs(t0))
    else:
        title = tr("{0} to {1} ({2})").format(_secs(t0), _secs(float(t1)), _secs(float(t1) - t0))
    parts = [f'<h2 style="margin:0;">{html.escape(title)}</h2>', _quality(res.get("quality") or {}, c),
             _face(res, c), _forgery(res.get("forgery") or {}, res.get("quality") or {}, c),
             _speech(res.get("utterances") or [], res.get("t1") is not None, c),
             _features(res.get("features_vs_baseline") or [], c)]
    return f'<div style="color:{c["fg"]};">' + "".join(parts) + "</div>"


def _reasons(reasons: dict[str, Any]) -> str:
    items = sorted(reasons.items(), key=lambda kv: -float(kv[1] or 0))
    return ", ".join(f"{tr(str(k))} ({v})" for k, v in items[:4])


def _quality(q: dict[str, Any], c: dict[str, str]) -> str:
    if "usable_share" not in q:
        return ""
    line = tr("Usable frames: {0}").format(_pct(q.get("usable_share")))
    reasons = {k: v for k, v in (q.get("reasons") or {}).items() if k}
    if reasons:
        line += " · " + tr("reasons: {0}").format(_reasons(reasons))
    return _p(html.escape(line), f'color:{c["muted"]};')


def _face(res: dict[str, Any], c: dict[str, str]) -> str:
    out = [_h(tr("Face"))]
    refused = res.get("emotion_not_run")
    if refused:  # a compliance profile kept emotion analysis from running: say so, and why
        purpose = str(refused.get("purpose") or "")
        out.append(_p(html.escape(tr(EMOTION_NOT_RUN).format(tr(purpose) if purpose in PURPOSES else purpose)),
                      f'color:{c["muted"]};'))
        return "".join(out)
    expr, aus = res.get("expression") or {}, res.get("top_aus") or []
    probs = {k: float(v) for k, v in (expr.get("probs") or {}).items() if v is not None and np.isfinite(v)}
    dom = expr.get("dominant")
    if not dom and not aus:
        out.append(_p(html.escape(tr("No face data at this time.")), f'color:{c["muted"]};'))
        return "".join(out)
    if dom:
        line = tr("Dominant expression: {0} {1}").format(tr(str(dom)), _pct(probs.get(dom)))
        swatch = f'<span style="color:{c.get(str(dom), c["fg"])};">■</span> '
        out.append(_p(swatch + f"<b>{html.escape(line)}</b>"))
    if probs:
        ranked = sorted(probs.items(), key=lambda kv: -kv[1])[:4]
        line = " · ".join(f"{tr(k)} {_pct(v)}" for k, v in ranked if v >= 0.005)
        out.append(_p(html.escape(tr("Expression probabilities (0–100%): {0}").format(line)),
                      f'color:{c["muted"]};'))
    if aus:
        out.append(_p(f"<b>{html.escape(tr('Top action units (intensity 0–5)'))}</b>"))
        items = []
        for a in aus:
            reading = tr("{au} {name} {value} (session mean {mean})").format(
                au=a.get("au", ""), name=tr(str(a.get("name", ""))), value=_num(a.get("value"), 1),
                mean=_num(a.get("mean_session"), 1))
            if a.get("estimated_from"):
                reading += " — " + tr("an estimate from {src}: the face mesh cannot measure {au} itself").format(
                    src=a["estimated_from"], au=a.get("au", ""))
            items.append(f"<li>{html.escape(reading)}</li>")
        out.append("<ul style=\"margin-top:0;\">" + "".join(items) + "</ul>")
    return "".join(out)


def _forgery(f: dict[str, Any], q: dict[str, Any], c: dict[str, str]) -> str:
    out = [_h(tr("Forgery"))]
    p = f.get("probability")
    if p is None or f.get("insufficient"):
        msg = tr("Insufficient evidence: {0}").format(no_cue_sentence(f.get("reason"), q.get("reasons") or {}))
        out.append(_p(f"<b>{html.escape(msg)}</b>", f'color:{c["muted"]};'))
    else:
        msg = tr("Forgery probability: {0} (0–100%)").format(_pct(p))
        out.append(_p(f"<b>{html.escape(msg)}</b>"))
        carried = fusion_sentence(f, i18n.cue_label)
        if carried is not None:
            out.append(_p(_sentence(carried[0], carried[1], {}, c)))
    if f.get("session_probability") is not None:
        whole = tr("Whole interview: {0}").format(_pct(f["session_probability"]))
        out.append(_p(html.escape(whole), f'color:{c["muted"]};'))
    cues = f.get("cues") or {}
    times = {int(k): v for k, v in (f.get("frame_times") or {}).items()}
    if cues:
        def order(kv: tuple[str, Any]) -> tuple[float, float]:  # what adds most first, then most suspicious
            cue = kv[1] or {}
            return -float(cue.get("contribution") or 0.0), -float(cue.get("score") if cue.get("score") is not None else -1.0)

        for name, cue in sorted(cues.items(), key=order):
            cue = cue or {}
            sw = f'<span style="color:{c.get("cue." + name, c["fg"])};">■</span> '
            if cue.get("score") is None:
                score = html.escape(tr("insufficient evidence"))
            else:
                score = html.escape(tr("score {0} (0–1)").format(_num(cue.get("score"))))
            if cue.get("weight") is not None:
                score += " · " + html.escape(tr("weight {0}").format(_num(cue.get("weight"))))
            out.append(_p(f"{sw}<b>{html.escape(i18n.cue_label(name))}</b> "
                          f'<span style="color:{c["muted"]};">{score}</span>', "margin-top:4px;"))
            out.append(_evidence_text(name, cue.get("evidence"), times, c))
    elif p is not None:
        out.append(_p(html.escape(tr("No forgery cue at this time.")), f'color:{c["muted"]};'))
    frames = [int(x) for x in f.get("evidence_frames") or []]
    if frames:
        links = [_frame_link(fr, times, c) for fr in frames[:24]]
        out.append(_p(html.escape(tr("Evidence frames: {0}")).replace("{0}", tr(", ").join(links))))
        out.append(_p(html.escape(tr("Click a frame to show it in the video.")), f'color:{c["muted"]};'))
    out.append(_integrity(f.get("integrity"), c))
    return "".join(out)


def _integrity(g: dict[str, Any] | None, c: dict[str, str]) -> str:
    """The file's capture-integrity checks: the ones that found something as sentences, the rest named."""
    if not g:
        return ""
    head = tr("Capture integrity (whole file): score {0} (0–1)").format(_num(g.get("score")))
    if g.get("weight") is not None:
        head += " · " + tr("weight {0}").format(_num(g.get("weight")))
    out = [_p(f"<b>{html.escape(head)}</b>", "margin-top:8px;")] + _recording(g.get("recording"), c)
    findings = ordered(list(g.get("findings") or []))
    found = [f for f in findings if float(f.get("weighted") or 0.0) >= FLAG]
    for f in found:
        out.append(_p(f"<b>{html.escape(check_label(str(f.get('check'))))}</b> "
                      f'<span style="color:{c["muted"]};">'
                      f'{html.escape(tr("score {0} (0–1)").format(_num(f.get("score"))))}</span>', "margin-top:2px;"))
        lines = [_sentence(t, v, {}, c) for t, v in finding_sentences(f)]
        if lines:
            out.append('<ul style="margin-top:0; margin-bottom:4px;">'
                       + "".join(f"<li>{x}</li>" for x in lines) + "</ul>")
    context = [f for f in findings if f not in found and f.get("check") in CONTEXT]
    for f in context:  # shown, never counted (an honest recording re-encoded shows them)
        lines = " ".join(_sentence(t, v, {}, c) for t, v in finding_sentences(f))
        label = tr("{0} (context, not counted)").format(check_label(str(f.get("check"))))
        out.append(_p(f"<b>{html.escape(label)}</b> {lines}", f'color:{c["muted"]}; margin-top:2px;'))
    clean = [check_label(str(f.get("check"))) for f in findings if f not in found and f not in context]
    if clean:
        out.append(_p(html.escape(tr("Nothing unusual: {0}.").format(tr(", ").join(clean))), f'color:{c["muted"]};'))
    return "".join(out)


def _recording(r: dict[str, Any] | None, c: dict[str, str]) -> list[str]:
    """Recorded by Vigil: the capture device and the disclosure the applicant was shown, with its confirmation."""
    if not r:
        return []
    dev = tr("Recorded by Vigil from {0} ({1}); {2} dropped frames, {3} resolution changes.").format(
        r.get("device") or "?", r.get("backend") or "?", r.get("dropped_frames") or 0, r.get("resolution_changes") or 0)
    if r.get("virtual_camera"):
        dev += " " + tr("The device is a virtual camera: {0}.").format(r["virtual_camera"])
    ok = (tr("Consent confirmed by {0} at {1}.").format(r.get("confirmed_by") or "?", r.get("confirmed_at") or "?")
          if r.get("confirmed") else tr("Consent was NOT confirmed."))
    return [_p(html.escape(dev)), _p(f"<b>{html.escape(ok)}</b> " + html.escape(tr("Disclosure shown:"))),
            _p(html.escape(r.get("disclosure") or "").replace("\n", "<br>"), f'color:{c["muted"]};')]


def _speech(utts: list[dict[str, Any]], interval: bool, c: dict[str, str]) -> str:
    out = [_h(tr("Speech"))]
    if not utts:
        none = tr("No speech in this interval.") if interval else tr("No speech at this time.")
        out.append(_p(html.escape(none), f'color:{c["muted"]};'))
        return "".join(out)
    for u in utts[:MAX_UTTERANCES]:
        who = tr("Speaker {0}").format(u.get("speaker") or "?")
        role = tr("Applicant") if u.get("is_applicant") else tr("Interviewer")
        if u.get("is_applicant") is None:
            role = ""
        head = f"<b>{html.escape(who)}</b>" + (f" · {html.escape(role)}" if role else "")
        if u.get("is_baseline"):
            head += " " + html.escape(tr("(part of the baseline)"))
        span = f'{_num(u.get("start_s"))}–{_secs(float(u.get("end_s") or 0.0))}'
        words = list(u.get("risk_words") or [])
        text = highlight(str(u.get("text") or ""), words, c["highlight_bg"], c["highlight_fg"])
        out.append(_p(f'{head} <span style="color:{c["muted"]};">{html.escape(span)}</span><br>“{text}”',
                      "margin-top:6px;"))
        if words:
            listed = tr(", ").join(tr("“{0}” ({1})").format(w.get("word") or w.get("text") or "",
                                                        tr(str(w.get("category", "")))) for w in words[:8])
            out.append(_p(html.escape(tr("Risk words: {0}").format(listed)), f'color:{c["muted"]};'))
        if u.get("is_applicant") is False:
            # The indicators are about the applicant; the bank's own interviewer is not being assessed.
            out.append(_p(html.escape(tr("Risk indicators are shown for the applicant only.")),
                          f'color:{c["muted"]};'))
            continue
        scores = []
        if u.get("deception_risk") is not None:
            scores.append(tr("Deception risk: {0} (0–1)").format(_num(u["deception_risk"])))
        if u.get("arousal") is not None:
            scores.append(tr("Arousal: {0} SD from the applicant's baseline").format(_num(u["arousal"], 1)))
        if u.get("arousal_level") is not None:
            scores.append(tr("Arousal level: {0} (0–1, absolute, against population norms)")
                          .format(_num(u["arousal_level"])))
        if scores:
            out.append(_p(html.escape(" · ".join(scores))))
        out.append(_risk_reasons(u.get("evidence") or {}, c))
    if len(utts) > MAX_UTTERANCES:
        out.append(_p(html.escape(f"… +{len(utts) - MAX_UTTERANCES}"), f'color:{c["muted"]};'))
    note = tr("These are indicators measured against the applicant's own baseline, not a verdict. "
              "Use them to choose follow-up questions.")
    out.append(_p(f"<i>{html.escape(note)}</i>", f'color:{c["muted"]}; margin-top:6px;'))
    return "".join(out)


def _reading(f: dict[str, Any]) -> str:
    """The plain sentence of a feature row, built from its parts so that it can be translated."""
    label, direction = tr(str(f.get("label") or f.get("name") or "")), f.get("direction")
    if direction not in ("above", "below", "at"):
        return tr(str(f.get("plain") or ""))
    if direction == "at":
        return tr("{0} at baseline").format(label)
    unit, amount = str(f.get("unit") or ""), float(f.get("amount") or 0.0)
    shown = f"{amount:.0f}%" if unit == "%" else f"{amount:.1f} {tr(unit)}"
    key = N_("{0} {1} above baseline") if direction == "above" else N_("{0} {1} below baseline")
    return tr(key).format(label, shown)


def _risk_reasons(ev: dict[str, Any], c: dict[str, str]) -> str:
    """What moved the deception-risk indicator most (the scoring model's top cues), one line each."""
    cues = [t for t in ev.get("top_cues") or [] if isinstance(t, dict)][:3]
    if not cues:
        return ""
    items = []
    for t in cues:
        text = voice_sentence(t)
        arrow = "▲" if float(t.get("contribution") or 0.0) > 0 else "▼"
        items.append(f"<li>{arrow} {html.escape(text)}</li>")
    head = tr("Main reasons (▲ raises, ▼ lowers the risk):")
    if ev.get("calibrated") is False:
        head += " " + tr("(model not yet calibrated on this institution's outcomes)")
    return _p(html.escape(head), f'color:{c["muted"]};') + '<ul style="margin-top:0;">' + "".join(items) + "</ul>"


def _features(feats: list[dict[str, Any]], c: dict[str, str]) -> str:
    out = [_h(tr("Features vs baseline"))]
    if not feats:
        out.append(_p(html.escape(tr("No baseline comparison available.")), f'color:{c["muted"]};'))
        return "".join(out)
    rows = [[html.escape(tr(str(f.get("label") or f.get("name") or ""))), _num(f.get("value")),
             _num(f.get("baseline")), _num(f.get("z"), 1), html.escape(_reading(f))] for f in feats]
    out.append(_table([tr("Feature"), tr("Value"), tr("Baseline"), tr("z (SD from baseline)"), tr("Reading")],
                      rows, c))
    return "".join(out)
