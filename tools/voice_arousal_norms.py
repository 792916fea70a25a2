"""Norms of the absolute arousal level, and its check on other voices and sentences.

Development tool (not shipped). The norm set is neutral speech: LibriVox read speech (Debian's
pocketsphinx-testdata, cut into chunks of up to 3 s) and espeak-ng renderings of four English
sentences by six English voices and two Mandarin sentences by two Mandarin voices. The mean and
sample sd of each cue of :data:`app.core.voice.scoring.AROUSAL_LEVEL_CUES` over it are the norms
written into that table. The proof set uses other voices and other sentences, styled differently:
espeak-ng's command-line pitch, rate and amplitude flags (high: ``-p 80 -s 205 -a 170``; low:
``-p 25 -s 125 -a 60``). It prints the norms, the ROC AUC of the level between high and low
renderings with a bootstrap 95 % interval, and each cue's own AUC.

Usage::

    python tools/voice_arousal_norms.py [CACHE_DIR]   # default /tmp/vigil_arousal
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.voice import scoring  # noqa: E402
from app.core.voice.acoustic import acoustic_features  # noqa: E402

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
SR = 16000
EN = ["My monthly income is about four thousand dollars after tax.",
      "I have worked at the same company for six years now.",
      "We need the loan to repair the roof before the winter.",
      "I paid off my last car loan two years ago.",
      "The bank statements show my salary every month.",
      "I live with my wife and two children in a small flat.",
      "I do not have any other debts at the moment.",
      "My employer can confirm my position and my salary."]
ZH = ["我每个月的收入大概是八千元。", "我在这家公司工作了六年。", "我们需要这笔贷款来装修房子。", "我没有其他的贷款。"]
NORM_VOICES = ["en-us+m1", "en-us+m2", "en-us+f1", "en-us+f2", "en+m4", "en+f4"]
PROOF_VOICES = ["en-us+m3", "en-us+f3", "en+m7", "en+f5", "cmn+m3"]
HIGH, LOW = ["-p", "80", "-s", "205", "-a", "170"], ["-p", "25", "-s", "125", "-a", "60"]


def _read(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(SR), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768


def _espeak(d: Path, name: str, voice: str, text: str, args: list[str]) -> np.ndarray:
    p = d / f"{name}.wav"
    if not p.exists():
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(p), *args, text], check=True)
    return _read(p)


def clips(d: Path) -> list[tuple[str, int | None, str, np.ndarray]]:
    """(set, label, name, audio) of the norm and proof sets."""
    out: list[tuple[str, int | None, str, np.ndarray]] = []
    for k, f in enumerate(sorted(LIBRIVOX.glob("*.wav"))):
        y = _read(f)
        for j, s in enumerate(range(0, max(1, len(y) // SR - 2), 3)):
            out.append(("norm", None, f"lib{k}_{j}", y[s * SR:(s + 3) * SR]))
    for v in NORM_VOICES + ["cmn", "cmn+f2"]:
        for j, t in enumerate(ZH[:2] if v.startswith("cmn") else EN[:4]):
            out.append(("norm", None, f"n_{v}_{j}", _espeak(d, f"n_{v}_{j}", v, t, [])))
    for v in PROOF_VOICES:
        for j, t in enumerate(ZH[2:] if v.startswith("cmn") else EN[4:]):
            out.append(("proof", 1, f"h_{v}_{j}", _espeak(d, f"h_{v}_{j}", v, t, HIGH)))
            out.append(("proof", 0, f"l_{v}_{j}", _espeak(d, f"l_{v}_{j}", v, t, LOW)))
    return out


def main(cache: Path) -> None:
    from sklearn.metrics import roc_auc_score

    cache.mkdir(parents=True, exist_ok=True)
    table = cache / "features.json"
    if table.exists():
        rows = json.loads(table.read_text())
    else:
        rows = [{"set": s, "label": lab, "name": n, **{f"ac_{k}": v for k, v in acoustic_features(y, SR).items()}}
                for s, lab, n, y in clips(cache)]
        table.write_text(json.dumps(rows))
    norm = [scoring.level_inputs(r) for r in rows if r["set"] == "norm"]
    print(f"norms over {len(norm)} neutral clips:")
    for c in scoring.AROUSAL_LEVEL_CUES:
        v = np.array([x[c.key] for x in norm])
        v = v[np.isfinite(v)]
        print(f"  {c.key}: mean {v.mean():.3f} sd {v.std(ddof=1):.3f} (n={v.size})")
    proof = [r for r in rows if r["set"] == "proof"]
    y = np.array([r["label"] for r in proof])
    level = np.array([scoring.arousal_level(r)[0] for r in proof], dtype=float)
    rng = np.random.default_rng(0)
    boot = [roc_auc_score(y[i], level[i]) for i in (rng.integers(0, len(y), len(y)) for _ in range(2000))
            if len(set(y[i])) == 2]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    print(f"proof: level AUC {roc_auc_score(y, level):.3f} (95% CI {lo:.2f}-{hi:.2f}; "
          f"{int(y.sum())} high vs {int((1 - y).sum())} low renderings)")
    for c in scoring.AROUSAL_LEVEL_CUES:
        v = np.array([scoring.level_inputs(r)[c.key] for r in proof])
        ok = np.isfinite(v)
        print(f"  {c.key}: AUC {roc_auc_score(y[ok], np.sign(c.weight) * v[ok]):.3f} in the weighted direction")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/vigil_arousal"))
