"""Trust commands: ``audit verify|show``, ``users``, ``signoff``, ``purge``, ``settings`` and ``compliance``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.cli._common import add_workspace_arg, open_workspace
from app.core.errors import VigilError
from app.paths import default_workspace


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every link of the audit chain holds, 1 naming the first broken one."""
    from app.store import audit

    path = Path(args.workspace or default_workspace()).expanduser()
    if not path.is_file():
        raise VigilError(f"{path}: no workspace there")
    with open_workspace(args) as ws:
        t0 = time.perf_counter()
        v = audit.verify(ws)
        dt = time.perf_counter() - t0
    if v.ok:
        print(f"audit chain intact: {v.entries} entries verified in {dt:.3f} s")
        return 0
    print(f"audit chain BROKEN at entry {v.broken_id}: {v.problem}")
    return 1


def cmd_audit_show(args: argparse.Namespace) -> int:
    """A case's audit history, oldest first."""
    from app.store import audit

    with open_workspace(args) as ws:
        case = ws.find_case(args.case)
        rows = audit.history(ws, case["id"])
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"case {case['id']} ({case['name']}): {len(rows)} audit entries")
    for r in rows:
        who = r["actor"] if r["actor"] == r.get("os_user") else f"{r['actor']} (os user {r.get('os_user')})"
        detail = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
        print(f"{r['id']:>6}  {r['at']}  {who:<28} {r['action']:<20} {detail[:160]}")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """List, add or change users, or show who you are."""
    from app.services import users

    with open_workspace(args) as ws:
        if args.users_cmd == "add":
            u = users.add_user(ws, args.login, args.name or "", args.role)
            print(f"{u['login']}: {u['display_name']}, {u['role']}")
            return 0
        if args.users_cmd == "whoami":
            u = users.current(ws)
            print(f"{u['login']}: {u['display_name']}, {u['role'] or 'not registered'}")
            return 0
        rows = users.users(ws)
    if not rows:
        print("no users registered (the first one: vigil users add YOUR_LOGIN --role admin)")
    for u in rows:
        print(f"{u['login']:<20} {u['display_name']:<28} {u['role']}")
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    """Sign off a case's standing verdict as yourself (your OS user's registered identity)."""
    from app.services import review, users

    with open_workspace(args) as ws:
        case = ws.find_case(args.case)
        me = users.current(ws)
        st = review.sign_off(ws, case["id"], me["login"], args.note or "")
    print(f"case {case['id']} ({case['name']}): {st['verdict']} by {st['reviewer']} signed off by "
          f"{st['signed_off_by']} at {st['signed_off_at']}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Remove media and per-frame biometric data of old cases; keep decisions and the audit trail."""
    from app.services.purge import purge

    with open_workspace(args) as ws:
        cases = purge(ws, args.older_than, dry_run=args.dry_run, delete_files=not args.keep_files)
    verb = "would purge" if args.dry_run else "purged"
    print(f"{verb} {len(cases)} case(s) created more than {args.older_than:g} days ago")
    for c in cases:
        rows = c.get("rows") or {}
        print(f"  case {c['id']} ({c['name']}, {c['created_at']}): "
              + (", ".join(f"{v} {k}" for k, v in rows.items() if v) or "media " + ", ".join(c["media_paths"])))
        for p in c.get("files_not_deleted", []):
            print(f"  note: not deleted: {p}", file=sys.stderr)
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """Show, set or import workspace settings (the compliance profile among them)."""
    from app.services import compliance

    with open_workspace(args) as ws:
        if args.settings_cmd == "set":
            v = compliance.set_setting(ws, args.key, args.value)
            print(f"{args.key} = {v if v is not None else '(unset)'}")
            return 0
        if args.settings_cmd == "import":
            try:
                text = Path(args.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise VigilError(f"{args.file}: cannot read the settings file ({getattr(exc, 'strerror', None) or exc})"
                                 ) from None
            for k, v in compliance.parse_settings(text).items():
                compliance.set_setting(ws, k, v)
                print(f"{k} = {v if v is not None else '(unset)'}")
            return 0
        values = compliance.settings(ws)
    for k in compliance.SETTING_KEYS:
        print(f"{k} = {values.get(k, '(unset)')}")
    return 0


def cmd_compliance(args: argparse.Namespace) -> int:
    """Record a case's interview purpose or a disclosure/consent record."""
    from app.services import compliance

    with open_workspace(args) as ws:
        case = ws.find_case(args.case)
        if args.compliance_cmd == "purpose":
            p = compliance.set_purpose(ws, case["id"], args.purpose)
            print(f"case {case['id']} ({case['name']}): purpose {p}")
        else:
            cid = compliance.record_consent(ws, case["id"], args.kind, args.text, args.given_by)
            print(f"case {case['id']} ({case['name']}): {args.kind} record {cid}")
    return 0


def _sub(parent: Any, name: str, help_: str) -> argparse.ArgumentParser:
    sp = parent.add_parser(name, help=help_)
    add_workspace_arg(sp)
    return sp


def register(sub: Any) -> None:
    """Add the trust commands."""
    a = sub.add_parser("audit", help="verify the hash-chained audit trail, or show a case's history")
    asub = a.add_subparsers(dest="audit_cmd", required=True, metavar="verify|show")
    _sub(asub, "verify", "check every link of the audit chain (exit 1 names the first broken one)"
         ).set_defaults(func=cmd_audit_verify)
    s = _sub(asub, "show", "list a case's audit history, oldest first")
    s.add_argument("case", metavar="CASE", help="case id, name, or 'latest'")
    s.add_argument("--json", action="store_true", help="print the entries as JSON")
    s.set_defaults(func=cmd_audit_show)

    u = sub.add_parser("users", help="reviewers and their roles (reviewer, supervisor, admin)")
    usub = u.add_subparsers(dest="users_cmd", required=True, metavar="list|add|whoami")
    _sub(usub, "list", "list registered users").set_defaults(func=cmd_users)
    _sub(usub, "whoami", "your identity (OS user) and role").set_defaults(func=cmd_users)
    ua = _sub(usub, "add", "register or change a user (admins only; the first user registers as admin)")
    ua.add_argument("login", metavar="LOGIN", help="the OS user name")
    ua.add_argument("--name", metavar="NAME", help="display name (default: the login)")
    ua.add_argument("--role", choices=("reviewer", "supervisor", "admin"), default="reviewer")
    ua.set_defaults(func=cmd_users)

    so = _sub(sub, "signoff", "sign off a case's verdict as supervisor (needed for 'rejected (fraud)')")
    so.add_argument("case", metavar="CASE", help="case id, name, or 'latest'")
    so.add_argument("--note", metavar="TEXT", help="a note with the sign-off")
    so.set_defaults(func=cmd_signoff)

    pu = _sub(sub, "purge", "remove media and per-frame biometric data of old cases (decisions and audit stay)")
    pu.add_argument("--older-than", type=float, required=True, metavar="DAYS", help="cases created more than DAYS ago")
    pu.add_argument("--dry-run", action="store_true", help="list what would be purged, change nothing")
    pu.add_argument("--keep-files", action="store_true", help="forget the media files but leave them on disk")
    pu.set_defaults(func=cmd_purge)

    st = sub.add_parser("settings", help="workspace settings: compliance.profile (EU, CN, US), retention.days, ...")
    ssub = st.add_subparsers(dest="settings_cmd", required=True, metavar="show|set|import")
    _sub(ssub, "show", "list the settings").set_defaults(func=cmd_settings)
    ss = _sub(ssub, "set", "change a setting (admins only once users are registered); empty value unsets")
    ss.add_argument("key", metavar="KEY")
    ss.add_argument("value", metavar="VALUE")
    ss.set_defaults(func=cmd_settings)
    si = _sub(ssub, "import", "set the settings of a JSON file ({\"compliance.profile\": \"EU\", ...})")
    si.add_argument("file", metavar="FILE")
    si.set_defaults(func=cmd_settings)

    co = sub.add_parser("compliance", help="a case's interview purpose and disclosure/consent records")
    csub = co.add_subparsers(dest="compliance_cmd", required=True, metavar="purpose|consent")
    cp = _sub(csub, "purpose", "record why the interview was held")
    cp.add_argument("case", metavar="CASE")
    cp.add_argument("purpose", metavar="PURPOSE", help="credit, kyc, fraud_investigation, employee, hiring or other")
    cp.set_defaults(func=cmd_compliance)
    cc = _sub(csub, "consent", "record a disclosure to, or consent of, the interviewee")
    cc.add_argument("case", metavar="CASE")
    cc.add_argument("--kind", choices=("disclosure", "biometric_consent"), required=True)
    cc.add_argument("--text", required=True, metavar="TEXT", help="what was disclosed or agreed")
    cc.add_argument("--given-by", required=True, metavar="NAME", help="who was informed or consented")
    cc.set_defaults(func=cmd_compliance)
