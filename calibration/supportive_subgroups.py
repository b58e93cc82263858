"""The rescued patients of the supportive-care scenario (docs/supportive_care.md, "Measured").

For ``rrmm_heavily_pretreated``, n = 1000, 168 days, seed 20261121: the arms of
``sp.compare_supportive`` (same presets, rule sets and seed, so the same patients), and for each
TPO-RA rescue arm (during holds with the Nplate titration; as the consensus recommends), among
the patients rescued (``t_rescue_start_days`` not NaN) and the same patients in the plain
80 mg BIW arm: mean delivered mg/week, days in grade 4 and grade >= 3, transfusions and nadir;
the median rescue start day; romiplostim doses per patient and highest dose (ug/kg, from
``sp.to_nonmem``); the peak daily count from the rescue's start on (median, IQR, 90th
percentile, share above 400, as a multiple of the patient's baseline, its day, and the lowest
count after it); the median self-renewal share of the rescued; and the per-patient differences
against the plain arm, over all patients and among the rescued.

The daily counts come from ``sp.simulate_population(..., observe=True)`` of each BIW arm (days
0-168, the compare's own output times); the script checks that these runs give the compare's
subject table exactly, and that the per-arm means are the compare table's; with
``--check-unobserved`` it also compares them with runs without observation times (the output
times cut the solver's steps, so these differ in the last digits).

    python calibration/supportive_subgroups.py [--threads 2] [--check-unobserved]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import selinexor_pkpd as sp
from selinexor_pkpd.supportive import SUPPORTIVE_ARMS, SUPPORTIVE_RULES

POPULATION = "rrmm_heavily_pretreated"
N = 1000
DAYS = 168.0
SEED = 20261121
PLAIN = "80 mg BIW"
RESCUES = ("80 mg BIW + TPO-RA rescue", "80 mg BIW + TPO-RA (consensus)")  # during holds; consensus
METRICS = {"dose_intensity_mg_week": "delivered mg/week", "days_g4": "days in grade 4",
           "days_g3plus": "days in grade >= 3", "n_transfusions": "transfusions", "nadir": "nadir"}


def same_subjects(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two subject tables agree exactly in every shared numeric column (NaN = NaN).

    Parameters
    ----------
    a, b : pandas.DataFrame
        Subject tables in the same subject order.

    Returns
    -------
    bool
    """
    cols = [c for c in a.columns if c in b.columns and pd.api.types.is_numeric_dtype(a[c])]
    return len(a) == len(b) and all(
        np.array_equal(a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float), equal_nan=True) for c in cols)


def peaks(run: sp.PopulationResult, rows: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, ...]:
    """Highest daily count of each chosen subject from its rescue's start day on.

    Parameters
    ----------
    run : PopulationResult
        A run with daily trajectories.
    rows : numpy.ndarray
        Subject row indices.
    start : numpy.ndarray
        Rescue start day of each chosen subject.

    Returns
    -------
    peak, day, trough : numpy.ndarray
        Peak count (10^9/L), its day, and the lowest count from that day to the end of the run.
    """
    t = run.times_days
    traj = run.trajectories[rows]
    i = np.where(t[None, :] >= start[:, None], traj, -np.inf).argmax(axis=1)
    trough = np.where(np.arange(len(t))[None, :] >= i[:, None], traj, np.inf).min(axis=1)
    return traj[np.arange(len(rows)), i], t[i], trough


def romiplostim_doses(run: sp.PopulationResult, rows: np.ndarray) -> pd.DataFrame:
    """Romiplostim doses given to the chosen subjects (re-run through ``sp.to_nonmem``).

    Parameters
    ----------
    run : PopulationResult
    rows : numpy.ndarray
        Subject row indices.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``doses`` and ``max_ug_kg``.
    """
    nm = sp.to_nonmem(run, ids=rows)
    d = nm[(nm["EVID"] == 1) & (nm["DRUG"] == "romiplostim")]
    ug_kg = 1000.0 * d["AMT"] / d["WT"]
    out = pd.DataFrame({"doses": d.groupby("ID").size(), "max_ug_kg": ug_kg.groupby(d["ID"]).max()})
    return out.reindex(nm["ID"].unique(), fill_value=0)


def describe(x: np.ndarray) -> str:
    """Median (IQR, 90th percentile; share above 400) of peak counts."""
    q = np.percentile(x, [50, 25, 75, 90])
    return (f"median {q[0]:,.0f} (IQR {q[1]:,.0f}-{q[2]:,.0f}, 90th percentile {q[3]:,.0f}; "
            f"{100 * np.mean(x > 400):.0f}% above 400)")


def main() -> None:
    """Run the arms, check them against the compare, print the subgroup numbers."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check-unobserved", action="store_true",
                    help="also run the three arms without observation times and compare (about 6 s more)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    pop = sp.population(POPULATION, n=N)
    cmp = sp.compare_supportive(pop, days=DAYS, seed=SEED, threads=args.threads, progress=False)
    table = sp.supportive_table(cmp)
    print(f"{POPULATION}, n = {N}, {DAYS:g} days, seed {SEED}: compare_supportive means per patient")
    print(table.round(3).to_string(), "\n")

    runs = {}
    for arm in (PLAIN, *RESCUES):
        run = sp.simulate_population(SUPPORTIVE_ARMS[arm], pop, days=DAYS, seed=SEED, threads=args.threads,
                                     dose_rules=SUPPORTIVE_RULES[arm], observe=True)
        ref = cmp.subjects[cmp.subjects["arm"] == arm].drop(columns="arm").reset_index(drop=True)
        if not same_subjects(run.subjects, ref):
            raise SystemExit(f"{arm}: the observed run differs from the compare's subjects")
        s = run.subjects
        means = [s["dose_intensity_mg_week"].mean(), s["days_g4"].mean(), s["days_g3plus"].mean(),
                 s["n_transfusions"].mean()]
        if not np.allclose(means, table.loc[arm, ["mg_week", "days_g4", "days_g3plus", "transfusions"]], rtol=1e-12):
            raise SystemExit(f"{arm}: the means differ from the compare table")
        runs[arm] = run
    plain = runs[PLAIN].subjects
    print("check: each observed run (daily counts, days 0-168) gives the compare's subject table exactly")
    if args.check_unobserved:
        for arm, run in runs.items():
            u = sp.simulate_population(SUPPORTIVE_ARMS[arm], pop, days=DAYS, seed=SEED, threads=args.threads,
                                       dose_rules=SUPPORTIVE_RULES[arm]).subjects
            same = np.array_equal(u["t_rescue_start_days"].notna(), run.subjects["t_rescue_start_days"].notna())
            print(f"check, {arm} without observation times: nadir max |difference| "
                  f"{np.max(np.abs(u['nadir'] - run.subjects['nadir'])):.2g}, same patients rescued: {same}")
    print()

    for arm in RESCUES:
        run = runs[arm]
        s = run.subjects
        if not np.array_equal(s["ID"].to_numpy(), plain["ID"].to_numpy()):
            raise SystemExit(f"{arm}: the subjects are not in the plain arm's order")
        rows = np.flatnonzero(s["t_rescue_start_days"].notna().to_numpy())
        start = s["t_rescue_start_days"].to_numpy()[rows]
        print(f"== {arm}: {len(rows)} patients rescued ({100 * len(rows) / len(s):.1f}%)")
        print("among the rescued, this arm (the same patients in 80 mg BIW):")
        for col, label in METRICS.items():
            a, b = s[col].to_numpy()[rows].mean(), plain[col].to_numpy()[rows].mean()
            print(f"  {label:20s} {a:7.2f} ({b:.2f})")
        print(f"rescue start day: median {np.median(start):g} (range {start.min():g}-{start.max():g})")
        doses = romiplostim_doses(run, rows)
        print(f"romiplostim doses per patient: median {doses['doses'].median():g}, max {doses['doses'].max():g}; "
              f"highest dose per patient: median {doses['max_ug_kg'].median():.3g} ug/kg, "
              f"max {doses['max_ug_kg'].max():.3g} ug/kg")
        (pk_r, day_r, low_r), (pk_p, day_p, low_p) = peaks(run, rows, start), peaks(runs[PLAIN], rows, start)
        p0 = s["P0"].to_numpy()[rows]
        print(f"peak count from the rescue's start on: {describe(pk_r)}")
        print(f"  the same patients without it:        {describe(pk_p)}")
        print(f"  peak / own baseline, median: {np.median(pk_r / p0):.2f} with the rescue, "
              f"{np.median(pk_p / p0):.2f} without; ratio of median peaks {np.median(pk_r) / np.median(pk_p):.2f}")
        after_r = np.mean(day_r > s["days_on_treatment"].to_numpy()[rows])
        after_p = np.mean(day_p > plain["days_on_treatment"].to_numpy()[rows])
        print(f"  peak day: median {np.median(day_r):g} ({100 * after_r:.0f}% after the end of treatment), "
              f"without it {np.median(day_p):g} ({100 * after_p:.0f}%)")
        print(f"  lowest count after the peak: median {np.median(low_r):.0f} ({100 * np.mean(low_r < 25):.0f}% "
              f"below 25), without it {np.median(low_p):.0f} ({100 * np.mean(low_p < 25):.0f}%)")
        renewal = s["platelets.renewal"].to_numpy()
        print(f"  self-renewal share (platelets.renewal), median: {np.median(renewal[rows]):.3f} among the "
              f"rescued, {np.median(renewal):.3f} over all patients")
        print("per patient, this arm minus 80 mg BIW (all patients; among the rescued):")
        for col, label in METRICS.items():
            if col == "nadir":
                continue
            d = s[col].to_numpy() - plain[col].to_numpy()
            print(f"  {label:20s} {d.mean():+8.3f} ({d[rows].mean():+.3f})")
        print(f"transfusions per patient: {s['n_transfusions'].mean():.3f} against "
              f"{plain['n_transfusions'].mean():.3f} (among the rescued "
              f"{s['n_transfusions'].to_numpy()[rows].mean():.3f} against "
              f"{plain['n_transfusions'].to_numpy()[rows].mean():.3f})\n")
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
