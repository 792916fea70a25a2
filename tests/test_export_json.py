"""The whole-case JSON export: a real analysed interview, validated against its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.fixture_download]

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "resources" / "schema" / "case_export.schema.json"


def test_json_export_validates_and_holds_the_case(review_case: tuple[Path, int, Path], tmp_path: Path) -> None:
    import jsonschema

    from app.cli import main
    from app.services import review, users
    from app.store.workspace import Workspace

    ws_path, case_id, _ = review_case
    with Workspace.open(ws_path) as ws:
        users.add_user(ws, users.os_user(), "Admin", "admin")  # sign-off needs a registered supervisor
        users.add_user(ws, "supervisor-1", "supervisor-1", "supervisor")
        tiers = {t["name"]: t["id"] for t in review.tiers(ws)}
        stack = review.AnnotationStack(ws, case_id, "tester")
        stack.add(tiers["Evasive"], 4.0, 7.5, label="vague answer", note="no employer named")
        stack.add(tiers["Note"], 12.0, note="camera glare")
        review.set_status(ws, case_id, "escalated", "officer-1", "avsync cue high; asked for a second call")
        review.sign_off(ws, case_id, "supervisor-1", "agreed")
    out = tmp_path / "case.json"
    assert main(["export", str(case_id), "--workspace", str(ws_path), "--json", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)

    assert sorted((a["tier"], a["label"], a["note"]) for a in doc["annotations"]) == [
        ("Evasive", "vague answer", "no employer named"), ("Note", "", "camera glare")]
    assert {d["kind"] for d in doc["decisions"]} == {"status", "signoff"}
    assert doc["case"]["status"] == "escalated"
    assert {r["kind"] for r in doc["runs"]} == {"video", "voice"}
    assert {"face_landmarker", "whisper_base"} <= {m["name"] for m in doc["models"]}
    secs = [s["second"] for s in doc["frames_per_second"] if s["face"] == 0]
    assert abs(len(secs) - doc["media"]["duration_s"]) <= 2  # one record per second of video
    assert secs == sorted(secs) and len(set(secs)) == len(secs)
    assert sum(s["frames"] for s in doc["frames_per_second"] if s["face"] == 0) >= 0.9 * doc["media"]["frame_count"]
    assert any("dashwood" in u["text"].lower() for u in doc["utterances"])
    assert doc["forgery_windows"] and doc["media"]["integrity"]["findings"]

    # The schema is not vacuous: a document missing its utterances or with a probability above 1 fails.
    broken = dict(doc)
    broken.pop("utterances")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    bad = json.loads(json.dumps(doc))
    bad["frames_per_second"][0]["expression"]["happiness"] = 1.7
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)


def test_json_export_of_unknown_case_is_one_line(review_case: tuple[Path, int, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    ws_path, _, _ = review_case
    out = tmp_path / "none.json"
    assert main(["export", "no such case", "--workspace", str(ws_path), "--json", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists()
