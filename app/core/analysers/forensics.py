"""Registry entry ``forensics``: per-frame pixel measurements behind the forgery cues.

On the frames the pipeline hands a native face patch (every ``pixel_stride``-th usable frame) it
stores the blending-boundary CNN's probability (``px_sbi``) and the blocking, sharpness-mismatch
and spectral measures of :mod:`app.core.forensics.pixels`. Other frames get NaN: the forgery pass
windows these columns (:mod:`app.core.forensics.cues.sbi`, :mod:`app.core.forensics.cues.freq`).

The blending CNN is the shipped ``sbi_blendnet`` unless an institution trained and activated its
own with ``vigil train-forgery --activate`` (see :func:`active_blend_weights`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.core.analysers.base import FaceBatch
from app.core.errors import VigilError
from app.core.forensics.pixels import measure
from app.core.forensics.sbi.blend import face_crop
from app.core.forensics.sbi.model import BlendDetector
from app.paths import user_data_dir

PX_COLUMNS: tuple[str, ...] = ("px_sbi", "px_block", "px_sharp", "px_spec")


def active_record_path() -> Path:
    """Where ``vigil train-forgery --activate`` records the blending model analyses should use."""
    return user_data_dir() / "forgery" / "blendnet_active.json"


def active_blend_weights() -> tuple[Path, str] | None:
    """``(weights path, sha256)`` of an activated, institution-trained model; None for the default.

    The recorded sha256 is checked, so a replaced or damaged file is refused rather than used.
    """
    rec_path = active_record_path()
    if not rec_path.is_file():
        return None
    import hashlib

    try:
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
        weights = Path(rec["weights"])
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    except (OSError, ValueError, KeyError) as exc:
        raise VigilError(f"{rec_path}: the activated blending model cannot be read ({exc}); "
                         "delete this file to use the shipped model") from exc
    if digest != rec.get("sha256"):
        raise VigilError(f"{weights}: does not match the sha256 recorded when it was activated; "
                         f"re-run vigil train-forgery --activate, or delete {rec_path} to use the shipped model")
    return weights, digest


def activate_blend_model(weights: str | Path, report: dict) -> Path:
    """Make ``weights`` (trained by ``vigil train-forgery``) the blending model of later analyses.

    The file is copied into the user data dir under its sha256, so moving or deleting the training
    output does not break later analyses, and the training report is kept beside it.
    """
    import hashlib
    import shutil

    src = Path(weights)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    folder = active_record_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"blendnet-{digest[:12]}.pt"
    shutil.copyfile(src, dst)
    record = {"weights": str(dst), "sha256": digest, "trained_from": report.get("train_files"),
              "validated_on": report.get("val_files"), "val": report.get("val"), "source": str(src)}
    tmp = active_record_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    tmp.replace(active_record_path())
    return dst


class PixelForensics:
    """Blending CNN plus blocking / sharpness / spectrum on the face patches of a batch."""

    name = "forensics"
    models: tuple[str, ...] = ("sbi_blendnet",)
    columns: tuple[str, ...] = PX_COLUMNS

    def __init__(self) -> None:
        from app.core.models import model_path

        active = active_blend_weights()
        self.weights = active[0] if active else model_path("sbi_blendnet")
        self.detector = BlendDetector(self.weights)

    def process(self, batch: FaceBatch) -> dict[str, np.ndarray]:
        """``px_*`` columns; NaN for entries without a patch."""
        n = len(batch)
        out = {c: np.full(n, np.nan, dtype=np.float32) for c in PX_COLUMNS}
        have = [i for i in range(min(n, len(batch.patches))) if batch.patches[i] is not None]
        if not have:
            return out
        crops = []
        for i in have:
            patch, pts = batch.patches[i], batch.patch_pts[i]
            crops.append(face_crop(patch, pts))
            for k, v in measure(patch, pts).items():
                out[k][i] = v
        out["px_sbi"][have] = self.detector.score(np.stack(crops))
        return out
