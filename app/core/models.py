"""The model manifest: every model Vigil uses, where its file is, its sha256, licence and card.

``models/manifest.json`` is the single source of truth. Files are checked against their sha256 the
first time they are loaded in a process; a mismatch is a :class:`~app.core.errors.ModelError`, never a
silent fallback. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.core.errors import ModelError
from app.core.media.probe import file_sha256
from app.paths import assembled_models_dir, models_dir


@dataclass(frozen=True)
class ModelEntry:
    """One row of ``models/manifest.json``."""

    name: str
    task: str
    file: str
    sha256: str
    licence: str
    commercial_use: bool
    source: str
    card: str
    version: str
    #: False for a model the packaged app (``make package``) leaves out, e.g. the optional Whisper
    #: tiny.en; a source installation has every model.
    bundled: bool = True

    @property
    def path(self) -> Path:
        """Absolute path of the model file.

        ``file`` is relative to ``models/``, or ``pkg:PACKAGE/REL/PATH`` for a file shipped inside an
        installed Python package (see :func:`package_file`).
        """
        if self.file.startswith("pkg:"):
            return package_file(self.file[len("pkg:"):])
        if self.file.startswith("assembled:"):  # joined from carrier packages (user cache, or the bundle)
            return assembled_models_dir() / self.file[len("assembled:"):]
        return models_dir() / self.file


def package_file(spec: str) -> Path:
    """``PACKAGE/REL/PATH`` -> that file inside the installed top-level package ``PACKAGE``.

    The package is located with :func:`importlib.util.find_spec`, which does not import it (importing
    e.g. ``silero_vad`` would pull in torch). When it is not installed the path returned does not
    exist, so :func:`verify` reports ``"missing"``.
    """
    package, _, rel = spec.partition("/")
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return Path(f"<package {package} not installed>") / rel
    return Path(next(iter(found.submodule_search_locations))) / rel


def load_manifest() -> dict[str, ModelEntry]:
    """Read the manifest into entries keyed by model name."""
    path = models_dir() / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"model manifest not found at {path}; the installation is incomplete") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"model manifest {path} is not valid JSON: {exc}") from exc
    fields = [k for k in ModelEntry.__dataclass_fields__ if k != "bundled"]
    return {m["name"]: ModelEntry(**{k: m[k] for k in fields}, bundled=bool(m.get("bundled", True)))
            for m in raw["models"]}


#: :func:`verify`'s status for a model the packaged app leaves out (``"bundled": false``).
NOT_INSTALLED = "not in this installation"


def not_in_this_installation(entry: ModelEntry) -> bool:
    """True if ``entry`` is a model the packaged app leaves out and this is the packaged app."""
    from app.paths import frozen

    return frozen() and not entry.bundled


def verify(entry: ModelEntry) -> str:
    """Return ``"ok"``, ``"missing"``, ``"sha256 mismatch"`` or :data:`NOT_INSTALLED` for a model file.

    An ``assembled:`` model is (re)built from its carrier packages first when needed. In the packaged
    app a model it leaves out (``"bundled": false``) is :data:`NOT_INSTALLED`.
    """
    if not_in_this_installation(entry):
        return NOT_INSTALLED
    if entry.file.startswith("assembled:"):
        from app.core.voice.whisper_models import assembled_model

        try:
            assembled_model(entry.name)
        except ModelError as exc:
            return str(exc)
        return "ok"
    return _verify_file(entry)


def _verify_file(entry: ModelEntry) -> str:
    """Return ``"ok"``, ``"missing"`` or ``"sha256 mismatch"`` for a model file."""
    if not entry.path.is_file():
        return "missing"
    return "ok" if file_sha256(entry.path) == entry.sha256 else "sha256 mismatch"


@lru_cache(maxsize=None)
def model_path(name: str) -> Path:
    """Path of a verified model file; raises :class:`ModelError` if missing or altered."""
    entries = load_manifest()
    if name not in entries:
        raise ModelError(f"model '{name}' is not in models/manifest.json")
    entry = entries[name]
    status = verify(entry)
    if status != "ok":
        raise ModelError(f"model '{name}' ({entry.path}): {status}; reinstall Vigil or run 'vigil models --verify'")
    return entry.path


def run_record(names: list[str]) -> list[dict[str, str]]:
    """What a run stores about the models it used: name, version, sha256, licence."""
    entries = load_manifest()
    return [
        {"name": n, "version": entries[n].version, "sha256": entries[n].sha256, "licence": entries[n].licence}
        for n in names
    ]
