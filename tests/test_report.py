"""The case report: a real analysed interview rendered to PDF (and HTML) in English and Chinese.

The PDF is read back with poppler (pdftotext, pdfimages), not with the code that wrote it.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REPORT_MODULES = ("report.py", "report_sections.py", "report_plots.py")


def _poppler() -> None:
    from tests.conftest import unavailable

    for tool in ("pdftotext", "pdfimages", "pdfinfo"):
        if shutil.which(tool) is None:
            unavailable(f"needs {tool} (Debian poppler-utils)")


def _text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def _images(pdf: Path) -> list[tuple[int, int]]:
    """(width, height) of every image drawn in the PDF (pdfimages -list)."""
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    return [(int(r[3]), int(r[4])) for r in rows if r[2] == "image"]


def _prepare(ws_path: Path, case_id: int) -> None:
    from app.services import review, users
    from app.store.workspace import Workspace

    with Workspace.open(ws_path) as ws:
        users.add_user(ws, users.os_user(), "Admin", "admin")  # sign-off needs a registered supervisor
        users.add_user(ws, "supervisor.wang", "supervisor.wang", "supervisor")
        tiers = {t["name"]: t["id"] for t in review.tiers(ws)}
        stack = review.AnnotationStack(ws, case_id, "officer.li")
        stack.add(tiers["Evasive"], 12.8, 15.5, label="vague answer", note="did not name the employer")
        stack.add(tiers["Note"], 2.0, note="interviewer camera froze briefly")
        review.set_status(ws, case_id, "escalated", "officer.li", "Looped stretch found; ask for a live second call.")
        review.sign_off(ws, case_id, "supervisor.wang", "agreed")


@pytest.mark.slow
@pytest.mark.fixture_download
def test_report_pdf_has_sections_plots_thumbnails_and_footer(review_case: tuple[Path, int, Path],
                                                            tmp_path: Path) -> None:
    from app.cli import main

    _poppler()
    ws_path, case_id, _ = review_case
    _prepare(ws_path, case_id)
    pdf, page_html = tmp_path / "report.pdf", tmp_path / "report.html"
    assert main(["report", str(case_id), "--workspace", str(ws_path), "--pdf", str(pdf), "--html", str(page_html)]) == 0

    text = _text(pdf)
    for section in ("Case data", "Media", "Capture integrity", "Summary", "Expression timeline",
                    "Action-unit heat map", "Forgery timeline", "Voice: arousal and deception risk",
                    "Top evidence moments", "Transcript excerpts", "Annotations", "Verdict and sign-off",
                    "Models used", "Validity limits"):
        assert section in text, section
    assert "Interview 001" in text and "Looped stretch found" in text and "supervisor.wang" in text
    assert "did not name the employer" in text  # the annotation's note
    assert "dashwood" in text.lower()  # the transcript excerpt
    assert "face_landmarker" in text and "Apache-2.0" in text and "whisper_base" in text
    assert "deception risk" in text  # a voice moment's title
    n = _pages(pdf)
    assert n >= 2
    for page in range(1, n + 1):  # the footer on every page
        assert "No score in this report decides on its own" in _text(pdf, page), page
        assert f"Page {page} of {n}" in _text(pdf, page)

    images = _images(pdf)
    plots = [wh for wh in images if wh[0] > 600]  # 7.2 in at 110 dpi = 792 px wide
    thumbs = [wh for wh in images if wh[0] == 360]
    assert len(plots) == 4, images
    assert 1 <= len(thumbs) <= 5, images

    html = page_html.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4 and "data:image/jpeg;base64," in html
    assert "<mark>" in html  # risk words highlighted ("not", "might" in the LibriVox answers)
    assert "No score in this report decides on its own" in html


@pytest.mark.slow
@pytest.mark.fixture_download
def test_report_in_chinese(review_case: tuple[Path, int, Path], tmp_path: Path) -> None:
    from app.cli import main
    from app.services.report_plots import cjk_font
    from tests.conftest import unavailable

    _poppler()
    if cjk_font() is None:
        unavailable("needs a Chinese font (Debian fonts-wqy-microhei)")
    ws_path, case_id, _ = review_case
    _prepare(ws_path, case_id)
    pdf = tmp_path / "report_zh.pdf"
    assert main(["report", str(case_id), "--workspace", str(ws_path), "--pdf", str(pdf), "--lang", "zh"]) == 0
    text = _text(pdf)
    assert "合规" not in text  # no compliance profile set: no compliance section
    for section in ("案件信息", "采集完整性", "摘要", "表情时间线", "动作单元热图", "伪造时间线",
                    "最值得关注的证据时刻", "转写摘录", "标注", "结论与复核签字", "使用的模型"):
        assert section in text, section
    assert "已上报" in text  # the verdict, translated
    n = _pages(pdf)
    for page in range(1, n + 1):
        assert "本报告中的任何分数都不能单独作出决定" in _text(pdf, page), page
    assert len([wh for wh in _images(pdf) if wh[0] > 600]) == 4


def test_report_strings_have_chinese() -> None:
    """Every literal the report translates (N_/tr in the report modules) has an entry in zh_CN.json."""
    table = json.loads((REPO / "resources" / "i18n" / "zh_CN.json").read_text(encoding="utf-8"))
    missing = []
    for name in REPORT_MODULES:
        tree = ast.parse((REPO / "app" / "services" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("N_", "tr")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                s = node.args[0].value
                if s not in table:
                    missing.append(s)
                elif set(re.findall(r"{\w*}", s)) != set(re.findall(r"{\w*}", table[s])):
                    missing.append(f"placeholders differ: {s}")
    assert not missing, missing


def test_report_without_output_or_case_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    ws = tmp_path / "empty.db"
    assert main(["report", "1", "--workspace", str(ws)]) == 2
    assert main(["report", "nope", "--workspace", str(ws), "--pdf", str(tmp_path / "x.pdf")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("vigil: error:") for line in err)
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.slow
@pytest.mark.fixture_download
def test_report_carries_the_compliance_profile_and_is_audited(review_case: tuple[Path, int, Path],
                                                              tmp_path: Path) -> None:
    """Under the EU profile the report adds the AI Act human-oversight note; each report written is an
    audited export with the file's sha256."""
    import hashlib

    from app.cli import main
    from app.services import compliance
    from app.store import audit
    from app.store.workspace import Workspace

    _poppler()
    ws_path, case_id, _ = review_case
    with Workspace.open(ws_path) as ws:
        compliance.set_setting(ws, "compliance.profile", "EU")
    pdf = tmp_path / "report_eu.pdf"
    assert main(["report", str(case_id), "--workspace", str(ws_path), "--pdf", str(pdf)]) == 0
    text = _text(pdf)
    assert "Compliance" in text and "Art. 14 (human oversight)" in text and "Emotion-recognition indicators" in text
    with Workspace.open(ws_path) as ws:
        exports = [e for e in audit.history(ws, case_id) if e["action"] == "export"]
        assert audit.verify(ws).ok
    entry = exports[-1]["detail"]
    assert entry["kind"] == "report_pdf" and entry["rows"] == _pages(pdf)
    assert entry["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert "FIN-2024-DEEPFAKEFRAUD" not in text

    # Under the US profile a suspected forgery (the looped interview) adds FinCEN's SAR key term.
    with Workspace.open(ws_path) as ws:
        compliance.set_setting(ws, "compliance.profile", "US")
    keyword = compliance.report_additions("US", 1.0)[0]["text"]  # what a suspected case must carry
    us_pdf = tmp_path / "report_us.pdf"
    assert main(["report", str(case_id), "--workspace", str(ws_path), "--pdf", str(us_pdf)]) == 0
    us_text = _text(us_pdf)
    suspected = re.search(r"Forgery probability, whole interview\s+(\d+)%", us_text)
    assert suspected and int(suspected.group(1)) >= 50  # the looped clip is flagged (capture integrity)
    assert keyword == "FIN-2024-DEEPFAKEFRAUD" and keyword in us_text and "FinCEN" in us_text
    assert "Art. 14" not in us_text



def test_card_limit_quotes_are_whole_sentences_with_names_intact() -> None:
    """The models table quotes each card's limits in whole sentences, and code names keep their underscores."""
    from app.paths import models_dir
    from app.services.report import LIMITS_CHARS, _card_limits

    cards = sorted(p.name for p in (models_dir() / "cards").glob("*.md"))
    assert len(cards) >= 8
    for card in cards:
        quote = _card_limits(f"cards/{card}")
        assert quote, card
        assert len(quote) <= LIMITS_CHARS + 2 and quote[-1] in ".…", (card, quote[-80:])
        assert quote[0] == quote[0].upper(), (card, quote[:40])
    whisper = (models_dir() / "cards" / "whisper_base.md").read_text(encoding="utf-8")
    assert "no_repeat_ngram_size" in whisper and "no_repeat_ngram_size" in _card_limits("cards/whisper_base.md")
