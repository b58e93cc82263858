"""The crate's layers: no module imports from a layer above its own (tools/check_layers.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "check_layers.py"


def run(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), str(src)], capture_output=True, text=True, timeout=60)


def test_src_imports_point_down_only():
    r = run(ROOT / "src")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 violation(s)" in r.stdout


def test_an_upward_import_and_a_cycle_are_caught(tmp_path):
    (tmp_path / "spec").mkdir()
    (tmp_path / "engine").mkdir()
    (tmp_path / "lib.rs").write_text("pub mod spec;\npub mod engine;\n")
    (tmp_path / "spec" / "mod.rs").write_text("pub mod a;\npub mod b;\n")
    (tmp_path / "spec" / "a.rs").write_text("use crate::engine::solver::run;\nuse super::b::B;\n")
    (tmp_path / "spec" / "b.rs").write_text("use super::a::A;\n#[cfg(test)]\nmod tests { use crate::engine::x; }\n")
    (tmp_path / "engine" / "mod.rs").write_text("pub mod solver;\n")
    (tmp_path / "engine" / "solver.rs").write_text("use crate::spec::a::A; // fine: points down\n")
    r = run(tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert any(line.startswith("spec::a -> engine::solver") for line in lines), r.stdout
    cycle = [line for line in lines if line.startswith("import cycle:")]
    assert len(cycle) == 1 and "spec::a" in cycle[0] and "spec::b" in cycle[0], r.stdout
    assert "2 violation(s)" in r.stdout, r.stdout  # the test module's import does not count
