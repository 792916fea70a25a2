"""``vigil report``: the case report a supervisor reads, as PDF (and optionally HTML), in English or Chinese."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from app.cli._common import add_workspace_arg, open_workspace
from app.core.errors import VigilError


def cmd_report(args: argparse.Namespace) -> int:
    """Build the report once and write each requested file."""
    from app.services.report import write_report
    from app.ui.report_text import ReportText

    if not args.pdf and not args.html:
        raise VigilError("nothing to write: give --pdf PATH and/or --html PATH")
    t0 = time.perf_counter()
    with open_workspace(args) as ws:
        pages = write_report(ws, args.case, ReportText(args.lang), args.pdf, args.html)
    if args.pdf:
        print(f"{args.pdf}: {pages} pages", file=sys.stderr)
    if args.html:
        print(f"{args.html}: written", file=sys.stderr)
    print(f"report built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="write a case report (PDF, optionally HTML) for a supervisor")
    p.add_argument("case", metavar="CASE", help="case id, name, or 'latest'")
    p.add_argument("--pdf", metavar="PATH", help="write the report as PDF")
    p.add_argument("--html", metavar="PATH", help="also (or only) write it as one self-contained HTML file")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_report)
