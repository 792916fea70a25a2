"""``vigil import-eaf``: ELAN annotations back onto a case as annotation tiers (the export is ``vigil export --eaf``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli._common import add_workspace_arg, open_workspace


def cmd_import_eaf(args: argparse.Namespace) -> int:
    """Add the EAF's annotations to the case; those already there are skipped."""
    from app.services.export_eaf import import_eaf, read_annotations

    read_annotations(args.eaf)  # a bad file fails here with one line, before the workspace is opened
    with open_workspace(args) as ws:
        r = import_eaf(ws, args.case, args.eaf)
    made = f"; new tiers: {', '.join(r.tiers_created)}" if r.tiers_created else ""
    print(f"{args.eaf}: {r.added} annotations added, {r.present} already on the case{made}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("import-eaf", help="bring ELAN (.eaf) annotations onto a case as annotation tiers")
    p.add_argument("eaf", metavar="EAF")
    p.add_argument("--case", required=True, metavar="CASE", help="case id, name, or 'latest'")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_import_eaf)
