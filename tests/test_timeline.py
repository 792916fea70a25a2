"""Timeline data, frame overlays, explanations and the audio envelope, on a real analysed interview,
plus the synthetic one-hour case that ``vigil bench --gui`` opens."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.analysers.au import AU_NAMES
from app.core.analysers.columns import EXPRESSIONS
from app.core.errors import CaseNotFound, MediaError
from app.services import timeline as tl
from app.services.synthetic import build_synthetic_case
from app.store.workspace import Workspace


def _sql(ws_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the database directly (a second connection), as the reference the services must match."""
    con = sqlite3.connect(ws_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _run_ids(ws_path: Path, case_id: int) -> dict[str, int]:
    rows = _sql(ws_path, "select kind, max(id) from runs where case_id = ? group by kind", (case_id,))
    return {k: i for k, i in rows}


@pytest.fixture
def opened(review_case):
    ws_path, case_id, video = review_case
    ws = Workspace.open(ws_path)
    yield ws, ws_path, case_id, video
    ws.close()


def test_load_timeline_matches_the_frames_table(opened):
    ws, ws_path, case_id, _ = opened
    run = _run_ids(ws_path, case_id)["video"]
    d = tl.load_timeline(ws, case_id)
    ref = _sql(ws_path, "select frame, t_sec, usable, AU12, happiness, forgery, fg_temporal from frames "
                        "where run_id = ? and face = 0 order by frame", (run,))
    n_frames = _sql(ws_path, "select count(distinct frame) from frames where run_id = ?", (run,))[0][0]
    assert len(d) == n_frames == len(ref) > 500
    assert d.t.dtype == np.float64 and d.frame.dtype == np.int64 and d.usable.dtype == bool
    assert d.aus.shape == (len(d), 25) and d.expressions.shape == (len(d), 8) and d.aus.dtype == np.float32
    assert d.au_names == list(AU_NAMES) and d.expr_names == list(EXPRESSIONS)
    assert np.all(np.diff(d.t) > 0) and np.all(np.diff(d.frame) > 0)
    np.testing.assert_array_equal(d.frame, [r[0] for r in ref])
    np.testing.assert_allclose(d.t, [r[1] for r in ref])
    np.testing.assert_array_equal(d.usable, [bool(r[2]) for r in ref])
    ref_au12 = np.array([np.nan if r[3] is None else r[3] for r in ref], dtype=np.float32)
    np.testing.assert_allclose(d.aus[:, AU_NAMES.index("AU12")], ref_au12, rtol=1e-6, equal_nan=True)
    ref_forgery = np.array([np.nan if r[5] is None else r[5] for r in ref], dtype=np.float32)
    np.testing.assert_allclose(d.forgery, ref_forgery, rtol=1e-6, equal_nan=True)
    # Usable frames: a probability distribution over the 8 classes, AUs on 0-5. Unusable: no values.
    sums = d.expressions[d.usable].sum(axis=1)
    np.testing.assert_allclose(sums, 1.0, atol=2e-3)
    assert np.nanmin(d.aus) >= 0.0 and np.nanmax(d.aus) <= 5.0
    assert np.isnan(d.expressions[~d.usable]).all() and np.isnan(d.aus[~d.usable]).all()
    assert set(d.cues) == set(tl.CUE_NAMES) and all(len(v) == len(d) for v in d.cues.values())
    np.testing.assert_allclose(d.cues["temporal"], [np.nan if r[6] is None else r[6] for r in ref], equal_nan=True)
    # Utterances and windows: complete and in time order; the recording's facts from the media row.
    n_utts = _sql(ws_path, "select count(*) from utterances where run_id = ?", (_run_ids(ws_path, case_id)["voice"],))
    assert len(d.utterances) == n_utts[0][0] > 0
    assert [u["start_s"] for u in d.utterances] == sorted(u["start_s"] for u in d.utterances)
    assert any(u["is_applicant"] for u in d.utterances)
    n_win = _sql(ws_path, "select count(*) from forgery_windows where run_id = ?", (run,))[0][0]
    assert len(d.forgery_windows) == n_win > 0 and set(d.forgery_windows[0]) == {"start_s", "end_s", "probability",
                                                                                 "cues"}
    media = _sql(ws_path, "select width, height, fps, duration_s from media where case_id = ?", (case_id,))[0]
    assert (d.width, d.height) == (media[0], media[1]) and d.fps == pytest.approx(media[2])
    assert d.duration_s >= d.t[-1] and d.duration_s >= media[3] and d.has_audio
    assert d.index_at(d.t[10] + 0.001) == 10


def test_frame_overlay_box_and_mesh_lie_on_the_face(opened):
    ws, ws_path, case_id, _ = opened
    d = tl.load_timeline(ws, case_id)
    frame = int(d.frame[d.usable][len(d.frame[d.usable]) // 2])
    o = tl.frame_overlay(ws, case_id, frame)
    assert o is not None and o["frame"] == frame and o["usable"] and o["reason"] == ""
    x, y, w, h = o["bbox"]
    assert 0 <= x and 0 <= y and w > 20 and h > 20 and x + w <= d.width + 1 and y + h <= d.height + 1
    mesh = o["mesh"]
    assert mesh.shape == (478, 2) and mesh.dtype == np.float32
    inside = ((mesh[:, 0] >= x - 0.1 * w) & (mesh[:, 0] <= x + 1.1 * w)
              & (mesh[:, 1] >= y - 0.1 * h) & (mesh[:, 1] <= y + 1.1 * h))
    assert inside.mean() > 0.95
    assert abs(mesh[:, 0].mean() - (x + w / 2)) < 0.25 * w and abs(mesh[:, 1].mean() - (y + h / 2)) < 0.25 * h
    assert set(o["aus"]) == set(AU_NAMES)
    assert o["aus"]["AU12"] == pytest.approx(float(d.aus[d.index_at(o["t"]), AU_NAMES.index("AU12")]), abs=1e-4)
    assert set(o["cues"]) == set(tl.CUE_NAMES)
    assert tl.frame_overlay(ws, case_id, int(d.frame[-1]) + 1000) is None


def test_explain_at_a_time_inside_an_applicant_utterance(opened):
    ws, ws_path, case_id, _ = opened
    voice = _run_ids(ws_path, case_id)["voice"]
    idx, start, end, text = _sql(ws_path, "select idx, start_s, end_s, text from utterances where run_id = ? "
                                          "and is_applicant = 1 order by end_s - start_s desc limit 1", (voice,))[0]
    t = (start + end) / 2
    e = tl.explain(ws, case_id, t)
    assert e["t0"] == t and e["t1"] is None
    assert [u["idx"] for u in e["utterances"]] == [idx] and e["utterances"][0]["text"] == text
    u = e["utterances"][0]
    for w in u["risk_words"]:
        assert text[w["start"]:w["end"]] == w["word"]
    assert 0.0 <= u["deception_risk"] <= 1.0 and "top_cues" in u["evidence"]
    d = tl.load_timeline(ws, case_id)
    i = d.index_at(t)
    assert e["frames"] == [int(d.frame[i])] * 2
    assert e["quality"]["usable_share"] == float(d.usable[i])
    if d.usable[i]:
        probs = e["expression"]["probs"]
        assert e["expression"]["dominant"] == EXPRESSIONS[int(np.nanargmax(d.expressions[i]))]
        assert probs["happiness"] == pytest.approx(float(d.expressions[i, 1]), abs=1e-3)
        values = [a["value"] for a in e["top_aus"]]
        assert len(values) == 5 and values == sorted(values, reverse=True)
        assert values[0] == pytest.approx(float(np.nanmax(d.aus[i])), abs=1e-3)
        assert e["top_aus"][0]["name"] == tl.AU_LABELS[e["top_aus"][0]["au"]] != e["top_aus"][0]["au"]
    f = e["forgery"]
    win = [w for w in d.forgery_windows if w["start_s"] <= t < w["end_s"]]
    assert len(win) == 1 and f["probability"] == win[0]["probability"]
    if not f["insufficient"]:
        assert f["evidence_frames"] and all(isinstance(k, int) for k in f["evidence_frames"])
        assert d.t[d.frame == f["evidence_frames"][0]][0] == pytest.approx(win[0]["start_s"], abs=0.05)
        assert f["evidence_times"][0] == pytest.approx(win[0]["start_s"], abs=0.05)
        assert f["evidence_times"][-1] < win[0]["end_s"] <= f["evidence_times"][-1] + 0.1
        assert {c["weight"] for c in f["cues"].values()} - {None}
        # the explanation is true to the fusion: prior plus what each cue adds gives the probability,
        # and the cue named as carrying it is the one adding the most
        adds = {k: c["contribution"] for k, c in f["cues"].items() if c["contribution"] is not None}
        if f["integrity"] is not None and f["integrity"]["contribution"] is not None:
            adds["integrity"] = f["integrity"]["contribution"]
        z = math.log(f["prior"] / (1 - f["prior"])) + sum(adds.values())
        assert f["probability"] == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-3)
        assert f["carried_by"] == (max(adds, key=adds.get) if max(adds.values(), default=0) > 0 else None)
    feats = e["features_vs_baseline"]
    assert feats and len(feats) <= 8 and all(f["plain"] for f in feats)
    assert [abs(f["z"]) for f in feats] == sorted((abs(f["z"]) for f in feats), reverse=True)
    # The interviewer's words are not compared with the applicant's baseline.
    q = next(u for u in d.utterances if not u["is_applicant"])
    e_q = tl.explain(ws, case_id, (q["start_s"] + q["end_s"]) / 2)
    assert [u["idx"] for u in e_q["utterances"]] == [q["idx"]] and e_q["features_vs_baseline"] == []


def test_explain_over_an_interval_aggregates(opened):
    ws, ws_path, case_id, _ = opened
    d = tl.load_timeline(ws, case_id)
    t0, t1 = 5.0, 25.0
    e = tl.explain(ws, case_id, t1, t0)  # either order
    assert (e["t0"], e["t1"]) == (t0, t1)
    sel = (d.t >= t0) & (d.t <= t1)
    assert e["quality"]["frames"] == int(sel.sum())
    assert e["quality"]["usable_share"] == pytest.approx(d.usable[sel].mean())
    assert e["frames"] == [int(d.frame[sel][0]), int(d.frame[sel][-1])]
    mean_expr = np.nanmean(d.expressions[sel & d.usable], axis=0)
    for k, name in enumerate(EXPRESSIONS):
        assert e["expression"]["probs"][name] == pytest.approx(float(mean_expr[k]), abs=1e-3)
    mean_au = np.nanmean(d.aus[sel & d.usable], axis=0)
    for a in e["top_aus"]:
        assert a["value"] == pytest.approx(float(mean_au[AU_NAMES.index(a["au"])]), abs=1e-3)
    expected = [u["idx"] for u in d.utterances if u["start_s"] <= t1 and u["end_s"] >= t0]
    assert [u["idx"] for u in e["utterances"]] == expected and len(expected) >= 3
    windows = [w for w in d.forgery_windows if w["start_s"] < t1 and w["end_s"] > t0 and w["probability"] is not None]
    assert e["forgery"]["windows"] >= len(windows) > 1
    assert e["forgery"]["probability"] == pytest.approx(np.mean([w["probability"] for w in windows]), abs=1e-3)
    assert e["forgery"]["max_probability"] == pytest.approx(max(w["probability"] for w in windows), abs=1e-4)
    assert 1 <= len(e["forgery"]["evidence_frames"]) <= 3


def test_waveform_envelope_follows_the_speech(opened):
    ws, ws_path, case_id, video = opened
    tc, lo, hi = tl.waveform_envelope(str(video), bins=2000)
    assert len(tc) == len(lo) == len(hi) == 2000 and tc.dtype == lo.dtype == np.float32
    assert np.all(np.diff(tc) > 0) and np.all(lo <= hi) and lo.min() >= -1 and hi.max() <= 1
    from app.core.voice.audio import load_audio

    with load_audio(str(video)) as track:
        assert tc[-1] == pytest.approx(track.duration_s, abs=0.1)
        peak = float(np.abs(track.slice(0, track.duration_s)).max())
    assert max(hi.max(), -lo.min()) == pytest.approx(peak, abs=0.05)
    amp = hi - lo
    utts = tl.load_timeline(ws, case_id).utterances
    speech = np.zeros(len(tc), bool)
    for u in utts:
        speech |= (tc >= u["start_s"]) & (tc <= u["end_s"])
    near = np.zeros(len(tc), bool)
    for u in utts:
        near |= (tc >= u["start_s"] - 0.4) & (tc <= u["end_s"] + 0.4)
    gaps = ~near
    assert gaps.sum() > 50 and speech.sum() > 500
    assert np.median(amp[speech]) > 5 * np.median(amp[gaps])
    loud = np.flatnonzero(amp > 0.2 * amp.max())
    assert abs(tc[loud[0]] - utts[0]["start_s"]) < 0.5  # sound starts where the first utterance does


def test_waveform_envelope_without_sound_and_bad_files(tmp_path):
    import av

    silent = tmp_path / "silent.mp4"  # a real video file with no audio stream
    with av.open(str(silent), "w") as out:
        vs = out.add_stream("mpeg4", rate=10)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    tc, lo, hi = tl.waveform_envelope(str(silent))
    assert len(tc) == len(lo) == len(hi) == 0
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(MediaError):
        tl.waveform_envelope(str(bad))
    with pytest.raises(MediaError):
        tl.waveform_envelope(str(tmp_path / "missing.mp4"))


def test_load_since_returns_only_newer_rows(opened):
    ws, ws_path, case_id, _ = opened
    full = tl.load_timeline(ws, case_id)
    after = int(full.frame[len(full) // 2])
    part = tl.load_since(ws, case_id, after)
    assert len(part) == int((full.frame > after).sum()) > 0 and part.frame.min() > after
    np.testing.assert_array_equal(part.frame, full.frame[full.frame > after])
    np.testing.assert_allclose(part.aus, full.aus[full.frame > after], equal_nan=True)
    assert len(part.utterances) == len(full.utterances)  # small lists always come whole
    assert len(tl.load_since(ws, case_id, int(full.frame[-1]))) == 0


def test_live_growth_and_faces_missing_from_frames(tmp_path):
    """A run still being written: load_since sees each new batch; frames where only another face
    was seen still get a row on the applicant's time axis."""
    from app.store import runs

    with Workspace.open(tmp_path / "ws.db") as ws:
        case_id = build_synthetic_case(ws, duration_s=10.0, fps=30.0, seed=3)
        d = tl.load_timeline(ws, case_id)
        assert len(d) == 300 and d.frame[-1] == 299
        run_id = _run_ids(tmp_path / "ws.db", case_id)["video"]
        # Frames 30-59 turn out to be another person's face (face 1).
        ws.write(lambda db: db.execute(
            "update frames set face = 1, track = 1 where run_id = ? and frame between 30 and 59", [run_id]))
        d0 = tl.load_timeline(ws, case_id)
        assert len(d0) == 300 and not d0.usable[30:60].any() and np.isnan(d0.aus[30:60]).all()
        np.testing.assert_allclose(d0.t[30:60], np.arange(30, 60) / 30.0, atol=1e-6)
        o = tl.frame_overlay(ws, case_id, 45)
        assert o["bbox"] is None and not o["usable"] and o["reason"] and o["t"] == pytest.approx(1.5)
        assert tl.frame_overlay(ws, case_id, 45, face=1)["bbox"] is not None
        d1 = tl.load_timeline(ws, case_id, face=1)
        assert len(d1) == 300 and d1.usable[30:60].sum() == int(d.usable[30:60].sum())
        # Analysis goes on: two more batches arrive.
        rows = [{"frame": f, "t_sec": f / 30.0, "track": -1, "face": 0, "present": 0, "usable": 0,
                 "reason": "no face found"} for f in range(300, 330)]
        runs.write_batch(ws, run_id, rows[:15], [], 314, 315).result()
        new = tl.load_since(ws, case_id, 299)
        assert list(new.frame) == list(range(300, 315)) and not new.usable.any()
        runs.write_batch(ws, run_id, rows[15:], [], 329, 330).result()
        assert list(tl.load_since(ws, case_id, 314).frame) == list(range(315, 330))
        assert tl.frame_overlay(ws, case_id, 320) == {
            "frame": 320, "t": pytest.approx(320 / 30.0), "bbox": None, "mesh": None, "aus": {}, "forgery": None,
            "cues": dict.fromkeys(tl.CUE_NAMES), "usable": False, "reason": "no face found", "pose": None}


def test_cases_without_analysis_and_unknown_cases(tmp_path):
    with Workspace.open(tmp_path / "ws.db") as ws:
        case_id = ws.create_case("not analysed yet")
        d = tl.load_timeline(ws, case_id)
        assert len(d) == 0 and d.aus.shape == (0, 25) and d.utterances == [] and d.media_path == ""
        assert tl.frame_overlay(ws, case_id, 0) is None
        e = tl.explain(ws, case_id, 1.0)
        assert e["utterances"] == [] and e["top_aus"] == [] and e["forgery"]["insufficient"]
        with pytest.raises(CaseNotFound):
            tl.load_timeline(ws, case_id + 1)
        with pytest.raises(CaseNotFound):
            tl.explain(ws, case_id + 1, 0.0)


def test_synthetic_case_can_be_rescored_against_a_baseline(tmp_path):
    """The synthetic case stores raw features like a real run, so a reviewer's baseline works on it."""
    from app.services.analyze import rescore_with_baseline

    with Workspace.open(tmp_path / "ws.db") as ws:
        case_id = build_synthetic_case(ws, duration_s=60.0, fps=30.0, seed=1)
        before = tl.load_timeline(ws, case_id)
        run_id = _run_ids(tmp_path / "ws.db", case_id)["video"]
        no_blink = np.delete(before.aus, AU_NAMES.index("AU43"), axis=1)
        busiest = int(np.nanargmax(np.nansum(no_blink, axis=1)))
        t = float(before.t[busiest])
        assert rescore_with_baseline(ws, run_id, 0, t - 0.5, t + 0.5) > 0
        after = tl.load_timeline(ws, case_id)
        # Measured against itself, the expressive second reads much weaker (blendshape baselines are
        # capped at 0.3, so a broad smile stays partly visible by design).
        span = (before.t >= t - 0.5) & (before.t <= t + 0.5) & before.usable
        assert np.nanmean(np.delete(after.aus, AU_NAMES.index("AU43"), axis=1)[span]) < \
            0.75 * np.nanmean(no_blink[span])
        assert not np.allclose(after.aus[~span & before.usable], before.aus[~span & before.usable])
        np.testing.assert_allclose(np.nansum(after.expressions[after.usable], axis=1), 1.0, atol=2e-3)


@pytest.mark.slow
def test_synthetic_one_hour_case(tmp_path):
    """The case ``vigil bench --gui`` opens: an hour at 30 fps. Load time is printed, not asserted."""
    ws_path = tmp_path / "hour.db"
    t = time.perf_counter()
    with Workspace.open(ws_path) as ws:
        case_id = build_synthetic_case(ws)
    built = time.perf_counter() - t
    with Workspace.open(ws_path) as ws:
        t, c = time.perf_counter(), time.thread_time()
        d = tl.load_timeline(ws, case_id)
        wall, cpu = time.perf_counter() - t, time.thread_time() - c
        print(f"\nsynthetic 1 h case: built in {built:.1f} s; load_timeline {len(d)} rows in {wall:.3f} s "
              f"(CPU {cpu:.3f} s)")
        assert len(d) == 108000 and d.t[-1] == pytest.approx(3600.0 - 1 / 30.0)
        assert np.all(np.diff(d.t) > 0) and 0.9 < d.usable.mean() < 1.0
        np.testing.assert_allclose(d.expressions[d.usable].sum(axis=1), 1.0, atol=2e-3)
        assert 400 <= len(d.utterances) <= 800 and {u["lang"] for u in d.utterances} == {"en", "zh"}
        applicant = [u for u in d.utterances if u["is_applicant"]]
        assert 200 <= len(applicant) < len(d.utterances)
        assert all(0.0 < u["deception_risk"] < 1.0 for u in applicant)
        assert all(u["deception_risk"] is None for u in d.utterances if not u["is_applicant"])  # only the applicant is scored
        assert len(d.forgery_windows) == 1800 and d.duration_s == pytest.approx(3600.0, abs=0.1)
        assert np.nanmax(d.forgery) > 0.5 > np.nanmedian(d.forgery)  # one suspicious stretch
        blinks_per_min = np.sum(np.diff((d.aus[:, AU_NAMES.index("AU43")] > 3).astype(int)) == 1) / 60.0
        assert 5 < blinks_per_min < 40
        e = tl.explain(ws, case_id, 1800.0)
        assert e["frames"] == [54000, 54000] and e["top_aus"]
        assert tl.frame_overlay(ws, case_id, 54000)["bbox"] is not None
    tc, lo, hi = tl.waveform_envelope(d.media_path)
    assert tc[-1] == pytest.approx(3600.0, abs=1.0)
    speaking = np.zeros(len(tc), bool)
    for u in d.utterances:
        speaking |= (tc >= u["start_s"]) & (tc <= u["end_s"])
    assert np.median((hi - lo)[speaking]) > 10 * np.median((hi - lo)[~speaking])
    assert not math.isnan(wall)
