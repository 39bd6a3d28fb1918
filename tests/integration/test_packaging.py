"""The project as a wheel, installed non-editable into a fresh venv, imports without the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "assistant", "ui", "evals")
# Working files that are not the project: a copy without them builds what a fresh clone builds.
NOT_PROJECT = shutil.ignore_patterns(
    ".git", ".venv", ".mlsd", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".pytest_cache", ".ruff_cache", ".mypy_cache", "artifacts", ".models",
)  # fmt: skip


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_wheel_installs_and_imports_outside_the_repo(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=NOT_PROJECT)
    # The main venv has setuptools; building without isolation needs no index.
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    run(*pip_wheel, "--quiet", "-w", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("mlsd_assistant-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top = {name.split("/")[0] for name in names}
        (dist_info,) = [t for t in top if t.endswith(".dist-info")]
        assert top - {dist_info} == set(PACKAGES)
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert "[console_scripts]" in entry_points
    assert "mlsd = ui.cli:app" in entry_points
    assert not any(name.startswith(("tests/", "corpus/")) for name in names)

    venv = tmp_path / "v"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    # Dependencies come from the main venv, appended after the fresh venv's own site-packages.
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    fresh_site = Path(run(python, "-c", purelib, cwd=tmp_path).strip()).resolve()
    (fresh_site / "main-venv-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("MLSD_")}
    script = (
        "import pathlib, ingest, assistant, ui, evals\n"
        "import ingest.pipeline, ingest.store, assistant.settings, ui.cli\n"
        "for m in (ingest, assistant, ui, evals):\n"
        "    print(pathlib.Path(m.__file__).resolve().parent)\n"
    )
    found = run(python, "-c", script, cwd=elsewhere, env=env).split()
    assert [Path(p) for p in found] == [fresh_site / name for name in PACKAGES]
    assert not (elsewhere / ".mlsd").exists(), "importing touched the disk"
    assert list(elsewhere.iterdir()) == []

    help_text = run(venv / "bin" / "mlsd", "--help", cwd=elsewhere, env=env)
    assert "ingest" in help_text
    assert not (elsewhere / ".mlsd").exists()
