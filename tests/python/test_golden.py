"""Golden outputs: fixed-seed subject tables and single-patient simulations, bit for bit.

A restructuring of the code must leave every stored column unchanged. New columns may be added
(only the stored ones are compared); an intended change of results rewrites the file with
``python tools/golden.py`` in a commit that says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_cases import CASES, digests

STORED = json.loads((Path(__file__).parent / "golden" / "outputs.json").read_text(encoding="utf-8"))


def test_every_case_is_stored():
    assert sorted(STORED) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    got = digests(case)
    want = STORED[case]
    changed = sorted(k for k in want if got.get(k) != want[k])
    assert not changed, f"{case}: columns changed or missing: {changed}"
