"""The case report as PDF, laid out with reportlab (no browser engine).

Chinese text needs a CJK TrueType font: :func:`app.services.report_plots.cjk_font` finds one at run
time, and the English report uses it too when found, so Chinese words in a transcript show.
Without one a Chinese report is refused with a line that says what to install.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from app.core.errors import VigilError
from app.services.report import Block, Report
from app.services.report_plots import cjk_font

FONT_NAME = "VigilCJK"
HIGHLIGHT = "#ffd966"
MUTED = "#555555"


def _fonts(language: str) -> str:
    """Register the CJK font with reportlab (and matplotlib); returns the font name to use."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from app.services.report_plots import use_font

    path = cjk_font()
    if path is None:
        if language == "zh":
            raise VigilError("no Chinese font found for the report: install fonts-wqy-microhei (Debian/Ubuntu) "
                             "or point VIGIL_CJK_FONT at a .ttf/.ttc font with Chinese characters")
        return "Helvetica"
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        kw = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, **kw))
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FONT_NAME, bold, italic, FONT_NAME)  # one weight: bold and italic map to it
    use_font(path)
    return FONT_NAME


def _styles(font: str, language: str) -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    wrap = "CJK" if language == "zh" else None
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12.5, wordWrap=wrap)
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=22, spaceAfter=6),
        "h1": ParagraphStyle("h1", parent=base, fontSize=13.5, leading=18, spaceBefore=10, spaceAfter=5,
                             textColor="#1f3b57", keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3,
                             textColor="#1f3b57", keepWithNext=1),
        "p": ParagraphStyle("p", parent=base, spaceAfter=4),
        "muted": ParagraphStyle("muted", parent=base, textColor=MUTED, fontSize=8.5, leading=11.5, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10.5),
        "head": ParagraphStyle("head", parent=base, fontSize=8, leading=10.5, textColor="#ffffff"),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9.5, leading=13, spaceBefore=6, spaceAfter=2,
                                  textColor="#1f3b57"),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=10, bulletIndent=2, spaceAfter=2),
    }


def _runs(runs: list[tuple[str, bool]]) -> str:
    return "".join(f'<font backColor="{HIGHLIGHT}">{escape(t)}</font>' if hl else escape(t) for t, hl in runs)


def _flowables(b: Block, st: dict[str, Any], width: float) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.platypus import Image, KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

    if b.kind in ("h1", "h2", "muted"):
        para = Paragraph(escape(b.text), st[b.kind])
        para.keepWithNext = b.keep_next or b.kind != "muted"
        return [para]
    if b.kind == "p":
        lead = f'<font color="{MUTED}">{escape(b.title)}</font><br/>' if b.title else ""
        return [Paragraph(lead + _runs(b.runs), st["p"])]
    if b.kind == "bullets":
        items = [Paragraph(escape(b.title), st["p"])] if b.title else []
        return [KeepTogether(items + [Paragraph(escape(i), st["bullet"], bulletText="•") for i in b.items])]
    if b.kind == "pagebreak":
        return [PageBreak()]
    if b.kind == "image":
        img = Image(io.BytesIO(b.png))
        scale = width / img.imageWidth
        img.drawWidth, img.drawHeight = width, img.imageHeight * scale
        return [KeepTogether([Paragraph(escape(b.caption), st["caption"]), img])]
    if b.kind == "table":
        rows = []
        if b.head:
            rows.append([Paragraph(escape(h), st["head"]) for h in b.head])
        rows += [[Paragraph(escape(str(c)), st["cell"]) for c in r] for r in b.rows]
        t = Table(rows, colWidths=[w * width for w in b.widths], repeatRows=1 if b.head else 0)
        style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b0b8c0")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]
        if b.head:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3b57")))
        else:
            style.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f6")))
        t.setStyle(TableStyle(style))
        return [t, Spacer(1, 5)]
    if b.kind == "moment":
        thumb_w = 0.36 * width
        left: Any = Paragraph("–", st["muted"])
        if b.jpeg:
            left = Image(io.BytesIO(b.jpeg))
            s = thumb_w / left.imageWidth
            left.drawWidth, left.drawHeight = thumb_w, left.imageHeight * s
        right = [Paragraph(escape(b.title), st["caption"])]
        right += [Paragraph(escape(i), st["bullet"], bulletText="•") for i in b.items]
        t = Table([[left, right]], colWidths=[thumb_w + 6, width - thumb_w - 6])
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#b0b8c0")),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
        return [t, Spacer(1, 4)]
    raise ValueError(f"unknown report block {b.kind!r}")


def write_pdf(report: Report, out: str | Path) -> int:
    """Write the report as PDF; returns the number of pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    font = _fonts(report.language)
    st = _styles(font, report.language)
    pages: list[int] = []

    class _Numbered(Canvas):
        """Writes the footer (and "page x of y") on every page once the page count is known."""

        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            self._states: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            n = len(self._states)
            for state in self._states:
                self.__dict__.update(state)
                self._footer(n)
                super().showPage()
            pages.append(n)
            super().save()

        def _footer(self, n: int) -> None:
            w, _ = A4
            self.setFont(font, 7.5)
            self.setFillColor("#444444")
            self.setStrokeColor("#b0b8c0")
            self.line(18 * mm, 14 * mm, w - 18 * mm, 14 * mm)
            self.drawString(18 * mm, 10 * mm, report.footer)
            self.drawRightString(w - 18 * mm, 6 * mm, report.page_label.format(self._pageNumber, n))
            self.drawString(18 * mm, 6 * mm, report.title)

    try:
        doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                                bottomMargin=20 * mm, title=report.title, author="Vigil")
        story: list[Any] = [Paragraph(escape(report.title), st["title"])]
        for b in report.blocks:
            story += _flowables(b, st, doc.width)
        doc.build(story, canvasmaker=_Numbered)
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the PDF ({exc.strerror or exc})") from exc
    return pages[0] if pages else 0
