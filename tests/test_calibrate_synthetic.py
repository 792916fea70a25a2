"""``vigil calibrate`` on synthetic outcomes over real feature rows: it finds a planted signal and
finds none where none is planted.

Each mock case holds eight applicant answers whose acoustic and text features are real rows of the
speech corpus (:mod:`tests._voice_corpus`: LibriVox and espeak-ng speech, interview-answer
transcripts): one voice per case (the LibriVox reader or one espeak-ng voice, in turn), its
utterances and transcripts of its language drawn at random, stored in a real workspace and scored
by the app. In the planted
run, the answers after the baseline of every bad case have three features raised by 1.5 corpus
standard deviations plus noise; the fit (per answer, all ~920 features, grouped by case) must
give a cross-validated AUC clearly above chance and rank those three features at the top. In the
null run the labels are random and nothing is raised: the AUC interval must include 0.5.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import VigilError
from app.services.calibrate import calibrate, calibrate_summary
from app.services.voice import rescore
from app.store import runs
from app.store import voice as vstore
from app.store.workspace import Workspace
from tests import _voice_corpus

pytestmark = pytest.mark.slow

PLANTED = ("tx_hedge_rate", "ac_jitter_local_p50", "tx_pos_pron_rate")
N_CASES = 40
ANSWERS = 8
SHIFT_SD = 1.5


def _workspace(path: Path, plant: bool, seed: int) -> tuple[Workspace, Path]:
    acoustic, text, voices, langs = _voice_corpus.feature_rows()
    ac = [{f"ac_{k}": v for k, v in r.items()} for r in acoustic]
    tx = [{f"tx_{k}": v for k, v in r.items()} for r in text]
    pooled = {k: np.array([r[k] for r in (ac if k.startswith("ac_") else tx)], float) for k in PLANTED}
    sd = {k: float(np.nanstd(v)) for k, v in pooled.items()}
    rng = np.random.default_rng(seed)
    speakers = sorted(set(voices))
    ws = Workspace.open(path / "w.db")
    labels = []
    for c in range(N_CASES):
        bad = c % 2 == 0
        name = f"case{c}"
        case_id = ws.create_case(name)
        media_id = ws.add_media(case_id, {"path": f"{name}.wav", "sha256": name, "has_audio": 1})
        run_id = runs.start_run(ws, case_id, media_id, {"n": name}, [], "test", kind="voice")
        rows = []
        voice = speakers[c % len(speakers)]  # one applicant, one voice; the words in that voice's language
        ac_pool = [k for k, v in enumerate(voices) if v == voice]
        lang = "zh" if voice.startswith("cmn") else "en"
        tx_pool = [k for k, v in enumerate(langs) if v == lang]
        for i in range(ANSWERS):
            a, t = dict(ac[rng.choice(ac_pool)]), dict(tx[rng.choice(tx_pool)])
            if plant and bad and i >= 3:  # after the default baseline (the first three answers)
                for k in PLANTED:
                    d = a if k.startswith("ac_") else t
                    base = d[k] if np.isfinite(d[k]) else float(np.nanmean(pooled[k]))
                    d[k] = base + SHIFT_SD * sd[k] + rng.normal(0, 0.5 * sd[k])
            clean = lambda d: {k: (None if not np.isfinite(v) else v) for k, v in d.items()}  # noqa: E731
            rows.append({"idx": i, "start_s": 5.0 * i, "end_s": 5.0 * i + 4, "speaker": "A", "channel": None,
                         "is_applicant": 1, "is_baseline": 0, "lang": "en", "text": "", "words_json": "[]",
                         "latency_s": t["tx_latency_s"], "acoustic_json": json.dumps(clean(a)),
                         "text_json": json.dumps(clean(t)), "evidence_json": "{}"})
        vstore.write_utterances(ws, run_id, rows)
        rescore(ws, run_id, applicant="A")
        runs.set_status(ws, run_id, "completed")
        label = int(bad) if plant else int(rng.integers(2))
        labels.append((name, int(rng.integers(40, 120)) if label else int(rng.integers(0, 20))))
    csv_path = path / "labels.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", "outcome"])
        w.writerows(labels)
    return ws, csv_path


def test_calibration_recovers_a_planted_signal_from_real_feature_rows(tmp_path: Path) -> None:
    ws, labels = _workspace(tmp_path, plant=True, seed=11)
    with ws:
        report = calibrate(ws, labels)
        assert report["answers"] == N_CASES * ANSWERS and report["features"] > 900
        lo, hi = report["cv_auc_ci"]
        assert report["cv_auc"] > 0.7 and lo > 0.6, report
        assert report["spearman_rho"] > 0.2 and report["case_auc"] > 0.8, report
        top = [t["feature"] for t in report["top_features"][:5]]
        assert set(PLANTED) <= set(top), top
        assert all(t["weight"] > 0 for t in report["top_features"] if t["feature"] in PLANTED)
        text = calibrate_summary(report)
        assert "cross-validated AUC per answer" in text and "95% CI" in text
        # The fitted model is applied to later scores, per answer.
        model = vstore.active_risk_model(ws)
        assert model["kind"] == "full" and len(model["coef"]) == report["features"]
        run = runs.case_run(ws, ws.find_case("case0")["id"], kind="voice")
        rescore(ws, run["id"])
        scored = list(vstore.utterances(ws, run["id"]))
        assert {u["risk_model"] for u in scored} == {model["version"]}
        risks = [u["deception_risk"] for u in scored]
        assert np.mean(risks[3:]) > np.mean(risks[:3])  # the raised answers of a bad case score higher


def test_calibration_finds_no_signal_where_none_is_planted(tmp_path: Path) -> None:
    ws, labels = _workspace(tmp_path, plant=False, seed=12)
    with ws:
        report = calibrate(ws, labels)
        lo, hi = report["cv_auc_ci"]
        assert lo < 0.5 < hi, report


def test_calibration_leaves_out_cases_analysed_without_emotion_parts(tmp_path: Path) -> None:
    """A case whose voice run was made without its emotion parts (EU, hiring) never trains the risk model."""
    with Workspace.open(tmp_path / "w.db") as ws:
        rows = []
        for c in range(3):
            case_id = ws.create_case(f"eu{c}")
            media_id = ws.add_media(case_id, {"path": f"eu{c}.wav", "sha256": f"eu{c}", "has_audio": 1})
            params = {"emotion_refused": "Emotion analysis was not run: hiring interview under the EU profile."}
            run_id = runs.start_run(ws, case_id, media_id, params, [], "test", kind="voice")
            vstore.write_utterances(ws, run_id, [
                {"idx": i, "start_s": 5.0 * i, "end_s": 5.0 * i + 4, "speaker": "A", "channel": None,
                 "is_applicant": 1, "is_baseline": 0, "lang": "en", "text": "yes", "words_json": "[]",
                 "latency_s": 0.5, "acoustic_json": json.dumps({"ac_f0_p50": 120.0 + i}),
                 "text_json": json.dumps({"tx_hedge_rate": float(i)}), "evidence_json": "{}"} for i in range(5)])
            runs.set_status(ws, run_id, "completed")
            rows.append((f"eu{c}", c % 2))
        labels = tmp_path / "labels.csv"
        with labels.open("w", newline="") as fh:
            csv.writer(fh).writerows([("case", "label"), *rows])
        with pytest.raises(VigilError) as err:
            calibrate(ws, labels)
        assert "0 usable" in str(err.value) and "skipped 3" in str(err.value)
        assert str(err.value).count("without emotion analysis") == 3
