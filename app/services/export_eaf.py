"""ELAN (.eaf 3.0) export and import of a case, through pympi-ling.

Export: one tier per annotation tier (a reviewer's note rides on a symbolic child tier
``<tier> (note)``), the transcript per speaker (``Transcript <speaker>``), the dominant expression
where it stands above :data:`EXPRESSION_THRESHOLD` (``Expression``), and one tier per AU for the
stretches where its intensity reaches :data:`AU_THRESHOLD` (``AU12 lip corner puller``). The media
file is linked so ELAN opens the video with it.

Import: every top-level tier whose linguistic type is not Vigil's analysis type becomes (or joins)
an annotation tier of the same name; each annotation comes back with its label (or, when the
tier's vocabulary lacks the value, with the value kept as its note). Annotations already on the
case (same tier, times to the millisecond, label and note) are skipped, so importing the file a
case was exported to changes nothing, and a round trip keeps every annotation. ELAN has no
zero-length annotation, so a point (a marker) is written lasting :data:`POINT_MS` and an annotation
that short is read back as a point.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import VigilError
from app.services import review
from app.services.export import record_export
from app.services.timeline import AU_LABELS, load_timeline
from app.store import audit
from app.store.workspace import Workspace

#: A non-neutral expression probability at or above this, for at least :data:`MIN_EVENT_S`, is an event.
EXPRESSION_THRESHOLD = 0.5
#: AU intensity (0-5) at or above this ("B", slight evidence, on the FACS A-E scale) is an event.
AU_THRESHOLD = 2.0
MIN_EVENT_S = 0.2
ANNOTATION_TYPE = "vigil-annotation"  # linguistic type of annotation tiers (what import reads back)
NOTE_TYPE = "vigil-note"  # symbolic association under an annotation tier
ANALYSIS_TYPE = "vigil-analysis"  # transcript, expression and AU tiers (import skips them)
NOTE_SUFFIX = " (note)"
#: A point annotation (end == start) is written lasting this many ms, and read back as a point.
POINT_MS = 1


@dataclass
class EafImport:
    added: int
    present: int
    tiers_created: list[str]


def _ms(t: float) -> int:
    return int(round(float(t) * 1000.0))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True stretches of ``mask``."""
    if not len(mask):
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _events(t: np.ndarray, mask: np.ndarray, dt: float) -> list[tuple[int, int, int, int]]:
    """(start ms, end ms, first row, end row) of stretches of ``mask`` lasting at least MIN_EVENT_S."""
    out = []
    for a, b in _runs(mask):
        t0, t1 = float(t[a]), float(t[b - 1]) + dt
        if t1 - t0 >= MIN_EVENT_S:
            out.append((_ms(t0), _ms(t1), a, b))
    return out


def expression_events(tl: Any) -> list[tuple[int, int, str]]:
    """(start ms, end ms, "happiness 0.83") where one non-neutral expression leads above the threshold."""
    if not len(tl):
        return []
    dt = 1.0 / tl.fps if tl.fps else 0.04
    ex = np.nan_to_num(tl.expressions.astype(np.float64), nan=0.0)
    names = list(tl.expr_names)
    best = ex.argmax(axis=1)
    out = []
    for k, name in enumerate(names):
        if name == "neutral":
            continue
        mask = (best == k) & (ex[:, k] >= EXPRESSION_THRESHOLD)
        for s, e, a, b in _events(tl.t, mask, dt):
            out.append((s, e, f"{name} {float(ex[a:b, k].max()):.2f}"))
    return sorted(out)


def au_events(tl: Any) -> dict[str, list[tuple[int, int, str]]]:
    """Per AU, (start ms, end ms, "peak 2.7") for stretches at or above :data:`AU_THRESHOLD`."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    if not len(tl):
        return out
    dt = 1.0 / tl.fps if tl.fps else 0.04
    for k, au in enumerate(tl.au_names):
        col = np.nan_to_num(tl.aus[:, k].astype(np.float64), nan=0.0)
        ev = [(s, e, f"peak {float(col[a:b].max()):.1f}") for s, e, a, b in _events(tl.t, col >= AU_THRESHOLD, dt)]
        if ev:
            out[au] = ev
    return out


def _utterances(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    from app.store import runs
    from app.store import voice as vstore

    run = runs.case_run(ws, case_id, kind="voice")
    return list(vstore.utterances(ws, run["id"])) if run else []


def _speaker_name(u: dict[str, Any]) -> str:
    role = "applicant" if u.get("is_applicant") else "interviewer" if u.get("is_applicant") == 0 else ""
    spk = str(u.get("speaker") or "?")
    return f"{spk} ({role})" if role and role not in spk.lower() else spk


def export_eaf(ws: Workspace, case_id: int, out: str | Path) -> int:
    """Write the case as an ELAN 3.0 document; returns the number of annotations written."""
    import pympi

    case = ws.find_case(case_id)
    tl = load_timeline(ws, case["id"])
    eaf = pympi.Elan.Eaf(author="Vigil")
    eaf.remove_tier("default")
    # EAF 3.0 (ELAN 5.0+): pympi writes the 2.8 layout, which the 3.0 schema contains unchanged.
    eaf.adocument.update({"VERSION": "3.0", "FORMAT": "3.0",
                          "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"})
    if tl.media_path:
        media = Path(tl.media_path).resolve()
        mime = mimetypes.guess_type(media.name)[0] or "video/mp4"
        rel = os.path.relpath(media, Path(out).resolve().parent)  # ELAN tries this when the file moved
        eaf.add_linked_file(media.as_uri(), relpath=Path(rel).as_posix(), mimetype=mime)
    eaf.add_linguistic_type(ANNOTATION_TYPE)
    eaf.add_linguistic_type(NOTE_TYPE, constraints="Symbolic_Association", timealignable=False)
    eaf.add_linguistic_type(ANALYSIS_TYPE)
    n = 0
    anns = review.annotations(ws, case["id"])
    for tier in review.tiers(ws):
        mine = [a for a in anns if a["tier_id"] == tier["id"]]
        name = tier["name"]
        eaf.add_tier(name, ling=ANNOTATION_TYPE)
        if any(a["note"] for a in mine):
            eaf.add_tier(name + NOTE_SUFFIX, ling=NOTE_TYPE, parent=name)
        for a in mine:
            s, e = _ms(a["start_s"]), _ms(a["end_s"])
            e = max(e, s + POINT_MS)  # ELAN has no zero-length annotation: a point lasts 1 ms
            eaf.add_annotation(name, s, e, a["label"] or "")
            if a["note"]:
                # pympi finds the parent by a time inside it (the midpoint; a point's start)
                eaf.add_ref_annotation(name + NOTE_SUFFIX, name, (s + e) // 2, a["note"])
            n += 1
    by_speaker: dict[str, list[dict[str, Any]]] = {}
    for u in _utterances(ws, case["id"]):
        by_speaker.setdefault(_speaker_name(u), []).append(u)
    for spk, utts in sorted(by_speaker.items()):
        tier = f"Transcript {spk}"
        eaf.add_tier(tier, ling=ANALYSIS_TYPE)
        for u in utts:
            s, e = _ms(u["start_s"]), _ms(u["end_s"])
            if e > s:
                eaf.add_annotation(tier, s, e, u["text"] or "")
                n += 1
    eaf.add_tier("Expression", ling=ANALYSIS_TYPE)
    for s, e, v in expression_events(tl):
        eaf.add_annotation("Expression", s, e, v)
        n += 1
    for au, events in au_events(tl).items():
        tier = f"{au} {AU_LABELS.get(au, '')}".strip()
        eaf.add_tier(tier, ling=ANALYSIS_TYPE)
        for s, e, v in events:
            eaf.add_annotation(tier, s, e, v)
            n += 1
    try:
        pympi.Elan.to_eaf(str(out), eaf)
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the ELAN file ({exc.strerror or exc})") from exc
    record_export(ws, case["id"], "eaf", out, n)
    return n


def _read(path: str | Path) -> Any:
    import pympi

    p = Path(path)
    if not p.is_file():
        raise VigilError(f"{p}: no such file")
    try:
        return pympi.Elan.Eaf(str(p))
    except Exception as exc:  # pympi raises bare ParseError/KeyError/... for anything not an EAF
        raise VigilError(f"{p}: not an ELAN .eaf file ({type(exc).__name__}: {exc})") from exc


def read_annotations(path: str | Path) -> dict[str, list[tuple[float, float, str, str]]]:
    """Per annotation tier of an EAF, (start s, end s, value, note) in time order.

    Analysis tiers (Vigil's transcript, expression and AU tiers) and dependent tiers are left out;
    a note is the value of a symbolic child annotation.
    """
    eaf = _read(path)
    out: dict[str, list[tuple[float, float, str, str]]] = {}
    for name in eaf.get_tier_names():
        params = eaf.get_parameters_for_tier(name)
        if params.get("LINGUISTIC_TYPE_REF") in (ANALYSIS_TYPE, NOTE_TYPE) or params.get("PARENT_REF"):
            continue
        notes: dict[tuple[int, int, str], list[str]] = {}
        for child in eaf.get_tier_names():
            if eaf.get_parameters_for_tier(child).get("PARENT_REF") == name:
                for row in eaf.get_ref_annotation_data_for_tier(child):
                    notes.setdefault((row[0], row[1], row[3]), []).append(row[2])
        rows = []
        for row in sorted(eaf.get_annotation_data_for_tier(name), key=lambda r: (r[0], r[1])):
            s, e, v = int(row[0]), int(row[1]), str(row[2] or "")
            note = " ".join(notes.get((s, e, v), []))
            rows.append((s / 1000.0, (s if e - s <= POINT_MS else e) / 1000.0, v, note))
        out[name] = rows
    return out


def import_eaf(ws: Workspace, case_ref: str | int, path: str | Path, actor: str = "import-eaf") -> EafImport:
    """Bring an EAF's annotation tiers onto a case (see the module docstring)."""
    data = read_annotations(path)  # a bad file fails here, before the workspace is touched
    case = ws.find_case(case_ref)
    tiers = {t["name"].casefold(): t for t in review.tiers(ws)}
    existing = {(a["tier_id"], _ms(a["start_s"]), _ms(a["end_s"]), a["label"], a["note"])
                for a in review.annotations(ws, case["id"])}
    stack = review.AnnotationStack(ws, case["id"], actor)
    added = present = 0
    created: list[str] = []
    for name, rows in data.items():
        if not rows:
            continue
        tier = tiers.get(name.casefold())
        if tier is None:
            review.add_tier(ws, name, [], actor)
            tiers = {t["name"].casefold(): t for t in review.tiers(ws)}
            tier = tiers[name.casefold()]
            created.append(name)
        vocab = {v.casefold(): v for v in tier["vocabulary"]}
        for s, e, value, note in rows:
            label = value
            if value and vocab and value.casefold() not in vocab:  # keep a foreign value as the note
                label, note = "", f"{value} {note}".strip()
            elif value and vocab:
                label = vocab[value.casefold()]
            if tier["name"] == review.BASELINE_TIER and e <= s:
                continue  # a Baseline point cannot exist in Vigil; nothing to restore
            key = (tier["id"], _ms(s), _ms(e), label, note)
            if key in existing:
                present += 1
                continue
            stack.add(tier["id"], s, e, label=label, note=note)
            existing.add(key)
            added += 1
    audit.record(ws, audit.Entry("import", case["id"], {"kind": "eaf", "path": str(Path(path).resolve()),
                                                        "added": added, "present": present,
                                                        "tiers_created": created}, actor=actor))
    return EafImport(added=added, present=present, tiers_created=created)
