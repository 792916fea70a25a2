"""Compliance profiles (EU, CN, US): what an analysis needs first and what a report must add.

The profile is a workspace setting (``compliance.profile``), so every reviewer and both the CLI and
the review window analyse under the same rules. No profile set means none of these checks applies.

- **EU** (AI Act): emotion recognition at the workplace is prohibited (Art. 5(1)(f)), so a case whose
  interview purpose is ``employee`` or ``hiring`` is analysed without its emotion parts (AU
  intensities, facial expression, voice arousal and the deception risk built on it); the face mesh,
  head pose, forgery cues, capture integrity, transcript and voice features still run, since
  forgery detection is not emotion recognition (:func:`allowed_parts`). People exposed to emotion
  recognition must be informed (Art. 50(3)): a ``disclosure`` record is required first (kept for
  employee and hiring interviews too: the face and voice are still processed).
- **CN** (PIPL Art. 28-29; deep-synthesis provisions): biometric data is sensitive personal
  information needing separate consent: a ``biometric_consent`` record is required first; suspected
  synthetic media is labelled as such in the report.
- **US**: FinCEN's deepfake alert FIN-2024-Alert004 asks that SARs about deepfake media carry the
  key term ``FIN-2024-DEEPFAKEFRAUD``: the report adds it when forgery is suspected.

This is product support for those duties, not legal advice; the texts name the rule they follow.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.errors import VigilError
from app.services import users
from app.store import compliance as store
from app.store import queries, runs
from app.store.workspace import Workspace

PROFILES = ("EU", "CN", "US")
PURPOSES = ("credit", "kyc", "fraud_investigation", "employee", "hiring", "other")
CONSENT_KINDS = ("disclosure", "biometric_consent")
FINCEN_KEYWORD = "FIN-2024-DEEPFAKEFRAUD"
PROFILE_KEY = "compliance.profile"
#: Settings a workspace accepts, each with its check (a value it accepts, or a VigilError).
SETTING_KEYS = ("compliance.profile", "forgery.suspect_threshold", "retention.days")

_REQUIRED_RECORD = {"EU": "disclosure", "CN": "biometric_consent"}
_NO_EMOTION = {"EU": ("employee", "hiring")}
EMOTION_RULE = "EU AI Act (Art. 5(1)(f))"
#: The parts of an analysis a profile can allow or refuse one by one. ``emotion`` is every output
#: that infers a felt state: AU intensities, facial expression, voice arousal and deception risk.
PARTS = ("face", "forgery", "integrity", "transcript", "voice_features", "emotion")
#: The video analysers (app.core.analysers.REGISTRY) that are emotion analysis.
EMOTION_ANALYSERS = ("au", "expression")


class ComplianceError(VigilError):
    """An action the workspace's compliance profile does not allow (the message gives the rule)."""


# -- settings ------------------------------------------------------------------------------------
def check_setting(key: str, value: Any) -> str | None:
    """A setting's value as stored (``None``: unset), or :class:`ComplianceError` saying what is wrong."""
    if not isinstance(key, str) or key not in SETTING_KEYS:
        raise ComplianceError(f"'{key}' is not a setting; known settings: {', '.join(SETTING_KEYS)}.")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if key == PROFILE_KEY:
        v = str(value).strip().upper()
        if v not in PROFILES:
            raise ComplianceError(f"'{value}' is not a compliance profile; choose one of: {', '.join(PROFILES)}.")
        return v
    if key == "forgery.suspect_threshold":
        try:
            f = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ComplianceError(f"forgery.suspect_threshold must be a number between 0 and 1, not '{value}'.") from None
        if not 0.0 < f < 1.0:
            raise ComplianceError(f"forgery.suspect_threshold must be between 0 and 1, not {value}.")
        return repr(f)
    if isinstance(value, bool):
        raise ComplianceError(f"retention.days must be a whole number of days, not '{value}'.")
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ComplianceError(f"retention.days must be a whole number of days, not '{value}'.") from None
    if not 1 <= days <= 36500:
        raise ComplianceError(f"retention.days must be between 1 and 36500, not {days}.")
    return str(days)


def parse_settings(text: str) -> dict[str, str | None]:
    """Settings from a JSON object (a settings file); every key and value checked, or ComplianceError."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ComplianceError(f"the settings file is not valid JSON ({str(exc).splitlines()[0][:120]}).") from None
    if not isinstance(data, dict):
        raise ComplianceError("the settings file must hold one JSON object of setting: value pairs.")
    return {k: check_setting(k, v) for k, v in data.items()}


def set_setting(ws: Workspace, key: str, value: Any, by: str | None = None) -> str | None:
    """Change a workspace setting (audited). Once users are registered only an admin may."""
    stored = check_setting(key, value)
    by = by or users.os_user()
    if users.users(ws):
        users.require_role(ws, by, ("admin",), "changing workspace settings")
    store.put_setting(ws, key, stored, actor=by)
    return stored


def settings(ws: Workspace) -> dict[str, str]:
    """The workspace's settings."""
    return store.settings(ws)


def profile(ws: Workspace) -> str | None:
    """The workspace's compliance profile (EU, CN, US) or ``None``."""
    return store.setting(ws, PROFILE_KEY)


# -- cases ---------------------------------------------------------------------------------------
def set_purpose(ws: Workspace, case_id: int, purpose: str, by: str | None = None) -> str:
    """Record why the interview was held (one of :data:`PURPOSES`); audited."""
    p = (purpose or "").strip().lower().replace(" ", "_").replace("-", "_")
    if p not in PURPOSES:
        raise ComplianceError(f"'{purpose}' is not an interview purpose; choose one of: {', '.join(PURPOSES)}.")
    store.set_purpose(ws, case_id, p, actor=by or users.os_user())
    return p


def record_consent(ws: Workspace, case_id: int, kind: str, text: str, given_by: str, by: str | None = None) -> int:
    """Record a disclosure made to, or a consent given by, the interviewee; returns its id."""
    if kind not in CONSENT_KINDS:
        raise ComplianceError(f"'{kind}' is not a record kind; choose one of: {', '.join(CONSENT_KINDS)}.")
    if not (text or "").strip() or not (given_by or "").strip():
        raise ComplianceError("A disclosure or consent record needs what was disclosed or agreed and who it was.")
    return store.add_consent(ws, case_id, kind, text.strip(), given_by.strip(), actor=by or users.os_user())


def analysis_refusal(profile_name: str | None, purpose: str | None, has_record: dict[str, bool]) -> str | None:
    """Why no analysis at all may run on the case (no purpose, a missing disclosure or consent), or None.

    Pure: ``has_record`` says which consent kinds the case has. A refusal of some parts only (emotion
    analysis under EU for employee or hiring interviews) is :func:`allowed_parts`'s.
    """
    if profile_name is None:
        return None
    if not purpose:
        return (f"The {profile_name} compliance profile needs the interview's purpose on the case before analysis "
                f"(one of: {', '.join(PURPOSES)}).")
    need = _REQUIRED_RECORD.get(profile_name)
    if need and not has_record.get(need):
        why = ("the EU AI Act (Art. 50(3)) requires informing the person exposed to emotion recognition"
               if need == "disclosure" else
               "PIPL (Art. 29) requires separate consent to process biometric information")
        return (f"The {profile_name} profile needs a {need.replace('_', ' ')} record on the case before analysis: "
                f"{why}.")
    return None


def allowed_parts(profile_name: str | None, purpose: str | None,
                  has_record: dict[str, bool]) -> tuple[frozenset[str], str | None]:
    """Which :data:`PARTS` of an analysis the case may run, and why any is refused (None: all run).

    Pure. No part (an empty set) when :func:`analysis_refusal` refuses the whole analysis; every
    part but ``emotion`` for an employee or hiring interview under EU (AI Act Art. 5(1)(f)).
    """
    whole = analysis_refusal(profile_name, purpose, has_record)
    if whole:
        return frozenset(), whole
    if purpose in _NO_EMOTION.get(profile_name or "", ()):
        return frozenset(PARTS) - {"emotion"}, emotion_reason(purpose)
    return frozenset(PARTS), None


def emotion_reason(purpose: str) -> str:
    """The plain sentence saying why emotion analysis was not run on a ``purpose`` interview under EU."""
    return (f"Emotion analysis was not run: the interview's purpose is {purpose.replace('_', ' ')}, and under "
            f"the EU profile the {EMOTION_RULE} prohibits emotion recognition in the workplace.")


def emotion_not_run(ws: Workspace, case_id: int) -> dict[str, str] | None:
    """``{"reason", "purpose"}`` when the case's newest analysis ran without its emotion parts, else None.

    Read from the runs' parameters (``emotion_refused``), so it says what was done, whatever the
    profile is now.
    """
    for run in queries.case_runs(ws, case_id).values():
        reason = json.loads(runs.get_run(ws, run["id"])["params_json"] or "{}").get("emotion_refused")
        if reason:
            return {"reason": str(reason), "purpose": str(ws.find_case(case_id).get("purpose") or "")}
    return None


def check_analysis(ws: Workspace, case_id: int) -> tuple[frozenset[str], str | None]:
    """The parts of an analysis the profile allows for this case now, and why any is refused.

    Raises :class:`ComplianceError` (with the reason; audited as ``analysis.refused``) when no part
    may run; audits a partial refusal as ``analysis.restricted`` with its reason.
    """
    p = profile(ws)
    if p is None:
        return frozenset(PARTS), None
    purpose = ws.find_case(case_id).get("purpose")
    kinds = {r["kind"] for r in store.case_consent(ws, case_id)}
    parts, reason = allowed_parts(p, purpose, {k: k in kinds for k in CONSENT_KINDS})
    if not parts:
        ws.audit("analysis.refused", case_id, {"profile": p, "purpose": purpose, "reason": reason})
        raise ComplianceError(reason or "analysis refused")
    if reason:
        ws.audit("analysis.restricted", case_id, {"profile": p, "purpose": purpose, "reason": reason,
                                                  "not_run": sorted(set(PARTS) - parts)})
    return parts, reason


# -- reports -------------------------------------------------------------------------------------
def report_additions(profile_name: str | None, forgery_probability: float | None,
                     threshold: float = 0.5, emotion_refused: bool = False) -> list[dict[str, str]]:
    """What a case report must add under a profile: ``[{"key", "text"}]`` (empty when nothing).

    Forgery is suspected when the session's fused forgery probability is at least ``threshold``.
    ``emotion_refused``: the case was analysed without its emotion parts (:func:`emotion_not_run`).
    """
    suspected = forgery_probability is not None and forgery_probability == forgery_probability \
        and forgery_probability >= threshold
    out: list[dict[str, str]] = []
    if profile_name == "US" and suspected:
        out.append({"key": "fincen_keyword", "text": FINCEN_KEYWORD,
                    "note": "FinCEN FIN-2024-Alert004: include this key term in the SAR narrative and field 2 "
                            "when reporting suspected deepfake media."})
    if profile_name == "CN" and suspected:
        out.append({"key": "synthetic_label", "text": "疑似深度合成内容 (suspected deep-synthesis content)",
                    "note": "Deep-synthesis provisions: content suspected to be synthetic is labelled as such."})
    if profile_name == "EU" and emotion_refused:
        out.append({"key": "emotion_not_run", "text": "Emotion analysis was not run on this case.",
                    "note": f"{EMOTION_RULE}: emotion recognition in the workplace is prohibited."})
    elif profile_name == "EU":
        out.append({"key": "emotion_disclosure",
                    "text": "Emotion-recognition indicators were used as risk prompts for a human reviewer; "
                            "no decision was made automatically.",
                    "note": "EU AI Act Art. 50(3) and Art. 14 (human oversight)."})
    return out
