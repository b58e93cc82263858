"""Documentation that cannot rot: parameter sources, type stubs."""

import ast
import re
import subprocess
import sys
import importlib.util
from pathlib import Path

import selinexor_pkpd as sp
import selinexor_pkpd._core as core

ROOT = Path(__file__).resolve().parents[2]


def test_parameter_document_is_current():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_param_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8") == gen.render(), \
        "docs/parameters.md is stale: run python tools/gen_param_docs.py"


def test_every_default_parameter_has_a_source():
    lib = sp.Library().to_dict()
    for name, d in lib["drugs"].items():
        for p, s in d["params"].items():
            assert s["source"].strip(), f"drugs.{name}.{p} has no source"
    for ns in ("platelets", "friberg"):
        for p, s in lib[ns].items():
            assert s["source"].strip(), f"{ns}.{p} has no source"
    for k, v in lib["efficacy"].items():
        if isinstance(v, dict) and k != "partners":
            assert v["source"].strip(), f"efficacy.{k} has no source"
    for d, k in lib["efficacy"]["partners"].items():
        for p, v in k.items():
            assert v["source"].strip(), f"efficacy.partners.{d}.{p} has no source"


def test_stub_lists_exactly_the_native_api():
    tree = ast.parse((ROOT / "python" / "selinexor_pkpd" / "_core.pyi").read_text())
    stub = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert stub == {n for n in dir(core) if not n.startswith("_")}
    for cls in ("Library", "Trial", "Escalation", "Dataset"):
        node = next(x for x in tree.body if isinstance(x, ast.ClassDef) and x.name == cls)
        methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} - {"__init__"}
        assert methods == {n for n in dir(getattr(core, cls)) if not n.startswith("_")}, cls


def test_package_is_typed():
    assert (ROOT / "python" / "selinexor_pkpd" / "py.typed").exists()


# The project is self-contained: nothing it ships points to design files outside the repository.
SELF_CONTAINED = ["src", "python", "docs", "data", "notebooks", "calibration", "benchmarks", "README.md"]
OUTSIDE = re.compile(r"shared/|MODEL\.md|REGIMENS\.md")


def test_no_reference_to_files_outside_the_repository():
    hits = []
    for entry in SELF_CONTAINED:
        root = ROOT / entry
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix in (".so", ".pyd", ".png", ".pdf", ".pyc") or "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for i, line in enumerate(text.splitlines(), 1):
                if OUTSIDE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:120]}")
    assert not hits, "references to files outside the repository:\n" + "\n".join(hits)


def test_regimen_document_lists_every_preset():
    text = (ROOT / "docs" / "regimens.md").read_text(encoding="utf-8")
    missing = [p for p in sp.presets() if f"`{p}`" not in text]
    assert not missing, f"docs/regimens.md does not describe {missing}"


def test_dose_response_document_is_current():
    # docs/dose_response.md is generated from the shipped model (calibration/dose_response.py)
    out = subprocess.run([sys.executable, str(ROOT / "calibration" / "dose_response.py"), "--threads", "2"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.rstrip("\n") == (ROOT / "docs" / "dose_response.md").read_text(encoding="utf-8").rstrip("\n"), \
        "docs/dose_response.md is stale: run python calibration/dose_response.py --write"
