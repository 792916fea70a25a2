"""Compliance profiles (EU, CN, US): purpose and consent before analysis, which parts of an analysis
a case may run (under EU no emotion analysis for employee and hiring interviews, with its reason;
the whole run is in tests/test_compliance_eu.py), and the report additions (FinCEN key term under US
when forgery is suspected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.services import compliance as cp
from app.store import audit
from app.store import compliance as cstore
from app.store.workspace import Workspace


@pytest.mark.parametrize("profile, prob, keys", [
    ("US", 0.91, ["fincen_keyword"]),
    ("US", 0.50, ["fincen_keyword"]),
    ("US", 0.49, []),
    ("US", None, []),
    ("US", float("nan"), []),
    ("CN", 0.80, ["synthetic_label"]),
    ("CN", 0.10, []),
    ("EU", 0.80, ["emotion_disclosure"]),
    (None, 0.99, []),
])
def test_report_additions(profile: str | None, prob: float | None, keys: list[str]) -> None:
    out = cp.report_additions(profile, prob, threshold=0.5)
    assert [a["key"] for a in out] == keys
    if "fincen_keyword" in keys:
        assert out[0]["text"] == "FIN-2024-DEEPFAKEFRAUD" and "FIN-2024-Alert004" in out[0]["note"]
    assert cp.report_additions("US", 0.7, threshold=0.8) == []


def test_analysis_refusal_rules() -> None:
    ok = {"disclosure": True, "biometric_consent": True}
    assert cp.analysis_refusal(None, None, {}) is None
    assert "purpose" in cp.analysis_refusal("US", None, ok)
    assert cp.analysis_refusal("US", "credit", {}) is None  # no record required under US
    for purpose in ("hiring", "employee"):  # only emotion analysis is refused for these: see allowed_parts
        assert cp.analysis_refusal("EU", purpose, ok) is None
        assert "disclosure record" in cp.analysis_refusal("EU", purpose, {})
    assert cp.analysis_refusal("CN", "hiring", ok) is None
    assert "disclosure record" in cp.analysis_refusal("EU", "credit", {"biometric_consent": True})
    assert cp.analysis_refusal("EU", "credit", {"disclosure": True}) is None
    assert "biometric consent record" in cp.analysis_refusal("CN", "kyc", {"disclosure": True})
    assert cp.analysis_refusal("CN", "kyc", {"biometric_consent": True}) is None


def test_allowed_parts() -> None:
    """EU refuses the emotion parts of employee and hiring interviews; a whole refusal refuses every part."""
    ok = {"disclosure": True, "biometric_consent": True}
    everything = frozenset(cp.PARTS)
    for profile, purpose in ((None, None), ("EU", "credit"), ("EU", "kyc"), ("CN", "hiring"), ("US", "employee")):
        assert cp.allowed_parts(profile, purpose, ok) == (everything, None)
    for purpose in ("hiring", "employee"):
        parts, reason = cp.allowed_parts("EU", purpose, ok)
        assert parts == everything - {"emotion"} and {"forgery", "integrity", "face", "transcript"} <= parts
        assert reason and "Emotion analysis was not run" in reason and "Art. 5(1)(f)" in reason and purpose in reason
        parts, reason = cp.allowed_parts("EU", purpose, {})
        assert parts == frozenset() and "disclosure record" in reason
    parts, reason = cp.allowed_parts("EU", None, ok)
    assert parts == frozenset() and "purpose" in reason
    additions = cp.report_additions("EU", 0.1, emotion_refused=True)
    assert [a["key"] for a in additions] == ["emotion_not_run"] and "Art. 5(1)(f)" in additions[0]["note"]


def test_settings_are_checked_and_audited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ws.db"
    assert main(["settings", "set", "compliance.profile", "eu", "--workspace", str(path)]) == 0
    assert main(["settings", "set", "compliance.profile", "mars", "--workspace", str(path)]) == 2
    assert "not a compliance profile" in capsys.readouterr().err
    settings_file = tmp_path / "settings.json"
    settings_file.write_text('{"compliance.profile": "CN", "retention.days": 180}', encoding="utf-8")
    assert main(["settings", "import", str(settings_file), "--workspace", str(path)]) == 0
    with Workspace.open(path) as ws:
        assert cp.profile(ws) == "CN" and cp.settings(ws)["retention.days"] == "180"
        changes = [e["detail"] for e in audit.history(ws) if e["action"] == "settings.change"]
    assert [(c["key"], c["from"], c["to"]) for c in changes] == [
        ("compliance.profile", None, "EU"), ("compliance.profile", "EU", "CN"), ("retention.days", None, "180")]


def test_eu_refuses_a_hiring_interview_without_a_disclosure(talking_head: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI shows the reason, writes no run, and the refusal is in the audit trail. (With a
    disclosure the interview is analysed without its emotion parts: tests/test_compliance_eu.py.)"""
    path = tmp_path / "ws.db"
    assert main(["settings", "set", "compliance.profile", "EU", "--workspace", str(path)]) == 0
    rc = main(["analyze", str(talking_head), "--no-voice", "--purpose", "hiring", "--case", "Job applicant",
               "--workspace", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and "needs a disclosure record" in err and "Traceback" not in err
    with Workspace.open(path) as ws:
        case = ws.find_case("Job applicant")
        assert case["purpose"] == "hiring"
        log = audit.history(ws, case["id"])
        assert [e["action"] for e in log][-1] == "analysis.refused"
        assert ws.db.execute("select count(*) from runs").fetchone()[0] == 0


def test_consent_is_required_before_analysis_where_the_profile_demands_it(talking_head: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ws.db"
    assert main(["settings", "set", "compliance.profile", "CN", "--workspace", str(path)]) == 0
    args = ["analyze", str(talking_head), "--no-voice", "--case", "Loan 12", "--workspace", str(path)]
    assert main([*args, "--purpose", "credit"]) == 2
    assert "biometric consent record" in capsys.readouterr().err
    assert main(["compliance", "consent", "Loan 12", "--kind", "biometric_consent", "--text",
                 "单独同意处理人脸与声音生物特征信息", "--given-by", "张三", "--workspace", str(path)]) == 0
    assert main(args) == 0
    with Workspace.open(path) as ws:
        case = ws.find_case("Loan 12")
        consents = cstore.case_consent(ws, case["id"], ("biometric_consent",))
        assert len(consents) == 1 and consents[0]["given_by"] == "张三"
        kinds = [e["action"] for e in audit.history(ws, case["id"])]
        assert kinds.index("consent.record") < kinds.index("run.start") and "run.completed" in kinds
        assert audit.verify(ws).ok
