"""Physiological constraints (docs/model.md), checked on the typical patient (library platelets.P0,
no dose rules), and their soft (quadratic) penalties."""

from __future__ import annotations

from typing import Any

import numpy as np

import selinexor_pkpd as sp

from .library import typical_params

OVERSHOOT_MAX = 1.2             # no overshoot above 1.2 x baseline within 12 weeks
NADIR_WINDOW = (16.0, 40.0)     # (penalty window inside the tested 15-42 days) typical patient, continuous 80 mg BIW and 100 mg QW, 12 weeks: nadir in weeks 3-6
OVERSHOOT_PEN = 1.15            # (soft penalty from 1.15 so that the shipped values stay below OVERSHOOT_MAX)
# ASSUMPTION (rebound rule): after withdrawal the typical patient's platelets may rebound (rebound
# thrombocytosis after myelosuppression is a known clinical phenomenon) but stay within the normal range,
# i.e. at most 450 x 10^9/L for platelets.P0 = 170 (2.65 x baseline; docs/model.md rules out overshoots
# above 500), and come back towards baseline by day 112. The tests (tests/platelet_model.rs,
# tests/python/test_calibration.py) ask max <= 450 and day 112 within [0.9, 1.5] x baseline; the penalties
# start inside those limits so that the shipped values keep a margin.
NORMAL_MAX = 450.0              # upper limit of the normal platelet range, 10^9/L
TYPICAL_P0 = 170.0              # platelets.P0 of the typical patient (library value, not fitted)
REBOUND_SOFT = 2.5              # soft penalty: typical patient on SVd or Vd above this x baseline (40 weeks; 425 for P0 170)
WITHDRAW_MAX = 2.5              # 4 weeks of 80 mg BIW then 12 weeks off: soft penalty above 2.5 x baseline (425; tests: 450 = 2.65 x),
WITHDRAW_LAST = (0.92, 1.4)     # ... and within 0.92-1.4 x baseline on day 112 (tests ask 0.9-1.5)
WITHDRAW_NADIR_DAYS = (29.0, 49.0)  # ... with its nadir after the last dose (tests ask days 29-55 and 21-49)
AMPLIFY_SOFT = 0.1              # soft penalty: late trough (days 150-280) deeper than the earlier one (days 0-150) by more than this
# XPO1 occupancy (PMC5746399, mouse tumours with human-equivalent flat doses stated by the authors):
# "full occupancy occurred by 6 hours at all doses", and "10-15 mg/kg in mice (~50-75 mg human flat
# dose) was necessary to maintain XPO1 occupancy up to 48 hours". ASSUMPTION (reading): "full" is
# X >= 0.9; "all doses" includes 20 mg, the lowest flat dose in clinical use; "maintained" at 48 h
# means still full (X >= 0.9) at 50 mg, and "necessary" means not full at half that dose (25 mg).
# Single doses in the typical patient. The checks are constraints the tests hold the shipped values to:
# hinge penalties that start OCCUPANCY_MARGIN inside the threshold and cost as much as a target one SE
# off for every OCCUPANCY_SCALE beyond, so that the fit does not trade them for targets.
OCCUPANCY_FULL = 0.9
OCCUPANCY_MARGIN = 0.003
OCCUPANCY_SCALE = 0.002
OCCUPANCY_CHECKS = (  # (mg, hours after the dose, "min": X >= FULL or "max": X < FULL)
    (20.0, 6.0, "min"),
    (50.0, 48.0, "min"),
    (25.0, 48.0, "max"),
)


def typical_checks(x: dict[str, float] | None, library: Any = None) -> dict[str, float]:
    """The typical patient on continuous 80 mg BIW and 100 mg QW (12 weeks), on 80 mg BIW for 4 weeks
    then 12 weeks off, and on BOSTON Vd and SVd (40 weeks), no dose rules.

    Parameters
    ----------
    x : dict or None
        Candidate whose typical values are passed as ``params=``; None: the library's values.
    library : Library, optional
        Library to simulate with (default: the shipped one).

    Returns
    -------
    dict
        Nadir days and relative counts (x baseline) of each scenario.
    """
    params = typical_params(x) if x is not None else None
    df = sp.simulate("xd_80_biw", days=84, dt_h=2.0, params=params, library=library)
    p = df["PLT"].to_numpy()
    p0 = p[0]
    i = int(np.argmin(p))
    out = {"biw_t_nadir_days": float(df["DAY"].iloc[i]), "biw_nadir_rel": float(p[i] / p0),
           "biw_max_rel": float(p.max() / p0), "biw_max_after_nadir_rel": float(p[i:].max() / p0),
           "biw_day84_rel": float(p[-1] / p0)}
    dq = sp.simulate("xd_100_qw", days=84, dt_h=2.0, params=params, library=library)
    q = dq["PLT"].to_numpy() / dq["PLT"].iloc[0]
    j = int(np.argmin(q))
    out.update({"qw_t_nadir_days": float(dq["DAY"].iloc[j]), "qw_nadir_rel": float(q[j]), "qw_max_rel": float(q.max()),
                "qw_day84_rel": float(q[-1])})
    four = sp.Regimen.weekly("selinexor", 80.0, weekdays=(1, 3), cycle_days=28, cycles=1)
    dw = sp.simulate(four, days=112, dt_h=2.0, params=params, library=library)
    w = dw["PLT"].to_numpy() / dw["PLT"].iloc[0]
    out.update({"withdraw_nadir_rel": float(w.min()), "withdraw_t_nadir_days": float(dw["DAY"].iloc[int(np.argmin(w))]),
                "withdraw_max_rel": float(w.max()), "withdraw_t_max_days": float(dw["DAY"].iloc[int(np.argmax(w))]),
                "withdraw_day112_rel": float(w[-1])})
    for mg, h, _ in OCCUPANCY_CHECKS:
        one = sp.Regimen.weekly("selinexor", mg, weekdays=(1,), cycle_days=28, cycles=1)
        dx = sp.simulate(one, days=h / 24.0, times=[h], params=params, library=library)
        out[f"x_{mg:.0f}mg_{h:.0f}h"] = float(dx["X"].iloc[-1])
    for reg in ("vd_boston", "svd_100_qw"):
        dv = sp.simulate(reg, days=280, dt_h=2.0, params=params, library=library)
        q = dv["PLT"].to_numpy() / dv["PLT"].iloc[0]
        d = dv["DAY"].to_numpy()
        tag = reg.split("_")[0]
        out.update({f"{tag}_c1_nadir_rel": float(q[d <= 21].min()), f"{tag}_max_rel": float(q.max()),
                    f"{tag}_early_min_rel": float(q[d < 150].min()), f"{tag}_late_min_rel": float(q[d >= 150].min()),
                    f"{tag}_min_rel": float(q.min())})
    return out


def typical_penalty(chk: dict[str, float]) -> float:
    """Penalty of the selinexor checks: continuous dosing (nadir window, overshoot) and withdrawal
    (bounded rebound, recovery by day 112, nadir after the last dose)."""
    pen = 0.0
    for tag in ("biw", "qw"):
        pen += (max(0.0, chk[f"{tag}_t_nadir_days"] - NADIR_WINDOW[1]) / 0.5) ** 2
        pen += (max(0.0, NADIR_WINDOW[0] - chk[f"{tag}_t_nadir_days"]) / 0.5) ** 2
        pen += (max(0.0, chk[f"{tag}_max_rel"] - OVERSHOOT_PEN) / 0.02) ** 2
    pen += (max(0.0, chk["withdraw_max_rel"] - WITHDRAW_MAX) / 0.02) ** 2
    pen += (max(0.0, WITHDRAW_LAST[0] - chk["withdraw_day112_rel"]) / 0.01) ** 2
    pen += (max(0.0, chk["withdraw_day112_rel"] - WITHDRAW_LAST[1]) / 0.01) ** 2
    pen += (max(0.0, WITHDRAW_NADIR_DAYS[0] - chk["withdraw_t_nadir_days"]) / 1.0) ** 2
    pen += (max(0.0, chk["withdraw_t_nadir_days"] - WITHDRAW_NADIR_DAYS[1]) / 1.0) ** 2
    pen += occupancy_penalty(chk)
    return pen


def occupancy_penalty(chk: dict[str, float]) -> float:
    """Hinge penalty of the XPO1 occupancy checks (``OCCUPANCY_CHECKS``)."""
    pen = 0.0
    for mg, h, kind in OCCUPANCY_CHECKS:
        x = chk[f"x_{mg:.0f}mg_{h:.0f}h"]
        miss = OCCUPANCY_FULL + OCCUPANCY_MARGIN - x if kind == "min" else x - (OCCUPANCY_FULL - OCCUPANCY_MARGIN)
        pen += (max(0.0, miss) / OCCUPANCY_SCALE) ** 2
    return pen


def stability_penalty(chk: dict[str, float]) -> float:
    """Penalty of the BOSTON checks: rebound above ``REBOUND_SOFT`` and a growing oscillation."""
    pen = 0.0
    for tag in ("vd", "svd"):
        pen += (max(0.0, chk[f"{tag}_max_rel"] - REBOUND_SOFT) / 0.25) ** 2
        pen += (max(0.0, chk[f"{tag}_early_min_rel"] - chk[f"{tag}_late_min_rel"] - AMPLIFY_SOFT) / 0.05) ** 2
    return pen
