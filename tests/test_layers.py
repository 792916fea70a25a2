"""Architecture guards: the import layers hold, the headless path never loads Qt, only the store speaks SQL.

These are cheap (no video is analysed) and run on every test run.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app"

HEADLESS_MODULES = (
    "app.core",
    "app.core.pipeline",
    "app.store.workspace",
    "app.store.runs",
    "app.services.analyze",
    "app.cli",
)
QT_PREFIXES = ("PySide6", "shiboken6", "pyqtgraph")
SQL_MODULES = ("sqlite3", "sqlite_utils")


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user directories."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "vigil-data"))


# --------------------------------------------------------------------------- (a) import-linter


def test_import_linter_contracts_are_kept() -> None:
    """Every contract of pyproject.toml (layers, no Qt below the UI, only store speaks SQL, no
    forgery-evaluation import circle) holds."""
    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        pytest.fail(f"import-linter's CLI is not installed next to the interpreter ({exe}); install the dev extra")
    proc = subprocess.run(
        [str(exe), "--no-cache", "--no-logo"], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"lint-imports failed (exit {proc.returncode}):\n{out}"
    # The contracts must actually have been checked (an empty config also exits 0).
    n = (REPO / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert n >= 4 and f"{n} kept, 0 broken" in out, out


# --------------------------------------------------------------------------- (b) no Qt when headless

_PROBE = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_headless_modules_do_not_load_qt() -> None:
    """Importing the core, store, services and CLI in a fresh interpreter loads no Qt module at all."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEADLESS_MODULES)], cwd=REPO, capture_output=True, text=True,
        timeout=300, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    # The probe really imported what it was asked to (guards against an empty list passing vacuously).
    assert set(HEADLESS_MODULES) <= set(loaded)
    qt = [m for m in loaded if m.startswith(QT_PREFIXES)]
    assert qt == [], f"headless import pulled in Qt modules: {qt[:10]}"


# --------------------------------------------------------------------------- (c) only store speaks SQL


def _sql_imports(source: str, filename: str = "<src>") -> list[str]:
    """Every import of sqlite3 / sqlite_utils in a Python source (static imports and literal dynamic ones)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in SQL_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in SQL_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            fn = node.func
            fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            arg = node.args[0].value
            if fname in ("import_module", "__import__") and isinstance(arg, str) and arg.split(".")[0] in SQL_MODULES:
                found.append(arg)
    return found


def test_sql_import_detector_catches_every_form() -> None:
    """The scanner below is not vacuous: it flags each way of importing the SQL modules, and nothing else."""
    flagged = (
        "import sqlite3",
        "import os, sqlite3 as s",
        "from sqlite3 import connect",
        "import sqlite_utils",
        "from sqlite_utils.db import Database",
        "import importlib\nimportlib.import_module('sqlite3')",
        "__import__('sqlite_utils')",
        "def f():\n    import sqlite3\n",
    )
    for src in flagged:
        assert _sql_imports(src), src
    clean = ("import sqlite", "from app.store import runs", "x = 'import sqlite3'", "from . import sqlite3")
    for src in clean:
        assert not _sql_imports(src), src


def test_only_the_store_imports_sqlite() -> None:
    """No module under app/ outside app/store/ imports sqlite3 or sqlite_utils."""
    files = sorted(APP.rglob("*.py"))
    assert len(files) > 10, "app/ sources not found"
    store = APP / "store"
    offenders = {}
    store_uses_sql = False
    for f in files:
        hits = _sql_imports(f.read_text(encoding="utf-8"), str(f))
        if store in f.parents:
            store_uses_sql |= bool(hits)
        elif hits:
            offenders[str(f.relative_to(REPO))] = hits
    assert offenders == {}, f"SQL imported outside app/store: {offenders}"
    # Sanity: the scan does see the store's own SQL imports.
    assert store_uses_sql
