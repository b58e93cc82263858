"""Figures (matplotlib): platelet bands per arm, paired differences, and the dose-intensity trade-off."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .grading import GRADE_THRESHOLDS

if TYPE_CHECKING:  # pragma: no cover
    from ._typing import FilePath
    from .compare import CompareResult


def _save(fig: Any, path: Any, formats: Any) -> None:
    """Save ``fig`` to ``path`` (if given) and to the same name in each other format of ``formats``."""
    if path is None:
        return
    p = Path(path)
    fig.savefig(p, dpi=100)
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        if p.suffix.lower().lstrip(".") != fmt:
            fig.savefig(p.with_suffix("." + fmt), dpi=100)


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
        ax.text(0.995, y, name, transform=ax.get_yaxis_transform(), va="bottom", ha="right", fontsize=10, color="0.25")


def plot_compare(res: "CompareResult", path: FilePath | None = None, formats: Sequence[str] = ()) -> np.ndarray:
    """The figure of a :class:`~selinexor_pkpd.compare.CompareResult` (see its ``plot``)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    s = res.summary
    arms = list(s.index)
    k = len(arms)
    ncols = min(3, k)
    nrows = -(-k // ncols)
    with plt.rc_context(_RC):
        fig = plt.figure(figsize=(4.6 * max(ncols, 3), 3.3 * nrows + 4.6))
        outer = fig.add_gridspec(2, 1, height_ratios=[3.3 * nrows, 4.3], hspace=0.3)
        top = outer[0].subgridspec(nrows, ncols, hspace=0.42, wspace=0.2)
        bottom = outer[1].subgridspec(1, 2, wspace=0.32, width_ratios=[1.0, 1.0])
        axes = []
        try:
            bands = res.bands()
        except ValueError:
            bands = None
        first = None
        for i, a in enumerate(arms):
            ax = fig.add_subplot(top[i // ncols, i % ncols], sharex=first, sharey=first)
            first = first or ax
            axes.append(ax)
            _platelet_panel(ax, a, None if bands is None else bands[bands["arm"] == a], int(s.loc[a, "n"]),
                            right_label=(i % ncols == ncols - 1 or i == k - 1))
            if bands is None:
                continue
            if i % ncols:
                ax.tick_params(labelleft=False)
            else:
                ax.set_ylabel("platelets (10$^9$/L)")
            if i // ncols == nrows - 1 or i + ncols >= k:
                ax.set_xlabel("day")
        if bands is not None:
            first.set_ylim(0, max(1.0, float(np.nanmax(bands["PLT_on_p95"].to_numpy(float)))) * 1.08)
            handles = [Line2D([], [], color="C0", lw=2.2, label="median of the patients on treatment"),
                       plt.Rectangle((0, 0), 1, 1, color="C0", alpha=0.22, label="their 5th-95th percentiles"),
                       Line2D([], [], color="0.3", lw=1.4, ls="-.", label="% still on treatment (right axis)"),
                       Line2D([], [], color="0.35", lw=1.0, ls="--", label="grade 3 (< 50)"),
                       Line2D([], [], color="0.35", lw=1.0, ls=":", label="grade 4 (< 25)")]
            fig.legend(handles=handles, loc="upper center", ncol=5, frameon=False, bbox_to_anchor=(0.5, 1 - 0.5 / fig.get_figheight()))
            fig.text(0.5, 1 - 0.78 / fig.get_figheight(),
                     f"On treatment includes dose holds and reductions; bands stop when fewer than {MIN_ON_TREATMENT} "
                     "patients (or 5%) remain on treatment.", ha="center", va="top", fontsize=10, color="0.25")
        axes.append(fig.add_subplot(bottom[0, 0]))
        _forest_panel(axes[-1], res)
        axes.append(fig.add_subplot(bottom[0, 1]))
        _dose_panel(axes[-1], res)
        inp = res.inputs
        pop = inp.get("population", {})
        rules = inp.get("dose_rules") or "none"
        fig.suptitle(f"Selinexor QW vs BIW: {pop.get('name', 'population')}, n = {pop.get('n', '?')} per arm, "
                     f"{inp.get('days', 0):g} days, dose rules: {rules if isinstance(rules, str) else 'custom'}, "
                     f"seed {inp.get('seed')}", fontsize=13, y=1 - 0.1 / fig.get_figheight())
        fig.subplots_adjust(left=0.07, right=0.93, top=1 - 1.35 / fig.get_figheight(), bottom=0.75 / fig.get_figheight())
        _save(fig, path, formats)
    return np.array(axes, dtype=object)


#: Text sizes of the comparison figure: readable at 100% zoom (>= 10 pt).
_RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10,
       "legend.fontsize": 10}

#: Bands are drawn only while at least this many patients (and 5% of the arm) are still on treatment.
MIN_ON_TREATMENT = 20


def _platelet_panel(ax: Any, arm: str, g: Any, n: int, right_label: bool = False) -> None:
    ax.set_title(arm)
    if g is None or len(g) == 0:
        ax.text(0.5, 0.5, "no platelet trajectories kept\n(summary-only run)", ha="center", va="center",
                transform=ax.transAxes, color="0.3")
        ax.set_axis_off()
        return
    day = g["DAY"].to_numpy(float)
    enough = g["n_on_treatment"].to_numpy() >= max(MIN_ON_TREATMENT, 0.05 * n)
    lo, mid, hi = (np.where(enough, g[c].to_numpy(float), np.nan) for c in ("PLT_on_p05", "PLT_on_p50", "PLT_on_p95"))
    ax.fill_between(day, lo, hi, color="C0", alpha=0.22, lw=0)
    ax.plot(day, mid, color="C0", lw=2.2)
    for grade, ls in ((3, "--"), (4, ":")):
        ax.axhline(GRADE_THRESHOLDS[grade - 1], color="0.35", ls=ls, lw=1.0)
    ax.grid(alpha=0.25)
    ax2 = ax.twinx()
    ax2.plot(day, 100 * g["on_treatment"].to_numpy(float), color="0.3", lw=1.4, ls="-.")
    ax2.set_ylim(0, 105)
    ax2.set_yticks([0, 50, 100])
    ax2.tick_params(axis="y", colors="0.3")
    if right_label:
        ax2.set_ylabel("% on treatment", color="0.3")


def _forest_panel(ax: Any, res: "CompareResult") -> None:
    ref = res.reference
    d = res.differences()
    others = [a for a in res.arms if a != ref]
    y = np.arange(len(others))[::-1].astype(float)
    for off, metric, marker, label in ((0.15, "g3plus_lab", "o", "grade 3+"), (-0.15, "g4_lab", "s", "grade 4")):
        m = d[d["metric"] == metric].set_index("arm").loc[others]
        x = 100 * m["difference"].to_numpy(float)
        err = 100 * np.vstack([m["difference"] - m["lo"], m["hi"] - m["difference"]]).astype(float)
        ax.errorbar(x, y + off, xerr=err, fmt=marker, ms=7, capsize=3, color="C0" if metric == "g3plus_lab" else "C3",
                    label=label)
    ax.axvline(0, color="0.2", lw=1.0)
    ax.set_yticks(y, others)
    ax.set_ylim(-0.7, len(others) + 0.4)
    ax.set_xlabel(f"paired difference vs {ref} (percentage points, 95% CI)")
    ax.set_title(f"Incidence at lab visits: arm minus {ref}")
    lim = max(1.0, float(np.nanmax(np.abs(100 * d[d["metric"].isin(["g3plus_lab", "g4_lab"])][["lo", "hi"]].to_numpy(float)))) * 1.1) \
        if len(d) else 1.0
    ax.set_xlim(-lim, lim)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, loc="upper center", ncol=2)


def _dose_panel(ax: Any, res: "CompareResult") -> None:
    s = res.summary
    sched = res.schedules()
    style = {"QW": ("o", "C0", "once weekly (QW)"), "BIW": ("s", "C3", "twice weekly (BIW)"),
             None: ("D", "0.4", "other schedule")}
    xmax = max(1.0, float(s["dose_intensity_mg_week_mean"].max())) * 1.25
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 100)
    fig = ax.figure
    pt_per_unit = ax.get_position().width * fig.get_figwidth() * 72 / xmax
    seen = set()
    placed: dict[Any, list[tuple[float, float]]] = {}
    for a in sorted(s.index, key=lambda a: float(s.loc[a, "dose_intensity_mg_week_mean"])):
        r = s.loc[a]
        marker, color, label = style[sched[a]]
        x, p = float(r["dose_intensity_mg_week_mean"]), 100 * float(r["g3plus_lab"])
        ax.errorbar(x, p, yerr=[[p - 100 * float(r["g3plus_lab_lo"])], [100 * float(r["g3plus_lab_hi"]) - p]],
                    fmt=marker, color=color, ms=8, capsize=3, label=None if label in seen else label)
        seen.add(label)
        # labels above BIW points and below QW points, stacked when they would overlap
        width = 6.2 * len(str(a)) / pt_per_unit
        row = 0
        while any(abs(x - x0) < 0.5 * (width + w0) for x0, w0 in placed.get((sched[a], row), [])):
            row += 1
        placed.setdefault((sched[a], row), []).append((x, width))
        dy = (12 + 14 * row) if sched[a] != "QW" else -(20 + 14 * row)
        ax.annotate(a, (x, p), xytext=(0, dy), textcoords="offset points", ha="center", fontsize=10, color=color)
    pair = res.matched_dose_pair()
    if pair is not None:
        q, b = pair
        xs = [float(s.loc[a, "dose_intensity_mg_week_mean"]) for a in pair]
        ax.axvspan(min(xs) - 3, max(xs) + 3, color="0.5", alpha=0.15, lw=0, label=f"matched delivered dose ({q} vs {b})")
    ax.set_xlabel("delivered selinexor dose intensity (mg/week, mean)")
    ax.set_ylabel("grade 3+ thrombocytopenia (%, 95% CI)")
    ax.set_title("Grade 3+ at lab visits vs delivered dose")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="upper left")


def plot_benefit_risk(res: "CompareResult", path: FilePath | None = None, formats: Sequence[str] = ()) -> np.ndarray:
    """The benefit-risk figure of a :class:`~selinexor_pkpd.compare.CompareResult` (see its
    ``plot_benefit_risk``): ORR against grade 3+ thrombocytopenia per arm, and PFS curves."""
    import matplotlib.pyplot as plt

    s = res.summary
    sched = res.schedules()
    style = {"QW": ("o", "C0"), "BIW": ("s", "C3"), None: ("D", "0.4")}
    with plt.rc_context(_RC):
        fig, (ax, km_ax) = plt.subplots(1, 2, figsize=(13, 5.2))
        for i, a in enumerate(s.index):
            r = s.loc[a]
            marker, _ = style[sched[a]]
            x, y = 100 * float(r["g3plus_lab"]), 100 * float(r["orr"])
            # (a Wilson bound of 0 or n events can round to a hair beyond the estimate: clipped)
            ax.errorbar(x, y, xerr=[[max(0.0, x - 100 * float(r["g3plus_lab_lo"]))],
                                    [max(0.0, 100 * float(r["g3plus_lab_hi"]) - x)]],
                        yerr=[[max(0.0, y - 100 * float(r["orr_lo"]))], [max(0.0, 100 * float(r["orr_hi"]) - y)]],
                        fmt=marker, color=f"C{i}", ms=8, capsize=3, label=f"{a} ({sched[a] or 'other'})")
        ax.set_xlabel("grade 3+ thrombocytopenia at lab visits (%, 95% CI)")
        ax.set_ylabel("overall response rate, PR or better (%, 95% CI)")
        ax.set_title("Benefit (ORR) against risk (grade 3+)")
        ax.set_xlim(0, min(100.0, 100 * float(s["g3plus_lab_hi"].max()) + 10))
        ax.set_ylim(0, min(100.0, 100 * float(s["orr_hi"].max()) + 10))
        ax.legend(frameon=False, fontsize=10, loc="upper left")
        ax.grid(alpha=0.3)
        for i, a in enumerate(s.index):
            km = res.kaplan_meier(a)
            km_ax.step(km["time"] / 30.4375, 100 * km["survival"], where="post", color=f"C{i}", lw=1.8,
                       label=f"{a} ({sched[a] or 'other'})")
        km_ax.set_xlabel("months")
        km_ax.set_ylabel("progression-free (%)")
        km_ax.set_ylim(0, 102)
        km_ax.set_title("Progression-free survival (Kaplan-Meier)")
        km_ax.axhline(50, color="0.5", lw=0.8, ls=":")
        km_ax.grid(alpha=0.3)
        km_ax.legend(frameon=False, fontsize=10)
        pop = res.inputs.get("population", {})
        fig.suptitle(f"Benefit-risk: {pop.get('name', 'population')}, n = {pop.get('n', '?')} per arm, "
                     f"{res.inputs.get('days', 0):g} days, seed {res.inputs.get('seed')}", fontsize=13)
        fig.tight_layout()
        _save(fig, path, formats)
    return np.array([ax, km_ax], dtype=object)


def plot_validation(table: Any, path: FilePath | None = None, formats: Sequence[str] = ()) -> Any:
    """Forest plot of a validation table (:func:`selinexor_pkpd.validate`): per arm and endpoint,
    the observed proportion with its exact 95% CI (black) and the simulated proportion with the
    95% prediction interval of a trial of the published size (blue; red when it misses)."""
    import matplotlib.pyplot as plt

    t = table.reset_index(drop=True)
    k = len(t)
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(9.0, 2.0 + 0.55 * k))
        y = np.arange(k)[::-1].astype(float)
        for i, r in t.iterrows():
            yi = y[i]
            color = "tab:blue" if r["covers"] else "tab:red"
            ax.plot([100 * r["predicted_lo"], 100 * r["predicted_hi"]], [yi - 0.15] * 2, color=color, lw=5,
                    alpha=0.45, solid_capstyle="butt")
            ax.plot(100 * r["simulated"], yi - 0.15, "D", color=color, ms=6)
            ax.errorbar(100 * r["observed"], yi + 0.15,
                        xerr=[[100 * (r["observed"] - r["observed_lo"])], [100 * (r["observed_hi"] - r["observed"])]],
                        fmt="o", color="black", ms=5, capsize=3, lw=1.2)
        ax.set_yticks(y)
        ax.set_yticklabels([f"{r['arm_id']}\n{r['endpoint']}, n={r['n']}" for _, r in t.iterrows()], fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.7, k - 0.3)
        ax.set_xlabel("patients with the event, %")
        ax.set_title("Published arms (not used in training) vs the model", fontsize=11)
        from matplotlib.lines import Line2D

        ax.legend(handles=[Line2D([], [], color="black", marker="o", label="observed, exact 95% CI"),
                           Line2D([], [], color="tab:blue", marker="D", lw=5, alpha=0.6,
                                  label="simulated, 95% PI of a trial of n (covers)"),
                           Line2D([], [], color="tab:red", marker="D", lw=5, alpha=0.6, label="... misses")],
                  loc="upper center", bbox_to_anchor=(0.5, -0.22 - 0.5 / (2.0 + 0.55 * k)), ncol=3, fontsize=8,
                  frameon=False)
        fig.tight_layout()
        _save(fig, path, formats)
    return ax


def plot_vpc(vpc: Any, arms: Sequence[str], path: FilePath | None = None, formats: Sequence[str] = ()) -> np.ndarray:
    """Visual predictive check: per arm, the median and 5-95% band of the simulated platelet
    counts at the lab visits over the patients on treatment (``CompareResult.vpc``)."""
    import matplotlib.pyplot as plt

    k = len(arms)
    ncols = min(3, k)
    nrows = -(-k // ncols)
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), sharex=True, sharey=True,
                                 squeeze=False)
        for i, a in enumerate(arms):
            ax = axes[i // ncols, i % ncols]
            d = vpc[vpc["arm"] == a]
            ax.fill_between(d["DAY"], d["PLT_p05"], d["PLT_p95"], color="tab:blue", alpha=0.25, lw=0,
                            label="5-95% of patients")
            ax.plot(d["DAY"], d["PLT_p50"], "o-", color="tab:blue", ms=3.5, lw=1.3, label="median")
            _thresholds(ax)
            ax.set_title(f"{a} (lab visits)", fontsize=11)
            if i % ncols == 0:
                ax.set_ylabel("platelets (10$^9$/L)")
            if i // ncols == nrows - 1:
                ax.set_xlabel("day")
            if i == 0:
                ax.legend(loc="upper right", fontsize=8, frameon=False)
        for j in range(k, nrows * ncols):
            axes[j // ncols, j % ncols].set_visible(False)
        fig.suptitle("Visual predictive check: simulated platelets at the lab visits, patients on treatment",
                     fontsize=11)
        fig.tight_layout()
        _save(fig, path, formats)
    return axes.ravel()[:k]
