#!/usr/bin/env python
"""Rewrites tests/python/golden/outputs.json from the current build (see tests/python/golden_cases.py)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

from golden_cases import CASES, digests  # noqa: E402

out = {case: digests(case) for case in CASES}
path = ROOT / "tests" / "python" / "golden" / "outputs.json"
path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
print(f"wrote {path.relative_to(ROOT)}: {len(out)} cases")
