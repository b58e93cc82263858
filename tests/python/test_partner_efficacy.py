"""Partner drugs' myeloma kill against their own registration trials (no selinexor): the shipped
library reproduces each fitted target on another cohort than the fit's
(calibration/efficacy_partner_targets.toml; docs/efficacy.md section 6)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "calibration"))

import efficacy_partners  # noqa: E402

CFG = efficacy_partners.load()
CHECK = CFG["check"]
FITTED = efficacy_partners.fitted_keys(CFG)
TARGETS = [t for t in CFG["targets"] if t["key"] in FITTED]

#: Fitted targets the one-parameter fit misses (docs/efficacy.md section 6): the heavily
#: pretreated population's PFS under pomalidomide is too long. Strict: a target that starts to agree must be moved out of this list.
KNOWN_MISSES = {
    "pd_mm002_pfs": "heavily pretreated PFS too long under pomalidomide (model limit, section 6)",
    "pd_stratus_pfs": "heavily pretreated PFS too long under pomalidomide (model limit, section 6)",
}


@pytest.fixture(scope="module")
def metrics():
    """Every arm with the shipped library, on the check seed (not the fit's)."""
    assert CHECK["seed"] != CFG["seed"]
    arms = {t["arm"] for t in TARGETS}
    return {a: efficacy_partners.arm_metrics(
        efficacy_partners.simulate_arm(CFG["arms"][a], n=int(CHECK["subjects"]), seed=int(CHECK["seed"])),
        interpolated=False) for a in arms}


def _case(t):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[t["key"]])] if t["key"] in KNOWN_MISSES else []
    return pytest.param(t, id=t["key"], marks=marks)


@pytest.mark.parametrize("target", [_case(t) for t in TARGETS])
def test_shipped_library_reproduces_the_partner_target(metrics, target):
    """ORR inside the exact 95% interval of the published k/n widened by the simulation's own
    binomial error; median PFS/TTP within 20% or one assessment interval (28 days)."""
    sim = metrics[target["arm"]][target["metric"]]
    n_sim = int(CHECK["subjects"])
    if target["metric"] == "orr":
        lo, hi = efficacy_partners.clopper_pearson(target["k"], target["n"])
        slack = 1.96 * math.sqrt(sim * (1 - sim) / n_sim)
        assert lo - slack <= sim <= hi + slack, (
            f"{target['key']}: simulated {sim:.3f}, observed {target['k']}/{target['n']} (95% CI {lo:.3f}-{hi:.3f})")
    else:
        tol = efficacy_partners.pfs_tolerance(target["value"], CHECK)
        assert math.isfinite(sim) and abs(sim - target["value"]) <= tol, (
            f"{target['key']}: simulated {sim:.2f} months, observed {target['value']} (tolerance {tol:.2f})")


def test_fitted_kills_are_in_the_library_inside_their_bounds_with_their_source():
    data = sp.Library().to_dict()["efficacy"]
    for f in CFG["fit"]:
        entry = data["partners"][f["drug"]]["kill"]
        lo, hi = f["bounds"]
        assert lo < entry["value"] < hi, f["drug"]
        # not within 5% (log scale) of a bound, as the fit requires
        assert math.log(entry["value"] / lo) > 0.05 and math.log(hi / entry["value"]) > 0.05
        assert "calibration/efficacy_partners.py" in entry["source"] and "profile-likelihood 95% CI" in entry["source"]


def test_partner_kill_of_the_library_changes_the_outcome():
    """The fitted value is the one the engine uses: no kill at all gives fewer responses."""
    arm = CFG["arms"]["kd_endeavor"]
    lib = sp.Library().override({"efficacy": {"partners": {"carfilzomib": {"kill": {"value": 0.0}}}}})
    base = efficacy_partners.arm_metrics(efficacy_partners.simulate_arm(arm, n=200, seed=3), interpolated=False)
    none = efficacy_partners.arm_metrics(efficacy_partners.simulate_arm(arm, n=200, seed=3, library=lib),
                                         interpolated=False)
    assert none["orr"] < base["orr"] - 0.2
