"""Plain-language sentences for the capture-integrity findings of a media file (whole file).

Capture integrity (:mod:`app.core.forensics.integrity`) checks the file, not a face: frozen or
looped stretches, missing frames, a picture that changes format and, for Vigil's own captures, a
virtual camera; the program that wrote the file and cheap re-encoding traces are context
(:data:`CONTEXT`), shown but not counted. The core's findings carry
English summaries; here each finding's *evidence* becomes sentences in the reviewer's language, with
the times as seek links (:class:`At` values), following :mod:`app.ui._evidence_text`.

:func:`finding_sentences` returns ``(template, values)`` pairs like
:func:`app.ui._evidence_text.forgery_sentences`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.ui._evidence_text import Sentence, fixed, pct, secs
from app.ui.i18n import N_, tr


@dataclass(frozen=True)
class At:
    """A time in the video (seconds from the first frame), shown as a link that seeks there."""

    t: float


#: Names of the checks, in the order the panel lists them.
CHECKS = {
    "virtual_camera": N_("Virtual camera"),
    "frozen": N_("Frozen picture"),
    "loop": N_("Looped video"),
    "format_change": N_("Picture format change"),
    "timing": N_("Frame timing"),
    "reencode": N_("Re-encoding traces"),
    "metadata": N_("File metadata"),
}
#: Weighted finding score from which the panel lists a check as a finding (as the core's ``flagged``).
FLAG = 0.15
#: Checks shown as context only: an honest recording re-encoded or re-packaged shows them, so they
#: carry no weight in the integrity score (:mod:`app.core.forensics.integrity`).
CONTEXT = ("metadata", "reencode")


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _s(template: str, **values: Any) -> Sentence:
    return tr(template), values


def _frozen(ev: dict[str, Any], score: float) -> list[Sentence]:
    runs = [r for r in ev.get("runs") or [] if isinstance(r, dict)]
    if not runs:
        return [_s(N_("The picture never stands completely still for half a second or more."))]
    longest = max(runs, key=lambda r: _f(r.get("seconds")))
    total = sum(_f(r.get("seconds")) for r in runs)
    return [_s(N_("The picture stands completely still for {total} s in {n} stretch(es); the longest, {longest} s, "
                  "starts at {at}."), total=secs(total), n=len(runs), longest=secs(_f(longest.get("seconds"))),
               at=At(_f(longest.get("start_s")))),
            _s(N_("A frozen face is typical of a replayed or stalled video feed."))]


def _loop(ev: dict[str, Any], score: float) -> list[Sentence]:
    loops = [r for r in ev.get("loops") or [] if isinstance(r, dict)]
    if not loops:
        return [_s(N_("No stretch of moving video appears twice."))]
    top = loops[0]
    return [_s(N_("A {s} s stretch of moving video appears twice: at {at} and again at {again}. The clip is looped, "
                  "as when a prepared recording is replayed."), s=secs(_f(top.get("seconds"))),
               at=At(_f(top.get("start_s"))), again=At(_f(top.get("copy_start_s"))))]


def _timing(ev: dict[str, Any], score: float) -> list[Sentence]:
    gaps = [g for g in ev.get("gaps") or [] if isinstance(g, dict)]
    out = []
    if gaps:
        out.append(_s(N_("The video skips {missing} s in {n} place(s), the first at {at}: frames are missing, as when "
                         "a recording is cut or the camera stalls."), missing=secs(_f(ev.get("missing_s"))),
                      n=int(_f(ev.get("gap_count")) or len(gaps)), at=At(_f(gaps[0].get("after_s")))))
    irregular = _f(ev.get("irregular_share"))
    if irregular > 0.02:
        out.append(_s(N_("{share}% of the intervals between frames are off by more than half; phones record this "
                         "way, and so do screen and virtual-camera captures. Context only: not counted in the "
                         "score."), share=pct(irregular)))
    median = _f(ev.get("median"))
    if not out and median > 0:
        out.append(_s(N_("Frame timing is regular (about {fps} frames per second)."), fps=fixed(1000.0 / median)))
    return out or [_s(N_("Too few frames to judge frame timing."))]


def _format(ev: dict[str, Any], score: float) -> list[Sentence]:
    changes = [c for c in ev.get("changes") or [] if isinstance(c, dict)]
    if not changes:
        return [_s(N_("Frame size and pixel format stay the same throughout."))]
    c = changes[0]
    return [_s(N_("The picture changes from {a} to {b} at {at}: material from different sources or settings was "
                  "joined."), a=str(c.get("from", "?")), b=str(c.get("to", "?")), at=At(_f(c.get("t"))))]


def _metadata(ev: dict[str, Any], score: float) -> list[Sentence]:
    apps = [str(a) for a in ev.get("writing_apps") or []]
    device, handlers = ev.get("device_tags") or [], ev.get("device_handlers") or []
    if device and not apps:
        return [_s(N_("Looks like a camera or phone original: it carries device tags."))]
    if apps and score >= 0.4:
        return [_s(N_("Written by editing software ({apps}): not a camera original. Editing is not proof of "
                      "tampering: context only, not counted in the score."), apps=", ".join(apps))]
    if apps:
        return [_s(N_("Written by {app}: re-encoded or re-packaged after capture. Common and innocent (meeting "
                      "recorders and converters do it): context only, not counted in the score."), app=apps[0])]
    if handlers:
        return [_s(N_("Written by Apple's or Android's recording framework; no editing tool is named."))]
    return [_s(N_("The file does not say which program wrote it."))]


def _reencode(ev: dict[str, Any], score: float) -> list[Sentence]:
    out = []
    bpp = _f(ev.get("bits_per_pixel"))
    if bpp < 0.01:
        out.append(_s(N_("Very low bitrate for the picture size ({bpp} bits per pixel)."), bpp=f"{bpp:.4f}"))
    a0, v0 = _f(ev.get("audio_start_s")), _f(ev.get("video_start_s"))
    if abs(a0 - v0) > 0.5:
        out.append(_s(N_("Sound and picture start {d} s apart."), d=secs(abs(a0 - v0))))
    ad, vd = _f(ev.get("audio_duration_s")), _f(ev.get("video_duration_s"))
    if abs(ad - vd) > 0.5:
        out.append(_s(N_("Sound and picture lengths differ by {d} s."), d=secs(abs(ad - vd))))
    hidden = int(_f(ev.get("discarded_frames")) or 0)
    if hidden:
        out.append(_s(N_("An edit list hides {n} frames."), n=hidden))
    if out:
        out.append(_s(N_("Each of these has innocent causes: context only, not counted in the score.")))
    return out or [_s(N_("No cheap re-encoding traces (bitrate, sound/picture alignment, edit lists) stand out."))]


def _virtual(ev: dict[str, Any], score: float) -> list[Sentence]:
    product = ev.get("product")
    if product:
        return [_s(N_("Captured through a virtual camera ({product}): software, not a lens, supplied the picture."),
                   product=str(product))]
    return [_s(N_("The capture device is not a known virtual camera."))]


_BY_CHECK = {"frozen": _frozen, "loop": _loop, "timing": _timing, "format_change": _format,
             "metadata": _metadata, "reencode": _reencode, "virtual_camera": _virtual}


def check_label(check: str) -> str:
    """The check's name in the current language."""
    return tr(CHECKS[check]) if check in CHECKS else check.replace("_", " ")


def finding_sentences(finding: dict[str, Any]) -> list[Sentence]:
    """Sentences for one stored finding (``check``, ``score``, ``evidence``)."""
    fn = _BY_CHECK.get(str(finding.get("check")))
    ev = finding.get("evidence") if isinstance(finding.get("evidence"), dict) else {}
    if fn is None:
        return []
    try:
        return fn(ev, _f(finding.get("score")))
    except (TypeError, ValueError, KeyError, AttributeError):
        return []  # malformed stored evidence: the check's name and score still show


def ordered(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings in :data:`CHECKS` order (unknown checks last)."""
    rank = {k: i for i, k in enumerate(CHECKS)}
    return sorted(findings, key=lambda f: rank.get(str(f.get("check")), len(rank)))
