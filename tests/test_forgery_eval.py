"""The evaluation harness of ``vigil forgery-eval`` on cue scores: groups file, group bootstrap, LOGO CV.

The end-to-end command on real clips is tested in ``test_forgery_session.py``; here the statistics
are checked on drawn scores, where the right answer is known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.errors import VigilError
from app.services.forgery_eval import CUE_KEYS, auc, bootstrap_auc, cross_validated, leave_pair_out, read_groups

REPO = Path(__file__).resolve().parents[1]


def test_the_devset_groups_file_names_the_readme_groups() -> None:
    groups = read_groups(REPO / "resources" / "forgery" / "devset_groups.csv")
    target = {k for k, g in groups.items() if g == groups["ff000_cyshih704.mp4"]}
    assert target == {"ff000_cyshih704.mp4", "ff000_manip_cyshih704.mp4", "lrnet_ffpp_000_003.mp4",
                      "deeperforensics_perturbation_input.mp4"}
    sadtalker = {k for k, g in groups.items() if g == groups["sadtalker_example_crop.mp4"]}
    assert len(sadtalker) == 4 and all(k.startswith("sadtalker_example") for k in sadtalker)


def test_a_bad_groups_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "g.csv"
    bad.write_text("path,group\na.mp4,one\nb.mp4\n", encoding="utf-8")
    with pytest.raises(VigilError, match="line 3 is not 'path,group'") as err:
        read_groups(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(VigilError, match="cannot read"):
        read_groups(tmp_path / "missing.csv")


def _scores(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    return y, rng.normal(size=2 * n) + shift * y


def test_group_bootstrap_widens_the_interval_of_duplicated_clips() -> None:
    """Four copies of each clip are no more evidence than one: grouped, the interval stays as wide as
    for the clips alone; treated as independent files it shrinks by about half (sqrt 4)."""
    rng = np.random.default_rng(3)
    y, s = _scores(rng, 12, 1.0)
    alone = bootstrap_auc(y, s, np.arange(len(y)).astype(str))
    y4, s4 = np.repeat(y, 4), np.repeat(s, 4)
    grouped = bootstrap_auc(y4, s4, np.repeat(np.arange(len(y)), 4).astype(str))
    per_file = bootstrap_auc(y4, s4, np.arange(len(y4)).astype(str))
    width = [hi - lo for lo, hi in (alone, grouped, per_file)]
    assert abs(width[1] - width[0]) < 0.25 * width[0]
    assert width[2] < 0.7 * width[1]
    assert grouped[0] < auc(y4, s4) < grouped[1]


def test_leave_one_group_out_finds_a_planted_cue() -> None:
    rng = np.random.default_rng(5)
    n = 40
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    x = rng.uniform(0.0, 0.5, (2 * n, len(CUE_KEYS)))
    groups = np.arange(2 * n).astype(str)
    sbi = CUE_KEYS.index("sbi")
    x[y == 1, sbi] = rng.uniform(0.55, 1.0, n)
    planted_cv = cross_validated(x, y, groups)
    assert auc(y, planted_cv) > 0.95
    assert np.isfinite(planted_cv).all()


def test_leave_pair_out_is_not_dragged_below_chance_by_the_prior() -> None:
    """Nothing to learn: pooled leave-one-out scores fall below chance (holding out a fake lowers the
    fitted prior of exactly that fake); scoring both videos of a pair with one fit stays at chance."""
    rng = np.random.default_rng(11)
    n = 10
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    x = rng.uniform(0.0, 0.5, (2 * n, len(CUE_KEYS)))
    groups = np.arange(2 * n).astype(str)
    pooled = auc(y, cross_validated(x, y, groups))
    c, reals, fakes = leave_pair_out(x, y, groups)
    assert c.shape == (n, n) and list(reals) == list(range(n)) and list(fakes) == list(range(n, 2 * n))
    assert pooled < 0.3 and abs(float(np.nanmean(c)) - 0.5) < 0.1
    x[y == 1, CUE_KEYS.index("freq")] = rng.uniform(0.6, 1.0, n)
    c, _, _ = leave_pair_out(x, y, groups)
    assert float(np.nanmean(c)) > 0.95
