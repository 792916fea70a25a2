"""The case report as one self-contained HTML file (plots and thumbnails embedded as data URIs)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from app.core.errors import VigilError
from app.services.report import Block, Report

_CSS = """
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       max-width: 60em; margin: 2em auto; color: #222; font-size: 14px; line-height: 1.45; }
h1 { color: #1f3b57; font-size: 1.4em; margin-top: 1.6em; } h2 { color: #1f3b57; font-size: 1.15em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; font-size: 12.5px; }
td, th { border: 1px solid #b0b8c0; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #1f3b57; color: #fff; } .muted { color: #555; } mark { background: #ffd966; }
.moment { display: flex; gap: 1em; border-bottom: 1px solid #b0b8c0; padding: .6em 0; }
.moment img { width: 36%; height: auto; } figure { margin: 1em 0; } img.plot { width: 100%; }
footer { position: sticky; bottom: 0; background: #fff; border-top: 1px solid #b0b8c0; color: #444;
         font-size: 12px; padding: .3em 0; margin-top: 2em; }
"""


def _e(s: str) -> str:
    return html.escape(s)


def _block(b: Block) -> str:
    if b.kind in ("h1", "h2"):
        return f"<{b.kind}>{_e(b.text)}</{b.kind}>"
    if b.kind == "muted":
        return f'<p class="muted">{_e(b.text)}</p>'
    if b.kind == "p":
        body = "".join(f"<mark>{_e(t)}</mark>" if hl else _e(t) for t, hl in b.runs)
        lead = f'<span class="muted">{_e(b.title)}</span><br>' if b.title else ""
        return f"<p>{lead}{body}</p>"
    if b.kind == "bullets":
        title = f"<p><b>{_e(b.title)}</b></p>" if b.title else ""
        return title + "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in b.items) + "</ul>"
    if b.kind == "pagebreak":
        return ""
    if b.kind == "image":
        src = "data:image/png;base64," + base64.b64encode(b.png).decode("ascii")
        return f'<figure><figcaption><b>{_e(b.caption)}</b></figcaption><img class="plot" src="{src}" alt=""></figure>'
    if b.kind == "table":
        head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in b.head) + "</tr>" if b.head else ""
        rows = "".join("<tr>" + "".join((f"<th>{_e(str(c))}</th>" if not b.head and k == 0 else f"<td>{_e(str(c))}</td>")
                                        for k, c in enumerate(r)) + "</tr>" for r in b.rows)
        return f"<table>{head}{rows}</table>"
    if b.kind == "moment":
        img = (f'<img src="data:image/jpeg;base64,{base64.b64encode(b.jpeg).decode("ascii")}" alt="">' if b.jpeg
               else "")
        items = "".join(f"<li>{_e(i)}</li>" for i in b.items)
        return f'<div class="moment">{img}<div><b>{_e(b.title)}</b><ul>{items}</ul></div></div>'
    raise ValueError(f"unknown report block {b.kind!r}")


def render_html(report: Report) -> str:
    lang = "zh-CN" if report.language == "zh" else "en"
    body = "\n".join(_block(b) for b in report.blocks)
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{_e(report.title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{_e(report.title)}</h1>\n{body}\n"
            f"<footer>{_e(report.footer)}</footer></body></html>\n")


def write_html(report: Report, out: str | Path) -> int:
    """Write the report as HTML; returns its size in bytes."""
    text = render_html(report)
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the HTML ({exc.strerror or exc})") from exc
    return len(text.encode("utf-8"))
