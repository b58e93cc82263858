"""The notebook notebooks/qw_vs_biw.ipynb runs top to bottom without errors, and is stored clean.

Needs nbclient, nbformat and ipykernel (the package's ``[test]`` extra). The kernel is ``python3``:
ipykernel's own kernelspec, which runs the interpreter of this environment (the one running pytest),
so a fresh ``pip install ".[test]"`` is enough.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "qw_vs_biw.ipynb"

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install '.[test]'): no python3 kernel")


def _read():
    assert NOTEBOOK.is_file(), f"missing {NOTEBOOK}"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    return nb


def test_notebook_is_clean_nbformat4():
    nb = _read()
    assert nb.nbformat == 4
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code cells"
    for i, c in enumerate(code):
        assert c.get("outputs", []) == [], f"code cell {i} is stored with outputs"
        assert c.get("execution_count") is None, f"code cell {i} is stored with an execution count"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def _kernel_manager_for_this_interpreter():
    """A kernel manager that starts ``python3`` with the interpreter running the tests.

    jupyter_client's ``python3`` kernelspec is ipykernel's native one, whose argv starts with
    ``python``; pinning argv[0] to sys.executable makes sure the kernel imports the package that
    pytest is testing even when another ``python`` comes first on PATH.
    """
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    spec = km.kernel_spec
    if spec.argv and os.path.basename(spec.argv[0]).startswith("python"):
        spec.argv = [sys.executable, *spec.argv[1:]]
    return km


def test_notebook_executes(monkeypatch):
    nb = _read()
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        km=_kernel_manager_for_this_interpreter(),
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:  # names the cell and shows the traceback
        pytest.fail(f"the notebook failed:\n{e}")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    text = "\n".join(
        o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    # the comparison really ran: the table of the six default arms is in the outputs
    for arm in ("100 mg QW", "80 mg QW", "60 mg QW", "80 mg BIW", "60 mg BIW", "40 mg BIW"):
        assert arm in text
    assert "G3+ % (95% CI)" in text
