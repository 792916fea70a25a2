"""ELAN export and import: a real analysed interview, real annotations, pympi reading the file back."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.fixture_download]


def _annotate(ws, case_id: int) -> None:
    from app.services import review

    tiers = {t["name"]: t["id"] for t in review.tiers(ws)}
    custom = review.add_tier(ws, "Follow-up", ["ask again", "check payslip"], "tester")
    stack = review.AnnotationStack(ws, case_id, "tester")
    stack.add(tiers["Evasive"], 3.125, 6.5, label="vague answer", note="did not name the employer")
    stack.add(tiers["Evasive"], 5.0, 9.25, label="long pause before answer")  # overlaps the first
    stack.add(tiers["Inconsistent"], 12.0, 14.75, label="numbers do not add up")
    stack.add(tiers["Suspected deepfake"], 20.0, label="face flicker")  # a point
    stack.add(tiers["Note"], 1.0, 2.0, note="interviewer's camera froze briefly")
    stack.add(tiers["Note"], 25.5, note="applicant looked off screen")  # a point with a note
    stack.add(custom, 10.0, 11.0, label="check payslip", note="salary figure")


def _keys(ws, case_id: int) -> list[tuple]:
    from app.services import review

    return sorted((a["tier"], round(a["start_s"] * 1000), round(a["end_s"] * 1000), a["label"], a["note"])
                  for a in review.annotations(ws, case_id))


def test_eaf_export_has_tiers_and_round_trips(review_case: tuple[Path, int, Path], tmp_path: Path) -> None:
    import pympi

    from app.cli import main
    from app.services import review
    from app.store.workspace import Workspace

    ws_path, case_id, video = review_case
    with Workspace.open(ws_path) as ws:
        _annotate(ws, case_id)
        before = _keys(ws, case_id)
    assert len(before) == 7
    out = tmp_path / "case.eaf"
    assert main(["export", str(case_id), "--workspace", str(ws_path), "--eaf", str(out)]) == 0

    eaf = pympi.Elan.Eaf(str(out))
    assert eaf.adocument["VERSION"] == "3.0"
    media = eaf.get_linked_files()
    assert media and media[0]["MEDIA_URL"] == Path(video).resolve().as_uri()
    names = eaf.get_tier_names()
    for tier in ("Evasive", "Inconsistent", "Suspected deepfake", "Baseline", "Note", "Follow-up", "Expression"):
        assert tier in names
    transcripts = [n for n in names if n.startswith("Transcript ")]
    assert len(transcripts) == 2, names  # interviewer and applicant, one tier each
    spoken = " ".join(v for n in transcripts for _, _, v in eaf.get_annotation_data_for_tier(n)).lower()
    assert "dashwood" in spoken  # the LibriVox answer, as recognised
    assert any(n.startswith("AU") for n in names)  # a smiling talking head crosses 2.0 somewhere
    assert len(eaf.get_annotation_data_for_tier("Evasive")) == 2

    # Remove every annotation, then bring them back from the file.
    with Workspace.open(ws_path) as ws:
        stack = review.AnnotationStack(ws, case_id, "tester")
        for a in review.annotations(ws, case_id):
            stack.delete(a["id"])
        assert _keys(ws, case_id) == []
    assert main(["import-eaf", str(out), "--case", str(case_id), "--workspace", str(ws_path)]) == 0
    with Workspace.open(ws_path) as ws:
        assert _keys(ws, case_id) == before
    # Importing the same file again adds nothing.
    assert main(["import-eaf", str(out), "--case", str(case_id), "--workspace", str(ws_path)]) == 0
    with Workspace.open(ws_path) as ws:
        assert _keys(ws, case_id) == before


def test_foreign_eaf_becomes_tiers_and_bad_files_are_refused(review_case: tuple[Path, int, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import pympi

    from app.cli import main
    from app.services import review
    from app.store.workspace import Workspace

    ws_path, case_id, _ = review_case
    eaf = pympi.Elan.Eaf(author="linguist")
    eaf.add_tier("Gesture")
    eaf.add_annotation("Gesture", 1200, 2500, "hand to mouth")
    eaf.add_annotation("Gesture", 4000, 4800, "shrug")
    eaf.add_tier("Evasive")
    eaf.add_annotation("Evasive", 7000, 8000, "looks away")  # not in Vigil's vocabulary: kept as the note
    path = tmp_path / "foreign.eaf"
    pympi.Elan.to_eaf(str(path), eaf)
    assert main(["import-eaf", str(path), "--case", str(case_id), "--workspace", str(ws_path)]) == 0
    with Workspace.open(ws_path) as ws:
        keys = _keys(ws, case_id)
        assert ("Gesture", 1200, 2500, "hand to mouth", "") in keys
        assert ("Gesture", 4000, 4800, "shrug", "") in keys
        assert ("Evasive", 7000, 8000, "", "looks away") in keys
        assert any(t["name"] == "Gesture" for t in review.tiers(ws))

    bad = tmp_path / "bad.eaf"
    bad.write_text("<not an eaf", encoding="utf-8")
    capsys.readouterr()
    assert main(["import-eaf", str(bad), "--case", str(case_id), "--workspace", str(ws_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an ELAN" in err[0]
    with Workspace.open(ws_path) as ws:
        assert _keys(ws, case_id) == keys  # nothing changed
