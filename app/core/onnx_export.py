"""torch -> ONNX export of Vigil's CNNs (development and training only: imports torch).

Used by ``tools/export_onnx.py`` (the shipped ``models/*.onnx`` from the committed ``models/*.pt``)
and by ``vigil train-forgery`` (an institution's own blending CNN). The runtime never imports this
module; it loads the ``.onnx`` with :func:`app.core.onnx_cpu.cpu_session`. The legacy TorchScript
exporter (``dynamo=False``) is used: it needs only the ``onnx`` package, and the same weights give
the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import torch

#: ONNX opset of the exports (onnxruntime 1.32 runs up to 23).
OPSET = 17


def export_onnx(module: torch.nn.Module, input_shape: tuple[int, ...], out: str | Path,
                output_name: str) -> str:
    """Write ``module`` (eval mode, batch axis dynamic) to ``out`` as ONNX; return the file's sha256.

    Parameters
    ----------
    module : the network with its weights loaded.
    input_shape : the shape of one example input, batch first (e.g. ``(1, 1, 64, 64)``).
    out : the ``.onnx`` file to write.
    output_name : name of the graph's output (``probs`` or ``logit``); the input is ``x``.
    """
    module.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about shapes frozen as constants: intended
        torch.onnx.export(module, (torch.zeros(input_shape),), buf, dynamo=False, opset_version=OPSET,
                          input_names=["x"], output_names=[output_name],
                          dynamic_axes={"x": {0: "n"}, output_name: {0: "n"}})
    data = buf.getvalue()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return hashlib.sha256(data).hexdigest()
