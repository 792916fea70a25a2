"""Baseline-relative arousal and risk, and calibration on an institution's outcomes.

The calibration tests build real workspaces (SQLite files) holding cases whose utterance features
carry a planted signal, then check that ``calibrate`` finds it, and refuses when data is too thin.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import unavailable
from app.core.errors import VigilError
from app.core.voice import scoring
from app.services.calibrate import calibrate
from app.services.voice import rescore
from app.store import runs
from app.store import voice as vstore
from app.store.workspace import Workspace

KEYS = [k for k, _ in scoring.AROUSAL_CUES] + [p for c in scoring.RISK_CUES if c.key != "arousal"
                                                for p in scoring.DERIVED.get(c.key, (c.key,))]


def _utt(i: int, speaker: str, feats: dict[str, float], t0: float | None = None) -> dict:
    start = t0 if t0 is not None else 4.0 * i
    return {"idx": i, "start_s": start, "end_s": start + 3.0, "speaker": speaker, "features": feats,
            "is_baseline": 0, "is_applicant": 0}


def _calm(rng: np.random.Generator) -> dict[str, float]:
    f = {k: float(rng.normal(10.0, 1.0)) for k in KEYS}
    f["tx_fraud_lexicon_score"] = 0.0
    return f


def test_an_answer_like_the_baseline_scores_the_prior() -> None:
    rng = np.random.default_rng(0)
    utts = [_utt(i, "B" if i % 2 else "A", _calm(rng)) for i in range(12)]
    base_idx = scoring.default_baseline_indexes(utts, "A")
    assert base_idx == [0, 2, 4]
    base = scoring.estimate_baseline(utts, base_idx, "A")
    same = _utt(20, "A", {k: base.mean[k] for k in KEYS if k in base.mean} | {"tx_fraud_lexicon_score": 0.0})
    s = scoring.score(same, base, scoring.default_model())
    assert s["arousal"] == pytest.approx(0.0, abs=1e-6)
    assert s["deception_risk"] == pytest.approx(1 / (1 + math.exp(-scoring.DEFAULT_INTERCEPT)), abs=1e-3)
    assert s["risk_model"].endswith("(uncalibrated)")


def test_louder_higher_voice_raises_arousal_and_names_its_cues() -> None:
    rng = np.random.default_rng(1)
    utts = [_utt(i, "A", _calm(rng)) for i in range(10)]
    base = scoring.estimate_baseline(utts, [0, 1, 2], "A")
    hot = dict(utts[5]["features"])
    for k, sign in scoring.AROUSAL_CUES:
        hot[k] = base.mean[k] + np.sign(sign) * 3 * base.sd[k]
    s = scoring.score(_utt(11, "A", hot), base, scoring.default_model())
    assert s["arousal"] > 2.5
    cues = [c["cue"] for c in s["evidence"]["top_cues"]]
    assert cues and cues[0] == "arousal"
    assert "follow-up" in s["evidence"]["note"]


def test_fraud_slang_raises_risk_regardless_of_baseline() -> None:
    rng = np.random.default_rng(2)
    utts = [_utt(i, "A", _calm(rng)) for i in range(8)]
    base = scoring.estimate_baseline(utts, [0, 1, 2], "A")
    plain = dict(utts[4]["features"])
    slang = dict(plain, tx_fraud_lexicon_score=2.0)
    r0 = scoring.score(_utt(9, "A", plain), base, scoring.default_model())["deception_risk"]
    r1 = scoring.score(_utt(9, "A", slang), base, scoring.default_model())["deception_risk"]
    assert r1 > r0 + 0.2


def _case(ws: Workspace, name: str, risky: bool, rng: np.random.Generator) -> int:
    case_id = ws.create_case(name)
    media_id = ws.add_media(case_id, {"path": f"{name}.wav", "sha256": name, "has_audio": 1})
    run_id = runs.start_run(ws, case_id, media_id, {"n": name}, [], "test", kind="voice")
    rows = []
    for i in range(10):
        f = _calm(rng)
        if risky and i >= 3:  # after the baseline answers, the planted cue rises
            f["tx_evasion_rate"] += 3.0
        ac = {k: v for k, v in f.items() if k.startswith("ac_")}
        tx = {k: v for k, v in f.items() if k.startswith("tx_")}
        rows.append({"idx": i, "start_s": 4.0 * i, "end_s": 4.0 * i + 3, "speaker": "A", "channel": None,
                     "is_applicant": 1, "is_baseline": 0, "lang": "en", "text": "", "words_json": "[]",
                     "latency_s": f["latency_s"], "acoustic_json": json.dumps(ac), "text_json": json.dumps(tx),
                     "evidence_json": "{}"})
    vstore.write_utterances(ws, run_id, rows)
    rescore(ws, run_id, applicant="A")
    runs.set_status(ws, run_id, "completed")
    return case_id


def _labels(path: Path, rows: list[tuple[str, str, object]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", rows[0][1]])
        w.writerows([(c, v) for c, _, v in rows])
    return path


def test_calibration_recovers_a_planted_signal(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    with Workspace.open(tmp_path / "w.db") as ws:
        rows = []
        for k in range(30):
            bad = k % 3 == 0
            _case(ws, f"c{k}", bad, rng)
            rows.append((f"c{k}", "outcome", int(rng.integers(45, 120)) if bad else int(rng.integers(0, 10))))
        report = calibrate(ws, _labels(tmp_path / "labels.csv", rows), outcome_threshold=30)
        assert report["cases"] == 30 and report["bad"] == 10 and report["answers"] == 300
        # Per answer, the bad cases' three baseline answers carry no signal by construction.
        assert report["cv_auc"] > 0.75 and report["cv_auc_ci"][0] > 0.6
        assert report["case_auc"] > 0.9
        assert report["spearman_rho"] > 0.25 and report["case_spearman_rho"] > 0.5
        top = report["top_features"][0]
        assert top["feature"] == "tx_evasion_rate" and top["weight"] > 0
        # Later scoring uses the calibrated model.
        model = vstore.active_risk_model(ws)
        assert model is not None and model["calibrated"]
        run = runs.case_run(ws, ws.find_case("c0")["id"], kind="voice")
        rescore(ws, run["id"])
        used = {u["risk_model"] for u in vstore.utterances(ws, run["id"])}
        assert used == {model["version"]}


def test_calibration_refuses_too_few_cases(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    with Workspace.open(tmp_path / "w.db") as ws:
        rows = [(f"c{k}", "label", int(k % 2)) for k in range(12)]
        for c, _, y in rows:
            _case(ws, c, bool(y), rng)
        with pytest.raises(VigilError, match="too few cases"):
            calibrate(ws, _labels(tmp_path / "l.csv", rows))
        lopsided = [(f"c{k}", "label", int(k == 0)) for k in range(12)] + [("nope", "label", 1)]
        with pytest.raises(VigilError, match="needs at least 20"):
            calibrate(ws, _labels(tmp_path / "l2.csv", lopsided))
        assert vstore.active_risk_model(ws) is None


def test_every_cue_is_a_real_feature() -> None:
    from app.core.voice.acoustic import ACOUSTIC_NAMES
    from app.core.voice.text import TEXT_NAMES

    known = {f"ac_{n}" for n in ACOUSTIC_NAMES} | {f"tx_{n}" for n in TEXT_NAMES} | {"latency_s", "arousal"}
    missing = [k for k in KEYS + ["arousal"] if k not in known]
    assert not missing, f"scoring uses features that are not computed: {missing}"


def test_reviewer_relabels_speakers_and_baseline(tmp_path: Path) -> None:
    from app.services.voice import relabel

    rng = np.random.default_rng(5)
    with Workspace.open(tmp_path / "w.db") as ws:
        case_id = _case(ws, "c", True, rng)
        run = runs.case_run(ws, case_id, kind="voice")
        before = {u["idx"]: u for u in vstore.utterances(ws, run["id"])}
        assert [i for i, u in before.items() if u["is_baseline"]] == [0, 1, 2]
        relabel(ws, run["id"], speakers={9: "B"}, applicant="A", baseline_idx=[3, 4, 5])
        after = {u["idx"]: u for u in vstore.utterances(ws, run["id"])}
        assert after[9]["speaker"] == "B" and not after[9]["is_applicant"]
        assert [i for i, u in after.items() if u["is_baseline"]] == [3, 4, 5]
        # The planted rise starts at utterance 3: with it as the baseline, later answers look calmer.
        assert after[8]["deception_risk"] < before[8]["deception_risk"]
        # No flush: the audit entry was committed with the relabelling, in the same transaction.
        actions = [r["action"] for r in ws.db.query("select action from audit")]
        assert "voice.relabel" in actions
        with pytest.raises(VigilError, match="A or B"):
            relabel(ws, run["id"], speakers={1: "C"})


def test_only_the_applicant_is_scored_and_calibrated(tmp_path: Path) -> None:
    from app.services.calibrate import case_answers

    def case_vector(ws: Workspace, case_id: int) -> np.ndarray:
        own, base = case_answers(ws, case_id)
        return np.array([scoring.full_vector(u, base, KEYS) for u in own])

    rng = np.random.default_rng(6)
    with Workspace.open(tmp_path / "w.db") as ws:
        case_id = _case(ws, "c", False, rng)
        run = runs.case_run(ws, case_id, kind="voice")
        before = case_vector(ws, case_id)
        # The interviewer (B) asks between the answers, with a voice and words far from the applicant's.
        loud = {k: 100.0 for k in KEYS}
        rows = [{"idx": 100 + i, "start_s": 4.0 * i + 3.2, "end_s": 4.0 * i + 3.8, "speaker": "B", "channel": None,
                 "is_applicant": 0, "is_baseline": 0, "lang": "en", "text": "", "words_json": "[]",
                 "latency_s": 5.0, "evidence_json": "{}",
                 "acoustic_json": json.dumps({k: v for k, v in loud.items() if k.startswith("ac_")}),
                 "text_json": json.dumps({k: v for k, v in loud.items() if k.startswith("tx_")})}
                for i in range(10)]
        vstore.write_utterances_partial(ws, run["id"], rows)
        ws.flush()
        rescore(ws, run["id"], applicant="A")
        utts = list(vstore.utterances(ws, run["id"]))
        asked = [u for u in utts if u["speaker"] == "B"]
        assert len(asked) == 10 and all(u["deception_risk"] is None and u["arousal"] is None for u in asked)
        assert all(u["deception_risk"] is not None for u in utts if u["speaker"] == "A")
        # The interviewer's utterances change neither the baseline nor what calibration fits on.
        after = case_vector(ws, case_id)
        assert before is not None and after is not None
        np.testing.assert_allclose(after, before, rtol=1e-9)


def test_spread_is_the_larger_of_baseline_and_session_sd() -> None:
    key = "ac_loudness_mean"
    tight = [10.0, 10.1, 9.9]  # alike first answers
    later = [8.0, 14.0, 11.0, 7.0, 13.0]
    utts = [_utt(i, "A", {key: v}) for i, v in enumerate(tight + later)]
    base = scoring.estimate_baseline(utts, [0, 1, 2], "A")
    assert base.mean[key] == pytest.approx(10.0)
    assert base.sd[key] == pytest.approx(float(np.std(tight + later, ddof=1)))  # session sd is larger
    wide = [6.0, 14.0, 10.0]
    utts = [_utt(i, "A", {key: v}) for i, v in enumerate(wide + [10.0] * 5)]
    base = scoring.estimate_baseline(utts, [0, 1, 2], "A")
    assert base.sd[key] == pytest.approx(4.0)  # baseline sd (ddof=1) is larger than the session's
    # A 60 dB mean gives no floor of 6 dB: a 1 dB rise against a 0.5 dB spread is 2 SD.
    utts = [_utt(i, "A", {key: v}) for i, v in enumerate([60.0, 60.5, 59.5, 60.0, 60.5, 59.5])]
    base = scoring.estimate_baseline(utts, [0, 1, 2], "A")
    assert base.z(key, 61.0) == pytest.approx(2.0)  # baseline sd 0.5 > session sd 0.45


@pytest.mark.parametrize("voice,text", [
    ("en-us+m3", "The bank statements show my salary every month."),
    ("en+f5", "I live with my wife and two children in a small flat."),
    ("cmn+m3", "我们需要这笔贷款来装修房子。"),
])
def test_arousal_level_separates_high_from_low_renderings_without_a_baseline(
        tmp_path: Path, voice: str, text: str) -> None:
    """Voices and sentences outside the norm set (tools/voice_arousal_norms.py), styled by espeak-ng's
    pitch, rate and amplitude flags: each high rendering is a single clip scored above its low twin."""
    import shutil
    import subprocess

    from app.core.voice.acoustic import acoustic_features
    from app.core.voice.audio import load_audio

    if shutil.which("espeak-ng") is None:
        unavailable("needs espeak-ng (Debian package; `make test` installs it)")
    levels = {}
    for name, flags in (("high", ["-p", "80", "-s", "205", "-a", "170"]), ("low", ["-p", "25", "-s", "125", "-a", "60"])):
        wav = tmp_path / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), *flags, text], check=True)
        track = load_audio(str(wav))
        feats = {f"ac_{k}": v for k, v in acoustic_features(track.slice(0.0, track.duration_s), track.sr).items()}
        track.close()
        levels[name], parts = scoring.arousal_level(feats)
        assert set(parts) == {c.key for c in scoring.AROUSAL_LEVEL_CUES}
    assert 0.0 < levels["low"] < levels["high"] < 1.0
    assert levels["high"] - levels["low"] > 0.1, levels
