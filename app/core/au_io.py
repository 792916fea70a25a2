"""Other tools' action-unit CSVs: read OpenFace 2.0 and py-feat (Fex) files, write py-feat's format.

Two formats are read, and told apart by their header:

* **OpenFace 2.0** (``FeatureExtraction``/``FaceLandmarkVidMulti``): ``frame, timestamp, confidence,
  success, …, AU01_r … AU45_r, AU01_c … AU45_c``. Headers carry a leading space, which is stripped.
  ``frame`` is 1-based and is shifted to 0-based here; ``timestamp`` is in seconds. ``AUxx_r`` are
  intensities 0-5. Rows with ``success = 0`` (OpenFace lost the face) keep their frame but their AUs
  are NaN, so they are never paired. AUs that OpenFace reports only as presence (``AU28_c``) are
  left out. With several faces per frame (``face_id``), the most confident successful row is kept.
* **py-feat** (a ``Fex`` written with ``to_csv``): ``frame`` (0-based, may be written ``10.0``),
  ``FaceRect*``, ``FaceScore``, landmarks, ``AU01 … AU43``, the emotion columns, ``input``. py-feat's
  AU models give presence probabilities 0-1, not intensities (its 0.3.x releases and the newer
  ones alike); a file whose AU values exceed 1 (e.g. Vigil's own py-feat export) is read as
  intensities 0-5. With several faces per frame, the largest face rectangle is kept.

AU names are normalised to Vigil's (``AU1`` and ``AU01_r`` both become ``AU01``); every AU found is
kept, also those Vigil does not measure (OpenFace's AU45, blink), so a comparison can say so.

Anything else (not a CSV, no ``frame`` column, no AU column, a non-number where a number belongs)
raises :class:`AUFileError` with one line that names the file, and the line where it applies.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.errors import VigilError

FORMATS: tuple[str, ...] = ("openface", "pyfeat")
#: How each format is called in messages and track titles.
SOURCE_NAMES: dict[str, str] = {"openface": "OpenFace", "pyfeat": "py-feat"}
SCALE_INTENSITY = "intensity 0-5"
SCALE_PROBABILITY = "probability 0-1"
#: py-feat's emotion columns (the order it writes them), filled from Vigil's expressions on export.
PYFEAT_EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")

_AU_R = re.compile(r"^AU0*(\d{1,2})_r$")
_AU_PLAIN = re.compile(r"^AU0*(\d{1,2})$")
_MAX_BYTES_SNIFF = 1 << 16


class AUFileError(VigilError):
    """A file that is not a readable OpenFace 2.0 or py-feat AU CSV (the message says why)."""


def au_name(number: int | str) -> str:
    """Vigil's spelling of an AU number: ``au_name(1) == "AU01"``."""
    return f"AU{int(number):02d}"


@dataclass
class AUTable:
    """One tool's per-frame AU values for one face.

    Attributes
    ----------
    format : ``"openface"`` or ``"pyfeat"``.
    source : the tool's name for people (``"OpenFace"``, ``"py-feat"``).
    scale : :data:`SCALE_INTENSITY` or :data:`SCALE_PROBABILITY`.
    scale_max : the top of that scale (5 or 1).
    frame : int64 (N,) 0-based frame numbers, increasing, unique.
    t : float64 (N,) timestamps in seconds, or None when the file has none.
    aus : AU name -> float64 (N,), NaN where the tool had no valid value (e.g. ``success = 0``).
    confidence : float64 (N,) OpenFace's confidence or py-feat's FaceScore (NaN when absent).
    rows : data rows read from the file (before keeping one face per frame).
    notes : plain sentences about what was left out or assumed.
    """

    format: str
    source: str
    scale: str
    scale_max: float
    frame: np.ndarray
    t: np.ndarray | None
    aus: dict[str, np.ndarray]
    confidence: np.ndarray
    rows: int = 0
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(len(self.frame))

    @property
    def au_names(self) -> list[str]:
        """AU names in numeric order."""
        return list(self.aus)

    @property
    def valid(self) -> int:
        """Frames with at least one valid AU value."""
        if not self.aus:
            return 0
        return int(np.isfinite(np.column_stack(list(self.aus.values()))).any(axis=1).sum())


# -- reading -----------------------------------------------------------------------------------------
def _check_file(path: Path) -> None:
    if not path.exists():
        raise AUFileError(f"{path}: file not found")
    if path.is_dir():
        raise AUFileError(f"{path}: is a folder, not an AU CSV file")
    try:
        with path.open("rb") as fh:
            head = fh.read(_MAX_BYTES_SNIFF)
    except OSError as exc:
        raise AUFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if b"\x00" in head:
        raise AUFileError(f"{path}: not a text CSV file (binary content)")


@contextmanager
def _csv_errors(path: Path) -> Iterator[None]:
    """Turn decoding, CSV and file errors while reading ``path`` into one-line :class:`AUFileError`."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise AUFileError(f"{path}: not a UTF-8 text CSV file ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise AUFileError(f"{path}: not a readable CSV file ({exc})") from exc
    except OSError as exc:
        raise AUFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def _read_columns(path: Path, wanted: Sequence[str] | None) -> tuple[list[str], dict[str, list[str]]]:
    """The stripped header, and the cells of the ``wanted`` columns (all when None) as strings.

    Rows are streamed: an hour of OpenFace output (108 000 rows of 700 columns) is never held whole.
    Blank lines are skipped; a row with another number of fields than the header is an error.
    """
    _check_file(path)
    with _csv_errors(path), path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        for r in reader:
            if any(c.strip() for c in r):
                header = [c.strip() for c in r]
                break
        if header is None:
            raise AUFileError(f"{path}: empty file, expected an OpenFace 2.0 or py-feat AU CSV")
        names = list(header) if wanted is None else [c for c in wanted if c in header]
        idx = [header.index(c) for c in names]
        cells: list[list[str]] = [[] for _ in names]
        width = len(header)
        for r in reader:
            if len(r) != width:
                if not any(c.strip() for c in r):
                    continue
                raise AUFileError(f"{path}: line {reader.line_num} has {len(r)} fields, the header has {width}")
            for k, i in enumerate(idx):
                cells[k].append(r[i])
    return header, dict(zip(names, cells))


def read_header(path: str | Path) -> list[str]:
    """The stripped column names of a CSV file (one-line :class:`AUFileError` for anything else)."""
    path = Path(path)
    _check_file(path)
    with _csv_errors(path), path.open(newline="", encoding="utf-8-sig") as fh:
        for r in csv.reader(fh):
            if any(c.strip() for c in r):
                return [c.strip() for c in r]
    raise AUFileError(f"{path}: empty file, expected an OpenFace 2.0 or py-feat AU CSV")


def detect_format(header: Sequence[str]) -> str | None:
    """``"openface"``, ``"pyfeat"`` or None, from a CSV header (names already stripped)."""
    names = set(header)
    if "frame" not in names:
        return None
    if any(_AU_R.match(c) for c in header):
        return "openface"
    if any(_AU_PLAIN.match(c) for c in header):
        return "pyfeat"
    return None


def _numbers(path: Path, cells: list[str], what: str) -> np.ndarray:
    """Cells as float64 (empty and NaN-like cells give NaN)."""
    out = np.full(len(cells), np.nan)
    for i, cell in enumerate(cells):
        cell = cell.strip()
        if not cell or cell.lower() in ("nan", "na", "none", "null"):
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            raise AUFileError(f"{path}: data row {i + 1}: {what} is {cell[:20]!r}, not a number") from None
    return out


def _frames(path: Path, raw: np.ndarray, one_based: bool) -> np.ndarray:
    bad = ~np.isfinite(raw) | (raw != np.round(raw))
    if bad.any():
        raise AUFileError(f"{path}: data row {int(np.argmax(bad)) + 1}: frame is not a whole number")
    frames = raw.astype(np.int64) - (1 if one_based else 0)
    if len(frames) and frames.min() < 0:
        raise AUFileError(f"{path}: frame numbers below {1 if one_based else 0}; "
                          f"{'OpenFace counts from 1' if one_based else 'py-feat counts from 0'}")
    return frames


def _one_per_frame(frames: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Row indices keeping, for each frame, the row with the highest ``score`` (NaN lowest), in frame order."""
    s = np.where(np.isfinite(score), score, -np.inf)
    order = np.lexsort((-s, frames))  # by frame, then best score first
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = frames[order][1:] != frames[order][:-1]
    return order[keep]


def _au_columns(header: Sequence[str], pattern: re.Pattern[str]) -> list[str]:
    return sorted((c for c in header if pattern.match(c)), key=lambda c: int(pattern.match(c).group(1)))


def _read_openface(path: Path, header: list[str]) -> AUTable:
    au_cols = _au_columns(header, _AU_R)
    _, cells = _read_columns(path, ["frame", "timestamp", "confidence", "success", *au_cols])
    n = len(cells["frame"])
    if n == 0:
        raise AUFileError(f"{path}: OpenFace CSV without data rows")
    frames = _frames(path, _numbers(path, cells["frame"], "frame"), one_based=True)
    t = _numbers(path, cells["timestamp"], "timestamp") if "timestamp" in cells else None
    conf = _numbers(path, cells["confidence"], "confidence") if "confidence" in cells else np.full(n, np.nan)
    success = _numbers(path, cells["success"], "success") if "success" in cells else np.ones(n)
    ok = success > 0.5
    aus: dict[str, np.ndarray] = {}
    for c in au_cols:
        values = _numbers(path, cells[c], c)
        values[~ok] = np.nan
        aus[au_name(_AU_R.match(c).group(1))] = values
    notes = []
    failed = int((~ok).sum())
    if failed:
        notes.append(f"{failed} of {n} rows have success = 0 (OpenFace lost the face); they are not paired")
    presence_only = sorted({au_name(m.group(1)) for c in header if (m := re.match(r"^AU0*(\d{1,2})_c$", c))}
                           - set(aus))
    if presence_only:
        notes.append(f"{', '.join(presence_only)}: presence only (_c) in OpenFace, no intensity; left out")
    score = np.where(ok, np.nan_to_num(conf, nan=0.0), -1.0)
    keep = _one_per_frame(frames, score)
    if len(keep) < n:
        notes.append(f"{n - len(keep)} rows of further faces in the same frames left out "
                     "(the most confident face is kept)")
    return AUTable("openface", SOURCE_NAMES["openface"], SCALE_INTENSITY, 5.0, frames[keep],
                   None if t is None else t[keep], {a: v[keep] for a, v in aus.items()}, conf[keep],
                   rows=n, notes=notes)


_PYFEAT_TIME = ("timestamp", "time_s", "approx_time")


def _read_pyfeat(path: Path, header: list[str]) -> AUTable:
    au_cols = _au_columns(header, _AU_PLAIN)
    _, cells = _read_columns(path, ["frame", "FaceScore", "FaceRectWidth", "FaceRectHeight", *_PYFEAT_TIME,
                                    *au_cols])
    n = len(cells["frame"])
    if n == 0:
        raise AUFileError(f"{path}: py-feat CSV without data rows")
    frames = _frames(path, _numbers(path, cells["frame"], "frame"), one_based=False)
    aus = {au_name(_AU_PLAIN.match(c).group(1)): _numbers(path, cells[c], c) for c in au_cols}
    conf = _numbers(path, cells["FaceScore"], "FaceScore") if "FaceScore" in cells else np.full(n, np.nan)
    name = next((c for c in _PYFEAT_TIME if c in cells), None)
    t = _numbers(path, cells[name], name) if name else None
    if "FaceRectWidth" in cells and "FaceRectHeight" in cells:
        area = (_numbers(path, cells["FaceRectWidth"], "FaceRectWidth")
                * _numbers(path, cells["FaceRectHeight"], "FaceRectHeight"))
    else:
        area = -np.arange(n, dtype=np.float64)  # the first row of a frame
    notes = []
    keep = _one_per_frame(frames, area)
    if len(keep) < n:
        notes.append(f"{n - len(keep)} rows of further faces in the same frames left out (the largest face is kept)")
    values = np.column_stack(list(aus.values()))
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    if top > 1.0 + 1e-6:
        scale, scale_max = SCALE_INTENSITY, 5.0
        notes.append("AU values exceed 1: read as intensities 0-5 (not py-feat's presence probabilities)")
    else:
        scale, scale_max = SCALE_PROBABILITY, 1.0
    return AUTable("pyfeat", SOURCE_NAMES["pyfeat"], scale, scale_max, frames[keep],
                   None if t is None else t[keep], {a: v[keep] for a, v in aus.items()}, conf[keep],
                   rows=n, notes=notes)


def read_au_csv(path: str | Path, fmt: str | None = None) -> AUTable:
    """Read an OpenFace 2.0 or py-feat AU CSV (``fmt`` None: tell them apart by the header).

    Raises
    ------
    AUFileError
        The file is missing, not a CSV, of neither format (or not of ``fmt``), has no data row, or
        holds a non-number where a number belongs. One line, naming the file.
    """
    path = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise AUFileError(f"unknown AU CSV format {fmt!r}; use one of: {', '.join(FORMATS)}")
    header = read_header(path)
    found = detect_format(header)
    if found is None:
        why = "no 'frame' column" if "frame" not in header else "no AU columns (AU01_r… or AU01…)"
        raise AUFileError(f"{path}: not an OpenFace 2.0 or py-feat AU CSV ({why})")
    if fmt is not None and fmt != found:
        raise AUFileError(f"{path}: looks like a {SOURCE_NAMES[found]} CSV, not {SOURCE_NAMES[fmt]} "
                          f"(its AU columns are {'AUxx_r' if found == 'openface' else 'AUxx'})")
    table = _read_openface(path, header) if found == "openface" else _read_pyfeat(path, header)
    if table.valid == 0:
        raise AUFileError(f"{path}: no frame has a valid AU value")
    return table


# -- writing -----------------------------------------------------------------------------------------
def _cell(v: float) -> str:
    return "" if v is None or not np.isfinite(v) else f"{float(v):.4f}".rstrip("0").rstrip(".")


def write_pyfeat_csv(path: str | Path, frame: Sequence[int], aus: Mapping[str, Iterable[float]],
                     emotions: Mapping[str, Iterable[float]] | None = None, input_name: str = "",
                     face: Mapping[str, Iterable[float]] | None = None) -> int:
    """Write per-frame AUs in py-feat's Fex CSV layout; returns the rows written.

    Columns: ``frame`` (0-based), ``FaceRectX, FaceRectY, FaceRectWidth, FaceRectHeight, FaceScore``
    (from ``face`` when given, else empty), the AU columns as named, py-feat's seven emotion columns
    (from ``emotions`` where given, else empty) and ``input``. Values are written as given: Vigil's
    AUs are intensities 0-5, not py-feat's probabilities 0-1, which :func:`read_au_csv` recognises.
    NaN is written as an empty cell.
    """
    path = Path(path)
    names = list(aus)
    cols = {k: np.asarray(list(v), np.float64) for k, v in aus.items()}
    emo = {k: np.asarray(list(v), np.float64) for k, v in (emotions or {}).items()}
    rect = {k: np.asarray(list(v), np.float64) for k, v in (face or {}).items()}
    rect_names = ("FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight", "FaceScore")
    frames = [int(f) for f in frame]
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["frame", *rect_names, *names, *PYFEAT_EMOTIONS, "input"])
            for i, f in enumerate(frames):
                w.writerow([f, *(_cell(rect[r][i]) if r in rect else "" for r in rect_names),
                            *(_cell(cols[a][i]) for a in names),
                            *(_cell(emo[e][i]) if e in emo else "" for e in PYFEAT_EMOTIONS), input_name])
    except OSError as exc:
        raise VigilError(f"{path}: cannot write the CSV ({exc.strerror or exc})") from exc
    return len(frames)
