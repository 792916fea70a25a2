"""Interop with other AU tools: import their AUs onto a case, and measure agreement with them.

:func:`import_au` reads an OpenFace 2.0 or py-feat CSV (:mod:`app.core.au_io`) and stores it on
the case as its own track (:mod:`app.store.au_imports`), never in Vigil's AU columns.
:func:`compare_au` pairs a reference CSV's frames with the case's and gives per-AU agreement
(:mod:`app.core.au_agreement`). :func:`reference_tracks` is what the review timelines draw for the
imports. No Qt here: the CLI and the review window both call these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysers.au import AU_NAMES
from app.core.analysers.columns import EXPRESSIONS
from app.core.au_agreement import compare, pair_frames
from app.core.au_io import AUTable, read_au_csv, write_pyfeat_csv
from app.core.errors import VigilError
from app.core.media.probe import file_sha256
from app.store import au_imports, queries, runs
from app.store.workspace import Workspace

_HEAD = ("frame", "t_sec", "usable")


def case_aus(ws: Workspace, case_id: int, face: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A case's frames (0-based), times and Vigil's AUs for one face (NaN where the face was unusable).

    One row per analysed frame of the newest video run; raises :class:`VigilError` when the case
    has no video analysis.
    """
    run = runs.case_run(ws, case_id)
    if run is None:
        raise VigilError(f"case {case_id} has no video analysis to compare (run `vigil analyze` first)")
    m = queries.frame_matrix(ws, run["id"], face, _HEAD + AU_NAMES)
    if len(m):
        keep = np.ones(len(m), dtype=bool)
        keep[1:] = m[1:, 0] != m[:-1, 0]  # one row per frame
        m = m[keep]
    usable = m[:, 2] > 0.5
    aus = m[:, 3:].copy()
    aus[~usable] = np.nan
    return m[:, 0].astype(np.int64), m[:, 1], {a: aus[:, j] for j, a in enumerate(AU_NAMES)}


def _reference_info(table: AUTable, path: Path) -> dict[str, Any]:
    return {"path": str(path), "format": table.format, "source": table.source, "scale": table.scale,
            "scale_max": table.scale_max, "rows": table.rows, "frames": len(table), "aus": table.au_names}


def compare_au(ws: Workspace, case_ref: str | int, reference: str | Path, fmt: str | None = None,
               table: AUTable | None = None) -> dict[str, Any]:
    """Per-AU agreement of a case's AUs with a reference CSV (OpenFace 2.0 or py-feat).

    Returns the dict of :func:`app.core.au_agreement.compare` with ``case`` (id, name) and
    ``reference`` (path, format, source, scale, rows, frames, aus) added. ``table``: the file
    already read with :func:`app.core.au_io.read_au_csv` (it is read here otherwise). Raises
    :class:`VigilError` (one line) for a bad file, an unknown case or a case without video analysis.
    """
    path = Path(reference)
    table = table if table is not None else read_au_csv(path, fmt)
    case = ws.find_case(case_ref)
    frame, t, aus = case_aus(ws, case["id"])
    report = compare(frame, t, aus, table, AU_NAMES)
    return {"case": {"id": case["id"], "name": case["name"]}, "reference": _reference_info(table, path), **report}


def import_au(ws: Workspace, case_ref: str | int, csv_path: str | Path, fmt: str | None = None,
              table: AUTable | None = None) -> dict[str, Any]:
    """Store another tool's AUs on a case as their own track; returns what was stored.

    The file is read and checked completely before anything is written (``table``: already read
    with :func:`app.core.au_io.read_au_csv`). A second import from the same tool replaces the
    first. Returns ``import_id``, ``case`` (id, name), ``source``, ``format``, ``scale``, ``frames``,
    ``valid_frames``, ``aus`` (stored), ``left_out`` (AUs without a column) and ``notes``.
    """
    path = Path(csv_path)
    table = table if table is not None else read_au_csv(path, fmt)
    case = ws.find_case(case_ref)
    stored = au_imports.storable_aus(table.au_names)
    left_out = [a for a in table.au_names if a not in stored]
    notes = list(table.notes) + ([f"{', '.join(left_out)}: no column for it; left out"] if left_out else [])
    meta = {"source": table.source, "format": table.format, "path": str(path.resolve()), "sha256": file_sha256(path),
            "scale": table.scale, "scale_max": table.scale_max, "notes": notes}
    import_id = au_imports.replace_import(ws, case["id"], meta, table.frame, table.t, table.confidence,
                                          {a: table.aus[a] for a in stored})
    return {"import_id": import_id, "case": {"id": case["id"], "name": case["name"]}, "source": table.source,
            "format": table.format, "scale": table.scale, "frames": len(table), "valid_frames": table.valid,
            "aus": stored, "left_out": left_out, "notes": notes}


def reference_tracks(ws: Workspace, case_id: int, frame: np.ndarray, t: np.ndarray, fps: float) -> list[dict[str, Any]]:
    """The case's imported AU tracks, placed on the case's time axis.

    Each dict: ``source``, ``scale``, ``scale_max``, ``au_names``, ``t`` float64 (N,) seconds,
    ``aus`` float32 (N, len(au_names)), ``paired_by``. A reference row is placed at the case's time
    of the same frame number (frames past the case's end at ``frame / fps``), unless its own
    timestamps disagree with the case's frame times (see
    :func:`app.core.au_agreement.pair_frames`); then at its own timestamps.
    """
    out = []
    frame = np.asarray(frame, np.int64)
    t = np.asarray(t, np.float64)
    for imp in au_imports.imports(ws, case_id):
        head, values = au_imports.import_series(ws, imp["id"], imp["aus"])
        ref_frame = head[:, 0].astype(np.int64)
        ref_t = head[:, 1] if np.isfinite(head[:, 1]).any() else None
        _ic, _ir, how = pair_frames(frame, t, ref_frame, ref_t)
        if how == "time" and ref_t is not None:
            tt = ref_t
        elif len(frame) > 1:
            tt = np.interp(ref_frame, frame, t)
            rate = fps if fps > 0 else 1.0 / max(float(np.median(np.diff(t))), 1e-6)
            past = ref_frame > frame[-1]
            tt[past] = t[-1] + (ref_frame[past] - frame[-1]) / rate
            before = ref_frame < frame[0]
            tt[before] = t[0] - (frame[0] - ref_frame[before]) / rate
        else:
            tt = ref_frame / (fps if fps > 0 else 30.0)
        order = np.argsort(tt, kind="stable")
        out.append({"source": imp["source"], "scale": imp["scale"], "scale_max": float(imp["scale_max"] or 5.0),
                    "au_names": list(au_imports.storable_aus(imp["aus"])), "t": tt[order].astype(np.float64),
                    "aus": values[order].astype(np.float32), "paired_by": how})
    return out


# Vigil's expressions under py-feat's emotion names (contempt has no py-feat column).
_PYFEAT_EMOTION = {"anger": "anger", "disgust": "disgust", "fear": "fear", "happiness": "happiness",
                   "sadness": "sadness", "surprise": "surprise", "neutral": "neutral"}


def pyfeat_csv(ws: Workspace, case_id: int, out: str | Path) -> int:
    """Write the case's AUs (face 0) in py-feat's Fex CSV layout; returns the rows written.

    AUs are Vigil's intensities 0-5 (py-feat's own are probabilities 0-1); expressions fill
    py-feat's emotion columns. Frames without a usable face have empty cells.
    """
    run = runs.case_run(ws, case_id)
    if run is None:
        raise VigilError(f"case {case_id} has no video analysis to export")
    cols = ("frame", "usable", "face_x", "face_y", "face_w", "face_h") + AU_NAMES + EXPRESSIONS
    m = queries.frame_matrix(ws, run["id"], 0, cols)
    if len(m):
        keep = np.ones(len(m), dtype=bool)
        keep[1:] = m[1:, 0] != m[:-1, 0]
        m = m[keep]
    unusable = m[:, 1] < 0.5
    m[unusable, 2:] = np.nan
    idx = {c: j for j, c in enumerate(cols)}
    media = queries.case_media(ws, case_id, run.get("media_id"))
    n = write_pyfeat_csv(
        out, m[:, 0].astype(np.int64), {a: m[:, idx[a]] for a in AU_NAMES},
        {p: m[:, idx[v]] for p, v in _PYFEAT_EMOTION.items()}, Path(str((media or {}).get("path") or "")).name,
        {"FaceRectX": m[:, idx["face_x"]], "FaceRectY": m[:, idx["face_y"]], "FaceRectWidth": m[:, idx["face_w"]],
         "FaceRectHeight": m[:, idx["face_h"]]})
    from app.services.export import record_export

    record_export(ws, case_id, "pyfeat_csv", out, n)
    return n
