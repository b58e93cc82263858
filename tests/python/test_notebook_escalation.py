"""The notebook notebooks/escalation_002.ipynb (protocol 002: 3+3 vs BOIN) runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "escalation_002.ipynb"

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install '.[test]'): no python3 kernel")


def test_escalation_notebook_is_clean_and_executes(monkeypatch):
    from test_notebook import _kernel_manager_for_this_interpreter

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.get("outputs", []) == [] and c.get("execution_count") is None
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", km=_kernel_manager_for_this_interpreter(),
                                     allow_errors=False, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    text = "\n".join(o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    for s in ("trial002_sel20", "p_select", "boin", "3+3", "p_overdose"):
        assert s in text
