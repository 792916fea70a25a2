"""Train the shipped blending-boundary weights (``models/sbi_blendnet.pt``); see its model card.

A thin wrapper over :mod:`app.core.forensics.sbi.train`, which ``vigil train-forgery`` also runs::

    python models/train_sbi.py --real DIR_OR_FILE [...] --out models/sbi_blendnet.pt [--epochs N] [--seed S]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.forensics.sbi.train import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
