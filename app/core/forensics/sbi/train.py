"""Train BlendNet the SBI way: real faces (label 0) against their self-blends (label 1).

Usage (the same options as ``vigil train-forgery``)::

    vigil train-forgery --real DIR_OR_FILE [DIR_OR_FILE ...] --out MODEL.pt \
        [--epochs N] [--seed S] [--every K] [--holdout FILE ...]
    python models/train_sbi.py ...   (the script that made the shipped weights; same options)

Faces are found with the vendored MediaPipe FaceLandmarker in every K-th video frame and in still
images. Whole files are held out for validation (``--holdout``, else about a fifth of the files), so
validation faces never appear in training. Self-blends are regenerated every epoch. The validation
report is ROC AUC and accuracy on held-out real faces against self-blends of those faces.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from app.core.errors import VigilError
from app.core.face.landmarker import FaceLandmarker
from app.core.forensics.sbi.blend import crop_box, crop_square, face_crop, self_blend, xray_blend
from app.core.forensics.sbi.model import BlendNet, export_blendnet, to_tensor
from app.core.media.reader import iter_frames

VIDEO_EXT = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
PATCH = 256          # faces are kept as 256 px patches with a wide margin, blended there, then cropped
PATCH_MARGIN = 0.6
MIN_FACE_PX = 48


@dataclass
class Face:
    """One real face: a wide patch around it, its landmarks in patch pixels and its source file."""

    patch: np.ndarray
    pts: np.ndarray
    source: str


def media_files(paths: list[str | Path]) -> list[Path]:
    """Video and image files named by, or found under, ``paths`` (sorted, deduplicated)."""
    out: set[Path] = set()
    for p in map(Path, paths):
        cands = p.rglob("*") if p.is_dir() else [p]
        out.update(f.resolve() for f in cands if f.is_file() and f.suffix.lower() in VIDEO_EXT | IMAGE_EXT)
    return sorted(out)


def _faces_in(rgb: np.ndarray, obs: list, source: str) -> list[Face]:
    h, w = rgb.shape[:2]
    faces = []
    for o in obs:
        pts = o.landmarks[:, :2] * np.array([w, h], np.float32)
        if max(o.bbox[2], o.bbox[3]) < MIN_FACE_PX:
            continue
        x0, y0, side = crop_box(pts, PATCH_MARGIN)
        patch = crop_square(rgb, (x0, y0, side), PATCH)
        faces.append(Face(patch, ((pts - [x0, y0]) * (PATCH / side)).astype(np.float32), source))
    return faces


def collect_faces(path: Path, every: int = 4, max_faces: int = 4) -> list[Face]:
    """Real faces in one video (every ``every``-th frame) or image.

    Still images each get a fresh landmarker, so no tracking state carries over between pictures.
    """
    if path.suffix.lower() in IMAGE_EXT:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            return []
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        with FaceLandmarker(max_faces=max_faces) as lm:
            return _faces_in(rgb, lm.detect(rgb, 0.0), path.name)
    faces: list[Face] = []
    with FaceLandmarker(max_faces=1) as lm, iter_frames(path, stride=every) as frames:
        for fr in frames:
            faces += _faces_in(fr.image, lm.detect(fr.image, fr.t), path.name)
    return faces


def split_files(files: list[Path], holdout: list[str] | None, seed: int) -> tuple[list[Path], list[Path]]:
    """Training and validation files; ``holdout`` entries match file names or paths."""
    if holdout:
        keys = {Path(h).name for h in holdout}
        val = [f for f in files if f.name in keys]
    else:
        order = sorted(files, key=lambda f: hashlib.sha256(f"{seed}:{f.name}".encode()).hexdigest())
        val = order[:max(1, len(files) // 5)] if len(files) > 1 else []
    return [f for f in files if f not in val], val


def _pair(face: Face, rng: np.random.Generator, margin: float,
          donor: Face | None = None) -> tuple[np.ndarray, np.ndarray]:
    real = face_crop(face.patch, face.pts, margin=margin)
    blended = (xray_blend(face.patch, face.pts, donor.patch, donor.pts, rng) if donor is not None
               else self_blend(face.patch, face.pts, rng))
    return real, face_crop(blended, face.pts, margin=margin)


def _donor(faces: list[Face], face: Face, rng: np.random.Generator, share: float) -> Face | None:
    """With probability ``share``, a face from another training file (for an X-ray blend)."""
    if share <= 0 or rng.random() >= share:
        return None
    others = [f for f in faces if f.source != face.source]
    return others[int(rng.integers(len(others)))] if others else None


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip, brightness and contrast per sample (applied to real and fake alike)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    gain = 1.0 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.3
    bias = (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.3
    return x * gain + bias


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan")


def evaluate(net: BlendNet, faces: list[Face], seed: int) -> dict[str, float]:
    """AUC and accuracy (threshold 0.5) on ``faces`` against one fixed self-blend of each."""
    if not faces:
        return {"auc": float("nan"), "acc": float("nan"), "n": 0}
    rng = np.random.default_rng(seed)
    pairs = [_pair(f, rng, 0.25) for f in faces]
    crops = np.stack([p[0] for p in pairs] + [p[1] for p in pairs])
    y = np.r_[np.zeros(len(pairs)), np.ones(len(pairs))]
    net.eval()
    with torch.inference_mode():
        prob = torch.sigmoid(net(to_tensor(crops))).numpy()
    return {"auc": _auc(y, prob), "acc": float(((prob > 0.5) == y).mean()), "n": len(pairs),
            "mean_real": float(prob[y == 0].mean()), "mean_fake": float(prob[y == 1].mean())}


def save_state(net: BlendNet, out: Path) -> str:
    """Write the state_dict with sorted keys; return the file's sha256.

    Serialised through memory so the archive's inner folder name does not depend on the file name:
    the same weights give the same bytes wherever they are saved.
    """
    state = OrderedDict((k, v.detach().cpu().clone().contiguous()) for k, v in sorted(net.state_dict().items()))
    buf = io.BytesIO()
    torch.save(state, buf)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def onnx_path(out: str | Path) -> Path:
    """Where the ONNX export of the weights ``out`` goes: beside it, as ``.onnx``.

    Raises
    ------
    ValueError
        If ``out`` is itself a ``.onnx`` name (it names the torch weights).
    """
    out = Path(out)
    if out.suffix.lower() == ".onnx":
        raise ValueError(f"{out}: name the torch weights (e.g. {out.with_suffix('.pt').name}); "
                         "the ONNX export is written beside them")
    return out.with_suffix(".onnx")


def train(real_paths: list[str | Path], out: str | Path, epochs: int = 12, seed: int = 0, every: int = 4,
          holdout: list[str] | None = None, batch_size: int = 32, lr: float = 1e-3,
          say: Callable[[str], None] | None = print, xray: float = 0.0) -> dict:
    """Collect faces, train BlendNet on real vs self-blended, save the weights.

    Parameters
    ----------
    real_paths : files or directories of real (untampered) face videos and images.
    out : where to write the state_dict (``.pt``); its ONNX export, which analyses run, goes beside it
        (:func:`onnx_path`).
    epochs : passes over the training faces; fresh self-blends every pass.
    seed : seeds numpy and torch; the same data and seed give the same weights.
    every : keep every ``every``-th video frame.
    holdout : file names held out for validation (default: about a fifth of the files).
    say : receives one progress line per step (None: silent).
    xray : share of pseudo-fakes made with another training file's face (Face X-ray blends)
        instead of a self-blend; 0 is pure SBI.

    Returns
    -------
    dict
        Files used, face counts, per-epoch train loss/accuracy, validation metrics, sha256, seconds.
    """
    t0 = time.time()
    onnx_out = onnx_path(out)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    say = say or (lambda _line: None)
    files = media_files(list(real_paths))
    if not files:
        raise ValueError("no video or image files found in " + ", ".join(map(str, real_paths)))
    train_files, val_files = split_files(files, holdout, seed)
    faces = {}
    for k, f in enumerate(files, 1):
        try:
            faces[f] = collect_faces(f, every)
        except VigilError as exc:  # one damaged file must not cost the whole training run
            faces[f] = []
            say(f"skipped {f.name}: {exc}")
        say(f"faces {k}/{len(files)}: {f.name}: {len(faces[f])}")
    tr = [x for f in train_files for x in faces[f]]
    va = [x for f in val_files for x in faces[f]]
    if not tr:
        raise ValueError("no usable faces (at least 48 px) found in the training files")
    say(f"train files {[f.name for f in train_files]} -> {len(tr)} faces")
    say(f"val files {[f.name for f in val_files]} -> {len(va)} faces")
    net = BlendNet()
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    history = []
    half = max(1, batch_size // 2)
    for ep in range(epochs):
        net.train()
        order = rng.permutation(len(tr))
        tot, correct, seen = 0.0, 0, 0
        for i in range(0, len(order), half):
            pairs = [_pair(tr[j], rng, float(rng.uniform(0.2, 0.3)), _donor(tr, tr[j], rng, xray))
                     for j in order[i:i + half]]
            x = _augment(to_tensor(np.stack([p[0] for p in pairs] + [p[1] for p in pairs])), gen)
            y = torch.cat([torch.zeros(len(pairs)), torch.ones(len(pairs))])
            logit = net(x)
            loss = loss_fn(logit, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(y)
            correct += int(((logit > 0).float() == y).sum())
            seen += len(y)
        sched.step()
        val = evaluate(net, va, seed + 1)
        history.append({"epoch": ep + 1, "loss": tot / seen, "train_acc": correct / seen, **val})
        say(f"epoch {ep + 1}/{epochs} loss {tot / seen:.4f} train acc {correct / seen:.3f} "
            f"val auc {val['auc']:.3f} val acc {val['acc']:.3f}")
    train_eval = evaluate(net, tr, seed + 2)
    sha = save_state(net, Path(out))
    onnx_sha = export_blendnet(out, onnx_out)  # what analyses run (no torch at analysis time)
    result = {"train_files": [f.name for f in train_files], "val_files": [f.name for f in val_files],
              "n_train": len(tr), "n_val": len(va), "history": history, "train_eval": train_eval,
              "val": history[-1] if history else {}, "sha256": sha, "out": str(out),
              "onnx": str(onnx_out), "onnx_sha256": onnx_sha, "seconds": time.time() - t0}
    say(f"train (fixed self-blends) auc {train_eval['auc']:.3f} acc {train_eval['acc']:.3f}")
    say(f"saved {out} sha256 {sha} and its ONNX export {onnx_out} in {result['seconds']:.0f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", nargs="+", required=True, help="real face videos/images or folders of them")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=4, help="keep every k-th video frame")
    ap.add_argument("--holdout", nargs="*", default=None, help="file names held out for validation")
    ap.add_argument("--xray", type=float, default=0.0, help="share of cross-identity (Face X-ray) pseudo-fakes")
    a = ap.parse_args(argv)
    train(a.real, a.out, epochs=a.epochs, seed=a.seed, every=a.every, holdout=a.holdout, xray=a.xray)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
