# SPDX-License-Identifier: GPL-3.0-or-later
"""The Python sources pass the project's ruff rules and formatting (pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff():
    exe = Path(sys.executable).with_name("ruff")
    if exe.is_file():
        return str(exe)
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff not found: ./run.sh setup installs it from requirements.txt")
    return found


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(args):
    r = subprocess.run([_ruff(), *args, "."], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
