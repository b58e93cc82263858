"""Regenerate docs/validation.md and docs/validation_forest.png from the shipped validation table
data/validation/validation_arms.csv (published selinexor arms not used in training).

Run from the repository root: ``python calibration/validate_report.py`` (fixed seed and number of
virtual patients, so the output is deterministic; ``--help`` lists the options). Nothing here is
fitted: the arms are compared with the model as it is.
"""

from __future__ import annotations

import sys

from selinexor_pkpd.validation import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["--write-docs"]))
