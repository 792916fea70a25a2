"""Review of a case: annotation tiers, annotations with undo/redo, the reviewer's baseline, the verdict.

Headless (no Qt): the review window drives these functions and the command stack, and tests drive
them the same way. Every change is written at once and leaves an audit record; every refusal is a
:class:`ReviewError` with a sentence a risk officer can act on, raised before anything is written.

Annotation edits are command objects with ``do``/``undo`` on a stack (glue's ``core/command.py``:
"All UI frontends should map interactions to command objects"), so the timeline lanes, the editor
panel and the keyboard all share one history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from app.core.errors import VigilError
from app.services import users
from app.store import audit
from app.store import review as store
from app.store import runs
from app.store.workspace import Workspace, now

STATUSES = ("new", "in_review", "escalated", "cleared", "rejected")  # "rejected" = fraud
VERDICTS = ("escalated", "cleared", "rejected")  # need a written reason
NEEDS_SIGNOFF = ("rejected",)  # a fraud verdict stands only once a supervisor has signed it off
BASELINE_TIER = "Baseline"
# Colours offered to reviewer-defined tiers, after the built-in ones (Okabe-Ito, then Tableau).
_TIER_COLORS = ("#56b4e9", "#f0e442", "#999999", "#8c564b", "#bcbd22", "#17becf", "#9467bd", "#7f7f7f")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class ReviewError(VigilError):
    """A review action that cannot be done as asked (the message says why, in plain words)."""


def _plain_status(status: str) -> str:
    return status.replace("_", " ")


def _case(ws: Workspace, case_id: int) -> dict[str, Any]:
    row = store.case(ws, case_id)
    if row is None:
        raise ReviewError(f"There is no case {case_id} in this workspace.")
    return row


# -- tiers ---------------------------------------------------------------------------------------
def tiers(ws: Workspace) -> list[dict[str, Any]]:
    """Annotation tiers in display order.

    Each is ``{"id", "name", "vocabulary": [str], "color": "#rrggbb", "builtin": bool, "kind": "interval",
    "sort"}``; an empty vocabulary means free text (the Note tier).
    """
    return store.tiers(ws)


def add_tier(ws: Workspace, name: str, vocabulary: list[str], actor: str, color: str | None = None) -> int:
    """Add a reviewer-defined tier with its controlled vocabulary; returns its id."""
    name = (name or "").strip()
    if not name:
        raise ReviewError("A tier needs a name.")
    if store.tier_by_name(ws, name) is not None:
        raise ReviewError(f"A tier named '{name}' already exists.")
    vocab = list(dict.fromkeys(v.strip() for v in vocabulary if v and v.strip()))
    if color is None:
        used = {t["color"].lower() for t in store.tiers(ws)}
        color = next((c for c in _TIER_COLORS if c not in used), _TIER_COLORS[len(used) % len(_TIER_COLORS)])
    elif not _COLOR.match(color):
        raise ReviewError(f"'{color}' is not a colour; give it as #rrggbb.")
    return store.insert_tier(ws, name, vocab, color.lower(), actor=actor or "reviewer")


# -- annotations ---------------------------------------------------------------------------------
def annotations(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """A case's annotations in time order.

    Each is ``{"id", "case_id", "tier_id", "tier", "start_s", "end_s", "label", "note", "author",
    "created_at", "updated_at"}``; a point annotation has ``end_s == start_s``.
    """
    return store.annotations(ws, case_id)


def _checked(ws: Workspace, fields: dict[str, Any]) -> dict[str, Any]:
    """An annotation's fields after validation: times ordered, label from the tier's vocabulary."""
    tier = store.tier(ws, fields["tier_id"])
    if tier is None:
        raise ReviewError("That annotation tier does not exist.")
    try:
        start, end = float(fields["start_s"]), float(fields["end_s"])
    except (TypeError, ValueError):
        raise ReviewError("An annotation's start and end must be times in seconds.") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ReviewError("An annotation's start and end must be times in seconds.")
    start, end = min(start, end), max(start, end)  # I and O may be pressed in either order
    if start < 0:
        raise ReviewError("An annotation cannot start before the beginning of the recording.")
    if tier["name"] == BASELINE_TIER and end - start <= 0:
        raise ReviewError("A Baseline annotation needs an interval: mark where the calm stretch starts and ends.")
    label = (fields.get("label") or "").strip()
    vocab = tier["vocabulary"]
    if label and vocab:
        match = next((v for v in vocab if v.casefold() == label.casefold()), None)
        if match is None:
            raise ReviewError(f"'{label}' is not a label of the {tier['name']} tier; "
                              f"choose one of: {', '.join(vocab)}.")
        label = match
    return {"tier_id": tier["id"], "start_s": round(start, 4), "end_s": round(end, 4), "label": label,
            "note": (fields.get("note") or "").strip()}


def _is_baseline(ws: Workspace, tier_id: int) -> bool:
    tier = store.tier(ws, tier_id)
    return tier is not None and tier["name"] == BASELINE_TIER


class Command:
    """One undoable annotation edit (glue style): ``do`` and ``undo`` each write and return the change."""

    text = ""

    def do(self, stack: AnnotationStack) -> dict[str, Any]:
        """Apply the edit; returns ``{"op", "id", "before", "after"}``."""
        raise NotImplementedError

    def undo(self, stack: AnnotationStack) -> dict[str, Any]:
        """Revert the edit; returns ``{"op", "id", "before", "after"}``."""
        raise NotImplementedError


class AddAnnotation(Command):
    """Add an annotation; undo soft-deletes it, redo restores the same row (same id)."""

    text = "add annotation"

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.ann_id: int | None = None

    def do(self, stack: AnnotationStack) -> dict[str, Any]:
        detail = stack.detail(None, self.fields)
        if self.ann_id is None:
            f = self.fields
            self.ann_id = store.insert_annotation(stack.ws, stack.case_id, f["tier_id"], f["start_s"], f["end_s"],
                                                  f["label"], f["note"], stack.actor, detail)
        else:
            store.set_annotation_deleted(stack.ws, self.ann_id, False, detail, stack.actor)
        return {"op": "add", "id": self.ann_id, "before": None, "after": self.fields}

    def undo(self, stack: AnnotationStack) -> dict[str, Any]:
        assert self.ann_id is not None
        store.set_annotation_deleted(stack.ws, self.ann_id, True, stack.detail(self.fields, None), stack.actor)
        return {"op": "delete", "id": self.ann_id, "before": self.fields, "after": None}


class UpdateAnnotation(Command):
    """Change some fields of an annotation; undo puts the old values back."""

    def __init__(self, ann_id: int, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.ann_id, self.before, self.after = ann_id, before, after
        changed = {k for k in after if after[k] != before[k]}
        self.text = "move annotation" if changed <= {"start_s", "end_s"} else "edit annotation"

    def do(self, stack: AnnotationStack) -> dict[str, Any]:
        store.update_annotation(stack.ws, self.ann_id, self.after, stack.detail(self.before, self.after), stack.actor)
        return {"op": "update", "id": self.ann_id, "before": self.before, "after": self.after}

    def undo(self, stack: AnnotationStack) -> dict[str, Any]:
        store.update_annotation(stack.ws, self.ann_id, self.before, stack.detail(self.after, self.before), stack.actor)
        return {"op": "update", "id": self.ann_id, "before": self.after, "after": self.before}


class DeleteAnnotation(Command):
    """Soft-delete an annotation; undo restores it with its id."""

    text = "delete annotation"

    def __init__(self, ann_id: int, fields: dict[str, Any]) -> None:
        self.ann_id, self.fields = ann_id, fields

    def do(self, stack: AnnotationStack) -> dict[str, Any]:
        store.set_annotation_deleted(stack.ws, self.ann_id, True, stack.detail(self.fields, None), stack.actor)
        return {"op": "delete", "id": self.ann_id, "before": self.fields, "after": None}

    def undo(self, stack: AnnotationStack) -> dict[str, Any]:
        store.set_annotation_deleted(stack.ws, self.ann_id, False, stack.detail(None, self.fields), stack.actor)
        return {"op": "add", "id": self.ann_id, "before": None, "after": self.fields}


BaselineRunner = Callable[[Callable[[], dict[str, Any]]], Any]


class AnnotationStack:
    """The undo/redo history of one case's annotations, for one reviewer.

    Every ``add``/``update``/``delete``/``undo``/``redo`` is written to the workspace before it
    returns and leaves an audit record (``annotation.add|update|delete`` with ``via``: do, undo or
    redo). Then each of ``listeners`` is called with ``{"op": "add"|"update"|"delete", "id": int,
    "baseline_changed": bool, "via": str}``; ``op`` is what happened to the row (undoing an add is a
    delete).

    When a change touches the Baseline tier the scores are re-computed against the new baseline
    (:func:`apply_baseline`) before the listeners run. ``baseline_runner``, if given, receives that
    job instead (a zero-argument callable) so a GUI can run it on a worker thread; then
    ``baseline_changed`` means "re-scoring has started".
    """

    def __init__(self, ws: Workspace, case_id: int, actor: str, baseline_runner: BaselineRunner | None = None) -> None:
        _case(ws, case_id)
        self.ws, self.case_id, self.actor = ws, case_id, (actor or "").strip() or "reviewer"
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.baseline_runner = baseline_runner
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._via, self._cmd_text = "do", ""

    # -- edits -----------------------------------------------------------------------------------
    def add(self, tier_id: int, start_s: float, end_s: float | None = None, label: str = "", note: str = "") -> int:
        """Add a point (``end_s`` None) or interval annotation; returns its id."""
        fields = _checked(self.ws, {"tier_id": tier_id, "start_s": start_s,
                                    "end_s": start_s if end_s is None else end_s, "label": label, "note": note})
        cmd = AddAnnotation(fields)
        self._push(cmd)
        assert cmd.ann_id is not None
        return cmd.ann_id

    def update(self, ann_id: int, **changes: Any) -> None:
        """Change ``start_s``, ``end_s``, ``label``, ``note`` and/or ``tier_id`` of an annotation.

        Moving an annotation to another tier clears a label that the new tier's vocabulary lacks.
        """
        bad = sorted(set(changes) - set(store.ANNOTATION_FIELDS))
        if bad:
            raise ReviewError(f"An annotation has no field {', '.join(bad)}.")
        row = self._live(ann_id)
        before = {k: row[k] for k in store.ANNOTATION_FIELDS}
        wanted = dict(before, **changes)
        if "tier_id" in changes and "label" not in changes and wanted["tier_id"] != before["tier_id"]:
            tier = store.tier(self.ws, wanted["tier_id"])
            if tier is not None and wanted["label"] not in tier["vocabulary"]:
                wanted["label"] = ""
        after = _checked(self.ws, wanted)
        if after == before:
            return  # nothing changed: keep the history free of empty steps
        self._push(UpdateAnnotation(ann_id, before, after))

    def delete(self, ann_id: int) -> None:
        """Delete an annotation (undo brings it back with the same id)."""
        row = self._live(ann_id)
        self._push(DeleteAnnotation(ann_id, {k: row[k] for k in store.ANNOTATION_FIELDS}))

    def undo(self) -> bool:
        """Undo the last edit; False when there is nothing to undo."""
        if not self._undo:
            return False
        cmd = self._undo[-1]
        self._via, self._cmd_text = "undo", cmd.text
        change = cmd.undo(self)
        self._redo.append(self._undo.pop())
        self._after(change, cmd, "undo")
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False when there is nothing to redo."""
        if not self._redo:
            return False
        cmd = self._redo[-1]
        self._via, self._cmd_text = "redo", cmd.text
        change = cmd.do(self)
        self._undo.append(self._redo.pop())
        self._after(change, cmd, "redo")
        return True

    # -- state -----------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        """What undo would revert ("add annotation", "move annotation", ...), or "" (English, for ``tr``)."""
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        """What redo would apply again, or ""."""
        return self._redo[-1].text if self._redo else ""

    def annotations(self) -> list[dict[str, Any]]:
        """The case's annotations as stored now."""
        return store.annotations(self.ws, self.case_id)

    # -- internals -------------------------------------------------------------------------------
    def _live(self, ann_id: int) -> dict[str, Any]:
        row = store.annotation(self.ws, ann_id)
        if row is None or row["case_id"] != self.case_id:
            raise ReviewError("That annotation no longer exists in this case.")
        return row

    def detail(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
        """The audit detail of one edit (written with it, in the same transaction): how it was made
        (``via`` do/undo/redo, ``command``), the tier, the annotation's fields and, for an update, the
        fields it had before."""
        fields = after or before
        assert fields is not None
        tier = store.tier(self.ws, fields["tier_id"])
        out = {"via": self._via, "command": self._cmd_text, "tier": tier["name"] if tier else None,
               **{k: fields[k] for k in ("start_s", "end_s", "label", "note")}}
        if before is not None and after is not None:
            out["before"] = {k: v for k, v in before.items() if after[k] != v}
        return out

    def _push(self, cmd: Command) -> None:
        self._via, self._cmd_text = "do", cmd.text
        change = cmd.do(self)  # raises before the history changes if the write fails
        self._undo.append(cmd)
        self._redo.clear()
        self._after(change, cmd, "do")

    def _after(self, change: dict[str, Any], cmd: Command, via: str) -> None:
        op, ann_id = change["op"], change["id"]
        baseline_changed = self._touches_baseline(change)
        if baseline_changed:
            job = lambda: apply_baseline(self.ws, self.case_id, actor=self.actor)  # noqa: E731
            if self.baseline_runner is None:
                job()
            else:
                self.baseline_runner(job)
        event = {"op": op, "id": ann_id, "baseline_changed": baseline_changed, "via": via}
        for listener in list(self.listeners):
            listener(event)

    def _touches_baseline(self, change: dict[str, Any]) -> bool:
        before, after = change["before"], change["after"]
        if before is None or after is None:
            return _is_baseline(self.ws, (before or after)["tier_id"])
        if before["tier_id"] != after["tier_id"]:
            return _is_baseline(self.ws, before["tier_id"]) or _is_baseline(self.ws, after["tier_id"])
        moved = (before["start_s"], before["end_s"]) != (after["start_s"], after["end_s"])
        return moved and _is_baseline(self.ws, after["tier_id"])


# -- the reviewer's baseline ---------------------------------------------------------------------
def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for t0, t1 in sorted(spans):
        if t1 <= t0:
            continue  # a point marks no stretch of behaviour
        if out and t0 <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], t1))
        else:
            out.append((t0, t1))
    return out


def rescore_au_spans(ws: Workspace, run_id: int, face: int, spans: list[tuple[float, float]]) -> int:
    """Re-score a video run with the usable frames of ``face`` in several spans as its baseline.

    The multi-span form of :func:`app.services.analyze.rescore_with_baseline`: the same baseline
    estimate and the same :func:`~app.services.analyze.finalize`. Returns how many frames formed the
    baseline; 0 means there were none and nothing was changed.
    """
    from app.core.finalize import baseline_from_sample
    from app.services.analyze import finalize

    blobs = [b for t0, t1 in spans for b in runs.raw_between(ws, run_id, face, t0, t1)]
    base = baseline_from_sample(blobs, sum(t1 - t0 for t0, t1 in spans), marked=True)
    if base is None:
        return 0
    finalize(ws, run_id, {face: base})
    return len(blobs)


def apply_baseline(ws: Workspace, case_id: int, actor: str = "reviewer") -> dict[str, Any]:
    """Re-score the case against its Baseline-tier spans, or the automatic baseline when it has none.

    AU intensities and expressions of face 0 (the applicant) are re-computed from the stored raw
    features of the usable frames inside the spans; the voice arousal and risk scores use the
    applicant's utterances that overlap them. No media is decoded. Returns ``{"spans": [[t0, t1]],
    "au_frames": int, "utterances": int, "automatic": bool, "notes": [str]}``: ``au_frames`` and
    ``utterances`` count what formed the reviewer's baseline (0 where the automatic one applies).
    """
    from app.core.voice import scoring
    from app.services.analyze import finalize
    from app.services.voice import load_scoring_inputs, rescore

    _case(ws, case_id)
    tier = store.tier_by_name(ws, BASELINE_TIER)
    spans = _merge(store.spans(ws, case_id, tier["id"])) if tier else []
    out: dict[str, Any] = {"spans": [list(s) for s in spans], "au_frames": 0, "utterances": 0,
                           "automatic": not spans, "notes": []}
    video, voice = runs.case_run(ws, case_id, "video"), runs.case_run(ws, case_id, "voice")
    # A run still in progress is finalised by its own analysis; re-scoring it now would race the
    # writer. The GUI calls apply_baseline again when the analysis completes.
    for kind, run in (("face", video), ("voice", voice)):
        if run is not None and run["status"] != "completed":
            out["notes"].append(f"The {kind} analysis is not finished: its scores are re-computed when it is.")
    video = video if video is not None and video["status"] == "completed" else None
    voice = voice if voice is not None and voice["status"] == "completed" else None
    if video is not None:
        n = rescore_au_spans(ws, video["id"], 0, spans) if spans else 0
        if n == 0:
            if spans:
                out["notes"].append("No usable face frames in the Baseline spans: the face scores keep the "
                                    "automatic baseline.")
            finalize(ws, video["id"])
        out["au_frames"] = n
    if voice is not None:
        idx = store.applicant_utterances_in(ws, voice["id"], spans)
        if not idx:
            if spans:
                out["notes"].append("The applicant does not speak in the Baseline spans: the voice scores keep "
                                    "the automatic baseline.")
            # The stored baseline flags are the reviewer's old choice: name the default explicitly.
            utts, applicant, _, _ = load_scoring_inputs(ws, voice["id"])
            idx = [utts[k]["idx"] for k in scoring.default_baseline_indexes(utts, applicant)]
        else:
            out["utterances"] = len(idx)
        rescore(ws, voice["id"], baseline_idx=idx)
    ws.audit("baseline.apply", case_id, {"spans": out["spans"], "au_frames": out["au_frames"],
                                         "utterances": out["utterances"], "automatic": out["automatic"],
                                         "video_run": video["id"] if video else None,
                                         "voice_run": voice["id"] if voice else None}, actor=actor)
    store.barrier(ws)
    return out


# -- status, verdict, sign-off -------------------------------------------------------------------
def case_status(ws: Workspace, case_id: int) -> dict[str, Any]:
    """The case's status and its standing verdict.

    ``{"status", "verdict", "reason", "reviewer", "at", "signed_off_by", "signed_off_at",
    "awaiting_signoff"}``: reason, reviewer and time are those of the last status change; ``verdict``
    is set while that change is a verdict, and the sign-off fields once a supervisor has signed that
    verdict off (a later status change needs a new sign-off). ``awaiting_signoff`` is True while a
    "rejected (fraud)" verdict lacks its supervisor's sign-off: it does not stand yet.
    """
    row = _case(ws, case_id)
    out: dict[str, Any] = {"status": row["status"], "verdict": None, "reason": None, "reviewer": None,
                           "at": None, "signed_off_by": None, "signed_off_at": None, "awaiting_signoff": False}
    last_status = None
    for d in store.decisions(ws, case_id):
        if d["kind"] == "status":
            last_status = d
            out.update(signed_off_by=None, signed_off_at=None)
        elif d["kind"] == "signoff" and last_status is not None:
            out.update(signed_off_by=d["supervisor"], signed_off_at=d["at"])
    if last_status is not None:
        out.update(reason=last_status["reason"], reviewer=last_status["reviewer"], at=last_status["at"])
        if last_status["status"] in VERDICTS:
            out["verdict"] = last_status["status"]
    out["awaiting_signoff"] = out["verdict"] in NEEDS_SIGNOFF and not out["signed_off_by"]
    return out


def set_status(ws: Workspace, case_id: int, status: str, reviewer: str, reason: str = "") -> dict[str, Any]:
    """Change a case's status; a verdict (escalated, cleared, rejected) needs a written reason.

    Records the decision with the reviewer's name, sets ``cases.status`` and appends the audit entry,
    all in one transaction, and returns :func:`case_status`. A "rejected" (fraud) verdict then awaits a
    supervisor's sign-off (:func:`sign_off`). Refusals raise :class:`ReviewError` before anything is
    written.
    """
    case = _case(ws, case_id)
    if status not in STATUSES:
        raise ReviewError(f"'{status}' is not a case status; choose one of: "
                          f"{', '.join(_plain_status(s) for s in STATUSES)}.")
    reviewer, reason = (reviewer or "").strip(), (reason or "").strip()
    if not reviewer:
        raise ReviewError("The reviewer's name is needed to change a case's status.")
    if status in VERDICTS and not reason:
        raise ReviewError("A verdict needs a written reason.")
    row = {"status": status, "reason": reason, "reviewer": reviewer, "at": now(), "kind": "status"}
    who = users.resolve(ws, reviewer)
    detail = {"from": case["status"], "to": status, "reason": reason, "login": who["login"] if who else None,
              "awaiting_signoff": status in NEEDS_SIGNOFF}
    store.insert_decision(ws, case_id, row, case_status=status, entry=audit.Entry("case.status", case_id, detail,
                                                                                  reviewer))
    return case_status(ws, case_id)


def sign_off(ws: Workspace, case_id: int, supervisor: str, note: str = "") -> dict[str, Any]:
    """A supervisor signs off the standing verdict.

    ``supervisor`` (a login or display name) must be a registered supervisor or admin, and nobody
    signs off their own case: not the reviewer who gave the verdict (by name or by login). The rule
    lives here, so the CLI and the review window obey it alike.
    """
    current = case_status(ws, case_id)
    supervisor = (supervisor or "").strip()
    if current["verdict"] is None:
        raise ReviewError("There is no verdict to sign off yet: the case needs an escalated, cleared or "
                          "rejected status with a reason first.")
    if not supervisor:
        raise ReviewError("The supervisor's name is needed to sign off.")
    reviewer = (current["reviewer"] or "").strip()
    signer = users.resolve(ws, supervisor)
    author = users.resolve(ws, reviewer)
    own = supervisor.casefold() == reviewer.casefold() or (
        signer is not None and author is not None and signer["login"].casefold() == author["login"].casefold())
    if own:
        raise ReviewError("The supervisor who signs off must be someone other than the reviewer who gave the verdict.")
    if current["signed_off_by"]:
        raise ReviewError(f"This verdict is already signed off by {current['signed_off_by']}.")
    signer = users.require_role(ws, supervisor, users.SIGNERS, "signing off a verdict")
    name = signer["display_name"]
    row = {"status": current["verdict"], "reason": current["reason"], "reviewer": current["reviewer"], "at": now(),
           "kind": "signoff", "supervisor": name, "note": (note or "").strip()}
    detail = {"verdict": current["verdict"], "reviewer": current["reviewer"], "note": row["note"],
              "login": signer["login"], "role": signer["role"]}
    store.insert_decision(ws, case_id, row, entry=audit.Entry("case.signoff", case_id, detail, name))
    return case_status(ws, case_id)


def decisions(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """Status changes and sign-offs of a case, oldest first."""
    return store.decisions(ws, case_id)


def audit_log(ws: Workspace, case_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Audit records, newest first: ``{"id", "at", "actor", "action", "case_id", "detail": dict}``."""
    return store.audit_log(ws, case_id, limit)


# -- cases ---------------------------------------------------------------------------------------
def search_cases(ws: Workspace, text: str = "", status: str | None = None) -> list[dict[str, Any]]:
    """Cases whose name or applicant reference contains ``text`` (any case), optionally of one status.

    Rows are those of :meth:`Workspace.list_cases` plus ``applicant_ref`` and ``updated_at``.
    """
    if status and status not in STATUSES:
        raise ReviewError(f"'{status}' is not a case status; choose one of: "
                          f"{', '.join(_plain_status(s) for s in STATUSES)}.")
    return store.search_cases(ws, text or "", status or None)


def set_applicant_ref(ws: Workspace, case_id: int, ref: str, actor: str) -> None:
    """Set a case's applicant reference (blank clears it); audited."""
    case = _case(ws, case_id)
    value = (ref or "").strip() or None
    if value == case["applicant_ref"]:
        return
    store.set_applicant_ref(ws, case_id, value, actor=actor or "reviewer", before=case["applicant_ref"])
