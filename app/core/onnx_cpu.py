"""onnxruntime sessions for Vigil's own networks (expression, blending boundary, speaker encoder), on the CPU.

The two CNNs were trained or ported in torch (``models/*.pt``, ``app/core/analysers/_mini_xception.py``,
``app/core/forensics/sbi/model.py``) and run from their ONNX exports (``models/*.onnx``, written by
``tools/export_onnx.py``), so the installed app does not need torch (about 390 MB in the bundle).
"""

from __future__ import annotations

import os
from pathlib import Path

from app.core.errors import VigilError

#: intra-op threads per session: the target machine has two cores, and both CNNs are small (a few
#: MFLOP per crop), so more threads only add synchronisation.
MAX_THREADS = 2


def cpu_session(path: str | os.PathLike[str], threads: int = MAX_THREADS) -> object:
    """An ``onnxruntime.InferenceSession`` of ``path`` on the CPU execution provider, with at most
    ``threads`` intra-op threads.

    Raises
    ------
    VigilError
        If the file is not a model onnxruntime can load (e.g. a torch ``.pt`` file).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, min(threads, os.cpu_count() or 1))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    # no busy-waiting between calls: the CNNs run a few ms per frame beside MediaPipe on the same two
    # cores (a headless analyze of the sample clip: 7.5 s of CPU without spinning, 8.7 s with it)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(Path(path)), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/NoSuchFile types
        raise VigilError(f"{path}: not an ONNX model onnxruntime can load ({str(exc).splitlines()[0][:200]})") from exc
