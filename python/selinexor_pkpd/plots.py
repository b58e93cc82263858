"""Figures (matplotlib): platelet bands, incidences, and the dose-intensity trade-off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .grading import GRADE_THRESHOLDS

if TYPE_CHECKING:  # pragma: no cover
    from ._typing import FilePath
    from .compare import CompareResult


def plot_platelets(df: Any, ax: Any = None, label: str | None = None) -> Any:
    """Platelets of one simulation (a :func:`simulate` DataFrame) with grade 3/4 thresholds."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(df["DAY"], df["PLT"], label=label)
    _thresholds(ax)
    ax.set_xlabel("day")
    ax.set_ylabel("platelets (10$^9$/L)")
    return ax


def _thresholds(ax: Any) -> None:
    for grade, ls in ((3, "--"), (4, ":")):
        y = GRADE_THRESHOLDS[grade - 1]
        name = f"grade {grade} below {y:g}"
        ax.axhline(y, color="0.35", ls=ls, lw=0.9)
        ax.text(0.995, y, name, transform=ax.get_yaxis_transform(), va="bottom", ha="right", fontsize=8, color="0.25")


def plot_compare(res: "CompareResult", path: FilePath | None = None) -> np.ndarray:
    """Three panels for a :class:`~selinexor_pkpd.compare.CompareResult` (see its ``plot``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2), gridspec_kw={"width_ratios": [1.5, 1, 1]})
    s = res.summary
    colors = {a: plt.cm.tab10(i % 10) for i, a in enumerate(s.index)}
    ax = axes[0]
    try:
        bands = res.bands()
    except ValueError:
        bands = None
    if bands is not None:
        for a, g in bands.groupby("arm", sort=False):
            ax.fill_between(g["DAY"], g["PLT_p05"], g["PLT_p95"], color=colors[a], alpha=0.05, lw=0)
            for q in ("PLT_p05", "PLT_p95"):
                ax.plot(g["DAY"], g[q], color=colors[a], lw=0.7, ls=(0, (2, 2)), alpha=0.8)
            ax.plot(g["DAY"], g["PLT_p50"], color=colors[a], lw=2.0, label=a)
        _thresholds(ax)
        ax.set_xlabel("day (treatment stops at discontinuation or by the dose rules; counts then recover)")
        ax.set_ylabel("platelets (10$^9$/L)")
        ax.set_title("Platelets: median (solid), 5th and 95th percentiles (dotted)")
        ax.legend(fontsize=8, frameon=False)
        ax.set_ylim(bottom=0)
    else:
        ax.text(0.5, 0.5, "no trajectories kept\n(summary-only run)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax = axes[1]
    x = np.arange(len(s))
    w = 0.38
    from matplotlib.patches import Patch

    for off, key, hatch in ((-w / 2, "g3_lab", ""), (w / 2, "g4_lab", "//")):
        lo = s[key] - s[f"{key}_lo"]
        hi = s[f"{key}_hi"] - s[key]
        ax.bar(x + off, 100 * s[key], w, yerr=100 * np.vstack([lo, hi]), capsize=3,
               color=[colors[a] for a in s.index], edgecolor="0.2", hatch=hatch)
    ax.set_xticks(x, s.index, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("incidence (%), worst lab-visit grade")
    ax.set_title("Thrombocytopenia grade 3 and 4 (95% CI)")
    ax.legend(handles=[Patch(facecolor="white", edgecolor="0.2", label="grade 3"),
                       Patch(facecolor="white", edgecolor="0.2", hatch="//", label="grade 4")],
              fontsize=8, frameon=False)
    ax = axes[2]
    for a, r in s.iterrows():
        ax.errorbar(r["dose_intensity_mg_week_mean"], 100 * r["g3plus_lab"],
                    yerr=[[100 * (r["g3plus_lab"] - r["g3plus_lab_lo"])], [100 * (r["g3plus_lab_hi"] - r["g3plus_lab"])]],
                    fmt="o", color=colors[a], capsize=3, ms=7)
        ax.annotate(a, (r["dose_intensity_mg_week_mean"], 100 * r["g3plus_lab"]), xytext=(5, 4),
                    textcoords="offset points", fontsize=8)
    ax.set_xlabel("delivered selinexor dose intensity (mg/week)")
    ax.set_ylabel("grade 3+ thrombocytopenia (%)")
    ax.set_title("Dose intensity vs toxicity")
    ax.grid(alpha=0.3)
    inp = res.inputs
    pop = inp.get("population", {})
    rules = inp.get("dose_rules") or "none"
    fig.suptitle(f"{pop.get('name', 'population')}, n = {pop.get('n', '?')} per arm, {inp.get('days', 0):g} days, "
                 f"dose rules: {rules if isinstance(rules, str) else 'custom'}, seed {inp.get('seed')}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return axes
