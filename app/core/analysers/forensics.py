"""Registry entry ``forensics``: per-frame pixel measurements behind the forgery cues.

On the frames the pipeline hands a native face patch (every ``pixel_stride``-th usable frame) it
stores the blending-boundary CNN's probability (``px_sbi``) and the blocking, sharpness-mismatch
and spectral measures of :mod:`app.core.forensics.pixels`. Other frames get NaN: the forgery pass
windows these columns (:mod:`app.core.forensics.cues.sbi`, :mod:`app.core.forensics.cues.freq`).

The blending CNN is the shipped ``sbi_blendnet`` unless an institution trained and activated its
own with ``vigil train-forgery --activate``: the workspace records which (``forgery_models``), and
the pipeline configuration carries its file and sha256 here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.analysers.base import FaceBatch
from app.core.errors import VigilError
from app.core.forensics.pixels import measure
from app.core.forensics.sbi.blend import face_crop
from app.core.forensics.sbi.detector import BlendDetector
from app.paths import user_data_dir

PX_COLUMNS: tuple[str, ...] = ("px_sbi", "px_block", "px_sharp", "px_spec")


def install_blend_weights(weights: str | Path) -> tuple[Path, str]:
    """Copy ``weights`` (the ONNX export ``vigil train-forgery`` writes) into the user data dir under its sha256.

    Returns ``(installed path, sha256)``; moving or deleting the training output then does not break
    later analyses. Which installed model is active is recorded in the workspace (the services'
    ``activate_blend_model``), not here.
    """
    import hashlib
    import shutil

    src = Path(weights)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    folder = user_data_dir() / "forgery"
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"blendnet-{digest[:12]}{src.suffix or '.onnx'}"
    shutil.copyfile(src, dst)
    return dst, digest


def verified_blend_weights(weights: str | Path, sha256: str) -> Path:
    """``weights`` if its sha256 is the one recorded when it was activated; VigilError otherwise, so a
    replaced, damaged or missing file is refused rather than used."""
    import hashlib

    path = Path(weights)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise VigilError(f"{path}: the activated blending model cannot be read ({exc.strerror or exc}); "
                         "re-run vigil train-forgery --activate") from exc
    if digest != sha256:
        raise VigilError(f"{path}: does not match the sha256 recorded when it was activated; "
                         "re-run vigil train-forgery --activate")
    if path.suffix.lower() == ".pt":  # activated before the CNNs ran from ONNX exports
        raise VigilError(f"{path}: torch weights, activated before Vigil ran the blending CNN with onnxruntime; "
                         "re-run vigil train-forgery --activate")
    return path


class PixelForensics:
    """Blending CNN plus blocking / sharpness / spectrum on the face patches of a batch."""

    name = "forensics"
    models: tuple[str, ...] = ("sbi_blendnet",)
    columns: tuple[str, ...] = PX_COLUMNS

    def __init__(self, weights: str | Path | None = None, sha256: str | None = None) -> None:
        """``weights``/``sha256``: an institution-trained blending model (checked); the shipped one if None."""
        from app.core.models import model_path

        self.weights = verified_blend_weights(weights, sha256 or "") if weights else model_path("sbi_blendnet")
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
