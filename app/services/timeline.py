"""What the review timelines show: per-frame series, utterances, forgery windows, the audio envelope.

Everything here returns numpy arrays or plain dicts and never touches Qt, so the GUI calls it on a
worker thread and only draws the result. :func:`load_timeline` reads a whole case (an hour at
30 fps is 108 000 frames) with one query per table; :func:`load_since` reads only the frames
committed after a given one while an analysis is still running. :func:`frame_overlay` is what the
video view draws over one frame (face box, mesh, AU values); :func:`explain` (in
:mod:`app.services._explain`) says why the scores at a time or over an interval are what they are.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.analysers.au import AU_NAMES, FACS_NAMES
from app.core.analysers.columns import EXPRESSIONS
from app.core.errors import VigilError
from app.core.forensics.cues.fusion import CUE_ORDER
from app.store import queries
from app.store.workspace import Workspace

CUE_NAMES: tuple[str, ...] = CUE_ORDER
_HEAD = ("frame", "t_sec", "usable")
_SERIES = _HEAD + AU_NAMES + EXPRESSIONS + ("forgery",) + tuple(f"fg_{c}" for c in CUE_NAMES)
_A0 = len(_HEAD)
_E0 = _A0 + len(AU_NAMES)
_F0 = _E0 + len(EXPRESSIONS)
N_LANDMARKS = 478


#: FACS name of each AU, e.g. ``AU_LABELS["AU12"] == "lip corner puller"``.
AU_LABELS: dict[str, str] = {a: FACS_NAMES.get(a, a) for a in AU_NAMES}


@dataclass
class TimelineData:
    """A case's timelines: one row per frame of one face, plus utterances and forgery windows.

    Attributes
    ----------
    case_id, media_path, duration_s, fps, has_audio, width, height : the case and its recording.
    t : float64 (N,) frame times in seconds (frames without a face included), increasing.
    frame : int64 (N,) frame numbers.
    usable : bool (N,) whether the face passed the quality gate.
    expr_names, expressions : the 8 classes and float32 (N, 8) probabilities, NaN where unusable.
    au_names, aus : the 25 AUs and float32 (N, 25) intensities 0-5, NaN where unusable.
    forgery : float32 (N,) fused forgery probability, NaN where evidence is insufficient.
    cues : per cue (:data:`CUE_NAMES`) float32 (N,) window scores, NaN where insufficient.
    utterances : dicts with ``idx, start_s, end_s, speaker, is_applicant, is_baseline, text, lang,
        arousal, deception_risk`` in time order; always the complete list (it is small), also from
        :func:`load_since`.
    forgery_windows : dicts with ``start_s, end_s, probability, cues`` (cue -> score) in time
        order; always the complete list.
    references : other tools' AUs imported onto the case (``vigil import-au``), one dict per
        tool, see :func:`app.services.au_interop.reference_tracks`; read by :func:`load_timeline`
        only (:func:`load_since` leaves it empty, the view keeps what it has).
    """

    case_id: int
    media_path: str = ""
    duration_s: float = 0.0
    fps: float = 0.0
    has_audio: bool = False
    width: int = 0
    height: int = 0
    t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    frame: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    usable: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    expr_names: list[str] = field(default_factory=lambda: list(EXPRESSIONS))
    expressions: np.ndarray = field(default_factory=lambda: np.zeros((0, len(EXPRESSIONS)), np.float32))
    au_names: list[str] = field(default_factory=lambda: list(AU_NAMES))
    aus: np.ndarray = field(default_factory=lambda: np.zeros((0, len(AU_NAMES)), np.float32))
    forgery: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    cues: dict[str, np.ndarray] = field(default_factory=lambda: {c: np.zeros(0, np.float32) for c in CUE_NAMES})
    utterances: list[dict[str, Any]] = field(default_factory=list)
    forgery_windows: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(len(self.t))

    def index_at(self, t: float) -> int:
        """Row nearest to time ``t`` (-1 when there are no rows)."""
        if not len(self.t):
            return -1
        i = int(np.searchsorted(self.t, t))
        if i >= len(self.t) or (i > 0 and t - self.t[i - 1] <= self.t[i] - t):
            i -= 1
        return i


def _case(ws: Workspace, case_id: int) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    ws.find_case(case_id)  # CaseNotFound (a VigilError) with a plain message for an unknown case
    runs = queries.case_runs(ws, case_id)
    media_id = next((r["media_id"] for r in runs.values()), None)
    return runs, queries.case_media(ws, case_id, media_id)


def _series(ws: Workspace, run_id: int, face: int, after_frame: int) -> np.ndarray:
    """The face's rows after ``after_frame``, with frames where only other faces were seen added
    as unusable rows, so that the time axis has every analysed frame."""
    m = queries.frame_matrix(ws, run_id, face, _SERIES, after_frame)
    if len(m) < queries.frame_count(ws, run_id, after_frame):
        extra = queries.frames_without(ws, run_id, face, after_frame)
        if len(extra):
            add = np.full((len(extra), len(_SERIES)), np.nan)
            add[:, :2], add[:, 2] = extra, 0.0
            m = np.concatenate([m, add])
            m = m[np.argsort(m[:, 0], kind="stable")]
    if len(m):  # one row per frame: a face seen twice in a frame keeps its first row
        keep = np.ones(len(m), dtype=bool)
        keep[1:] = m[1:, 0] != m[:-1, 0]
        m = m[keep]
    return m


def _window_rows(ws: Workspace, run_id: int, face: int) -> list[dict[str, Any]]:
    out = []
    for w in queries.forgery_windows(ws, run_id, face):
        cues = json.loads(w["cues_json"] or "{}").get("cues", {})
        out.append({"start_s": w["start_s"], "end_s": w["end_s"], "probability": w["probability"],
                    "cues": {k: (v or {}).get("score") for k, v in cues.items()}})
    return out


def _build(ws: Workspace, case_id: int, face: int, after_frame: int) -> TimelineData:
    runs, media = _case(ws, case_id)
    video, voice = runs.get("video"), runs.get("voice")
    m = _series(ws, video["id"], face, after_frame) if video else np.zeros((0, len(_SERIES)))
    usable = m[:, 2] > 0.5
    expr = m[:, _E0:_F0].astype(np.float32)
    aus = m[:, _A0:_E0].astype(np.float32)
    expr[~usable], aus[~usable] = np.nan, np.nan
    utts = queries.utterance_rows(ws, voice["id"]) if voice else []
    windows = _window_rows(ws, video["id"], face) if video else []
    t = m[:, 1].astype(np.float64)
    fps = float((media or {}).get("fps") or 0.0)
    if not fps and len(t) > 1:
        fps = float(1.0 / max(np.median(np.diff(t)), 1e-6))
    ends = [float((media or {}).get("duration_s") or 0.0), float(t[-1]) if len(t) else 0.0]
    ends += [float(utts[-1]["end_s"])] if utts else []
    refs = []
    if after_frame < 0:
        from app.services.au_interop import reference_tracks

        refs = reference_tracks(ws, case_id, m[:, 0].astype(np.int64), t, fps)
    return TimelineData(
        case_id=case_id, media_path=str((media or {}).get("path") or ""), duration_s=max(ends), fps=fps,
        has_audio=bool((media or {}).get("has_audio")), width=int((media or {}).get("width") or 0),
        height=int((media or {}).get("height") or 0), t=t, frame=m[:, 0].astype(np.int64), usable=usable,
        expressions=expr, aus=aus, forgery=m[:, _F0].astype(np.float32),
        cues={c: m[:, _F0 + 1 + k].astype(np.float32) for k, c in enumerate(CUE_NAMES)},
        utterances=utts, forgery_windows=windows, references=refs)


def load_timeline(ws: Workspace, case_id: int, face: int = 0) -> TimelineData:
    """Every frame of a case's newest video run for one face, with utterances and forgery windows.

    A case that has not been analysed yet gives empty arrays (``len(data) == 0``). Raises
    :class:`~app.core.errors.CaseNotFound` for an unknown case.
    """
    return _build(ws, case_id, face, -1)


def load_since(ws: Workspace, case_id: int, after_frame: int, face: int = 0) -> TimelineData:
    """Like :func:`load_timeline`, with only the frames numbered above ``after_frame`` (live growth).

    ``utterances`` and ``forgery_windows`` are still complete lists: the voice analysis commits at
    its own pace and re-scores everything at the end, and both are small.
    """
    return _build(ws, case_id, face, int(after_frame))


# -- one frame --------------------------------------------------------------------------------------
_OVERLAY_COLUMNS = ("frame", "track", "t_sec", "present", "usable", "reason", "face_x", "face_y", "face_w",
                    "face_h", "yaw", "pitch", "roll", "forgery") + AU_NAMES + tuple(f"fg_{c}" for c in CUE_NAMES)


def frame_overlay(ws: Workspace, case_id: int, frame: int, face: int = 0) -> dict[str, Any] | None:
    """What the video view draws over one frame of a face.

    Returns
    -------
    dict or None
        None when the frame is not analysed (yet). Otherwise ``bbox`` (x, y, w, h) in
        pixels or None without a face, ``mesh`` float32 (478, 2) pixel x, y or None, ``aus``
        {AU: 0-5} (empty when unusable), ``forgery`` and ``cues`` (None where insufficient),
        ``usable``, ``reason``, ``t`` and ``pose`` (yaw, pitch, roll in degrees, or None).
    """
    runs, media = _case(ws, case_id)
    video = runs.get("video")
    if video is None:
        return None
    r = queries.frame_row(ws, video["id"], int(frame), face, _OVERLAY_COLUMNS)
    if r is None:
        t = queries.frame_time(ws, video["id"], int(frame))
        if t is None:
            return None
        # Analysed, but only other people's faces were seen in this frame.
        return {"frame": int(frame), "t": t, "bbox": None, "mesh": None, "aus": {}, "forgery": None,
                "cues": dict.fromkeys(CUE_NAMES), "usable": False, "reason": "face not in this frame",
                "pose": None}
    present = bool(r["present"])
    bbox = (float(r["face_x"]), float(r["face_y"]), float(r["face_w"]), float(r["face_h"])) \
        if present and r["face_w"] is not None else None
    mesh = None
    if present and r["xyz"] is not None and media and media.get("width") and media.get("height"):
        xyz = np.frombuffer(r["xyz"], dtype=np.float16).reshape(N_LANDMARKS, 3)
        mesh = (xyz[:, :2].astype(np.float32) * np.array([media["width"], media["height"]], np.float32))
    usable = bool(r["usable"])

    def num(v: Any) -> float | None:
        return None if v is None or not math.isfinite(float(v)) else float(v)

    return {
        "frame": int(r["frame"]), "t": float(r["t_sec"]), "bbox": bbox, "mesh": mesh,
        "aus": {a: float(r[a]) for a in AU_NAMES if r[a] is not None} if usable else {},
        "forgery": num(r["forgery"]), "cues": {c: num(r[f"fg_{c}"]) for c in CUE_NAMES},
        "usable": usable, "reason": r["reason"] or "",
        "pose": (num(r["yaw"]), num(r["pitch"]), num(r["roll"])) if present else None,
    }


# -- audio ------------------------------------------------------------------------------------------
def waveform_envelope(path: str, bins: int = 20000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max envelope of a recording's sound, for drawing the waveform of a whole session.

    The first audio stream is decoded at its own rate (no resampling) and reduced to the minimum
    and maximum of each bin as it streams, so memory stays small and an hour takes seconds. Call
    it off the UI thread.

    Parameters
    ----------
    path : the media file.
    bins : number of bins over the whole duration (fewer for a very short file).

    Returns
    -------
    (t_centre, lo, hi) : float32 arrays; seconds, and the mono mix's min and max in -1..1.
        Empty arrays when the file has no audio stream.

    Raises
    ------
    MediaError
        The file is missing or not readable media (plain message).
    """
    from app.services._waveform import envelope

    return envelope(path, bins)


def explain(ws: Workspace, case_id: int, t0: float, t1: float | None = None) -> dict[str, Any]:
    """Why the scores at time ``t0`` (or over ``[t0, t1]``) are what they are.

    See :func:`app.services._explain.explain` for the returned dict.
    """
    from app.services._explain import explain as _explain

    if t1 is not None and t1 < t0:
        t0, t1 = t1, t0
    if not (math.isfinite(t0) and (t1 is None or math.isfinite(t1))):
        raise VigilError(f"cannot explain at time {t0!r}..{t1!r}: not a number of seconds")
    return _explain(ws, case_id, float(t0), None if t1 is None else float(t1))
