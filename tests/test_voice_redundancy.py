"""Every exported voice feature is distinct: none is a fixed function of others, measured on speech.

Corpus (:mod:`tests._voice_corpus`): 75 utterances for the acoustic features (5 LibriVox clips,
16 two-second LibriVox windows, 54 espeak-ng renderings of mock interview answers in English and
Mandarin with varied voice, pitch, rate and amplitude) and 297 transcripts for the text features
(the 59 transcripts of those clips, 240 of the answers joined two or three at a time, most with
lexicon and word-class terms appended so that the rarer categories occur).

A column fails when, on at least 30 utterances where both are defined, its Spearman |rho| with
another column is >= 0.995, or a least-squares fit on at most three other columns (every subset of its 8
most correlated ones, and a forward selection over all) reproduces it with R^2 > 0.999. Columns too sparse to judge on this
corpus (fewer than 30 defined values, or fewer than 10 values away from the most common one)
are listed, not judged; their share is bounded so the test cannot pass by judging nothing.
The figures and the columns these rules pruned are in ``resources/voice/feature_redundancy.md``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import rankdata

from app.core.voice.acoustic import ACOUSTIC_NAMES
from app.core.voice.text import TEXT_NAMES
from tests import _voice_corpus

pytestmark = pytest.mark.slow

RHO_MAX = 0.995
R2_MAX = 0.999
MIN_ROWS = 30
MIN_OFF_MODE = 10
CANDIDATES = 8


def _matrix(rows: tuple[dict, ...], names: tuple[str, ...]) -> np.ndarray:
    return np.array([[r[n] for n in names] for r in rows], dtype=float)


def _judged(x: np.ndarray) -> np.ndarray:
    """Columns with enough defined and varied values to judge."""
    ok = np.zeros(x.shape[1], bool)
    for j in range(x.shape[1]):
        v = x[np.isfinite(x[:, j]), j]
        if v.size >= MIN_ROWS:
            ok[j] = v.size - np.unique(v, return_counts=True)[1].max() >= MIN_OFF_MODE
    return ok


def _spearman_pairs(x: np.ndarray, cols: np.ndarray) -> list[tuple[int, int, float]]:
    """Pairs of judged columns with |rho| >= RHO_MAX on the rows where both are defined."""
    fin = np.isfinite(x)
    full = [j for j in cols if fin[:, j].all()]
    out = []
    if len(full) > 1:
        r = np.corrcoef(np.apply_along_axis(rankdata, 0, x[:, full]).T)
        for a, b in zip(*np.nonzero(np.triu(np.abs(r) >= RHO_MAX, 1))):
            out.append((full[a], full[b], float(r[a, b])))
    partial = [j for j in cols if not fin[:, j].all()]
    for a in partial:
        for b in cols:
            if b == a or (b in partial and b < a):
                continue
            m = fin[:, a] & fin[:, b]
            if m.sum() < MIN_ROWS:
                continue
            ra, rb = rankdata(x[m, a]), rankdata(x[m, b])
            if ra.std() == 0 or rb.std() == 0:
                continue
            rho = float(np.corrcoef(ra, rb)[0, 1])
            if abs(rho) >= RHO_MAX:
                out.append((a, b, rho))
    return out


def _greedy(yc: np.ndarray, cc: np.ndarray, steps: int = 3) -> tuple[int, ...]:
    """Forward selection: at each step the column most correlated with what is still unexplained."""
    chosen: list[int] = []
    res = yc
    norms = np.sqrt((cc ** 2).sum(axis=0))
    for _ in range(steps):
        score = np.abs(cc.T @ res) / np.where(norms > 0, norms, np.inf)
        score[chosen] = -1
        chosen.append(int(np.argmax(score)))
        a = cc[:, chosen]
        res = yc - a @ np.linalg.lstsq(a, yc, rcond=None)[0]
    return tuple(sorted(chosen))


def _linear_fits(x: np.ndarray, cols: np.ndarray) -> list[tuple[int, tuple[int, ...], float]]:
    """Judged columns reproduced by <= 3 others (R^2 > R2_MAX), on the rows where the target is defined."""
    fin = np.isfinite(x)
    out = []
    for j in cols:
        m = fin[:, j]
        cand = np.array([k for k in cols if k != j and fin[m, k].all()])
        if m.sum() < MIN_ROWS or not cand.size:
            continue
        y, c = x[m, j], x[m][:, cand]
        yc, cc = y - y.mean(), c - c.mean(axis=0)
        norm = np.sqrt((cc ** 2).sum(axis=0) * (yc ** 2).sum())
        r = np.where(norm > 0, (cc.T @ yc) / np.where(norm > 0, norm, 1), 0)
        subsets = {s for size in (1, 2, 3) for s in itertools.combinations(np.argsort(-np.abs(r))[:CANDIDATES], size)}
        subsets.add(_greedy(yc, cc))
        best = (0.0, ())
        for s in subsets:
            a = cc[:, list(s)]
            coef, *_ = np.linalg.lstsq(a, yc, rcond=None)
            res = yc - a @ coef
            r2 = 1.0 - float(res @ res) / float(yc @ yc)
            if r2 > best[0]:
                best = (r2, tuple(int(cand[i]) for i in s))
        if best[0] > R2_MAX:
            out.append((int(j), best[1], best[0]))
    return out


@pytest.fixture(scope="module")
def rows() -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    return _voice_corpus.feature_rows()


@pytest.mark.parametrize("kind", ["acoustic", "text"])
def test_no_feature_is_a_fixed_function_of_others(rows: tuple, kind: str) -> None:
    names = ACOUSTIC_NAMES if kind == "acoustic" else TEXT_NAMES
    data = rows[0] if kind == "acoustic" else rows[1]
    assert len(names) >= (600 if kind == "acoustic" else 200)
    x = _matrix(data, names)
    judged = _judged(x)
    cols = np.flatnonzero(judged)
    sparse = [names[j] for j in np.flatnonzero(~judged)]
    # Too sparse to judge here: rare lexicon and word-class categories, Chinese script shares.
    assert len(cols) >= (0.95 if kind == "acoustic" else 0.75) * len(names), sparse
    pairs = [(names[a], names[b], round(r, 4)) for a, b, r in _spearman_pairs(x, cols)]
    assert not pairs, f"{len(pairs)} pairs with |Spearman rho| >= {RHO_MAX} on {len(data)} utterances: {pairs}"
    fits = [(names[j], [names[k] for k in s], round(r2, 5)) for j, s, r2 in _linear_fits(x, cols)]
    assert not fits, f"columns reproduced by <= 3 others with R^2 > {R2_MAX}: {fits}"


def test_the_checks_catch_a_planted_duplicate(rows: tuple) -> None:
    """The same checks on the acoustic rows with three re-expressions added: each is caught."""
    names = ACOUSTIC_NAMES
    x = _matrix(rows[0], names)
    i, j, k = names.index("loudness_mean"), names.index("pause_total"), names.index("pause_count")
    shifted = x[:, i] * 2.0 + 5.0  # a unit change: rank-identical
    mean_pause = x[:, j] / np.where(x[:, k] > 0, x[:, k], np.nan)  # total / count, the pruned pause_mean
    combo = x[:, names.index("rms_db_p50")] - 0.5 * x[:, names.index("hnr_mean")]  # linear in two others
    y = np.column_stack([x, shifted, mean_pause, combo])
    cols = np.flatnonzero(_judged(y))
    n = len(names)
    flagged = {a for a, b, _ in _spearman_pairs(y, cols)} | {b for a, b, _ in _spearman_pairs(y, cols)}
    assert n in flagged
    assert n + 2 in {t for t, _, _ in _linear_fits(y, cols)}
    # total / count is not linear, but its own check is exact arithmetic: the pruned column is gone.
    assert "pause_mean" not in names and np.nanmax(np.abs(mean_pause * x[:, k] - x[:, j])) < 1e-9
