"""NONMEM-style datasets: records simulated as dosed against closed forms written here (1e-9
relative), the golden cases of the peers' bug history, round trips to the bit, and malformed
records named by row and column.

The model for the closed forms: lenalidomide (1 compartment, first-order absorption, no
covariate effect) with its parameters set below, so that every reference is a sum of
exponentials: an oral dose `F A ka / (V (ka - k)) (exp(-k s) - exp(-ka s))` with
`s = t - t_dose - lag`, an IV bolus `A / V exp(-k s)`, an infusion `R / CL (1 - exp(-k min(s,
D))) exp(-k max(s - D, 0))`; a steady-state dose adds the earlier doses `t_dose - j II`, `j = 1
.. 400` (the limit of repeated dosing, summed term by term).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

import selinexor_pkpd as sp
from conftest import capture, expect_model_error

CL, V, KA, F = 7.25, 50.6, 3.0, 0.8
K = CL / V
DRUG = "lenalidomide"
CMT = {1: "lenalidomide.depot", 2: "lenalidomide.central"}
REL = 1e-9
SS_TERMS = 400


def params(lag: float) -> dict:
    return {DRUG: {"CL": CL, "Vc": V, "ka": KA, "F": F, "tlag": lag}}


def single(kind: str, amt: float, s: float, lag: float, dur: float = 0.0) -> float:
    """Concentration `s` h after the dose time of one dose."""
    if kind == "oral":
        u = s - lag
        if u <= 0:
            return 0.0
        return F * amt * KA / (V * (KA - K)) * (math.exp(-K * u) - math.exp(-KA * u))
    if s <= 0:
        return 0.0
    if kind == "bolus":
        return amt / V * math.exp(-K * s)
    rate = amt / dur
    return rate / CL * (1.0 - math.exp(-K * min(s, dur))) * math.exp(-K * max(s - dur, 0.0))


def reference(records: list[dict], t: float, lag: float) -> float:
    """The concentration at `t` of a one-subject dataset, by superposition of its doses."""
    doses = []
    resets = []
    for r in records:
        evid = r.get("EVID", 0)
        if evid in (3, 4):
            resets.append(r["TIME"])
        if evid not in (1, 4):
            continue
        kind = "oral" if r["CMT"] == 1 else ("infusion" if r.get("RATE", 0) > 0 else "bolus")
        dur = r["AMT"] / r["RATE"] if kind == "infusion" else 0.0
        doses.append((r["TIME"], kind, r["AMT"], dur, r.get("SS", 0), r.get("II", 0.0)))
        for j in range(1, int(r.get("ADDL", 0)) + 1):
            doses.append((r["TIME"] + j * r["II"], kind, r["AMT"], dur, 0, 0.0))
    # A reset (EVID 3/4, or SS=1 for the drug) at or before t forgets the doses given before it.
    cut = max([x for x in resets if x <= t] + [d[0] for d in doses if d[4] == 1 and d[0] <= t] + [-math.inf])
    total = 0.0
    for (td, kind, amt, dur, ss, ii) in doses:
        if td < cut:
            continue
        total += single(kind, amt, t - td, lag, dur)
        if ss and t >= td:  # the history a steady-state dose stands for starts to count at its time
            total += sum(single(kind, amt, t - (td - j * ii), lag, dur) for j in range(1, SS_TERMS + 1))
    return total


def frame(records: list[dict], obs_times) -> pd.DataFrame:
    rows = [dict(ID=1, EVID=0, AMT=0.0, CMT=2, RATE=0.0, II=0.0, ADDL=0, SS=0, MDV=0, DV=0.0, TIME=float(t))
            for t in obs_times]
    for r in records:
        rows.append({**dict(ID=1, AMT=0.0, CMT=2, RATE=0.0, II=0.0, ADDL=0, SS=0, MDV=1, DV=0.0), **r})
    df = pd.DataFrame(rows)
    # Observations after events at one time (record order does not change the engine's order).
    df["_o"] = df["EVID"].map({0: 1, 2: 1}).fillna(0)
    df = df.sort_values(["TIME", "_o"], kind="mergesort").drop(columns="_o").reset_index(drop=True)
    return df[["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "MDV", "DV"]]


def check(records: list[dict], obs_times, lag: float) -> pd.DataFrame:
    df = frame(records, obs_times)
    out = sp.read_nonmem(df, CMT).simulate(params=params(lag), platelet_model="none")
    assert len(out) == len(df)
    got = out[f"C_{DRUG}"].to_numpy()
    want = np.array([reference(records, t, lag) for t in df["TIME"]])
    scale = np.max(np.abs(want))
    assert scale > 0
    err = np.max(np.abs(got - want)) / scale
    assert err < REL, (err, df.assign(got=got, want=want).to_string())
    return out


GRID = np.arange(0.0, 144.0, 0.75)

# --- the dataset of the issue: EVID 0/1/2/3/4, ADDL/II, SS=1/2, lag, infusion RATE -------------

ALL_EVENTS = [
    dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, SS=1, II=24.0, ADDL=2),  # oral SS with lag, 2 more
    dict(TIME=30.0, EVID=2),
    dict(TIME=72.0, EVID=4, CMT=2, AMT=50.0, RATE=25.0),  # reset, then a 2 h infusion
    dict(TIME=80.0, EVID=1, CMT=2, AMT=20.0),  # IV bolus
    dict(TIME=90.0, EVID=3),  # reset
    dict(TIME=96.0, EVID=1, CMT=2, AMT=20.0),
    dict(TIME=100.0, EVID=1, CMT=1, AMT=5.0, SS=2, II=12.0, ADDL=1),  # SS superposed, lagged
    dict(TIME=120.0, EVID=1, CMT=2, AMT=30.0, RATE=10.0, SS=1, II=12.0),  # SS infusion 3 h
]


def test_a_dataset_with_every_kind_of_record_matches_the_closed_form():
    out = check(ALL_EVENTS, GRID, lag=1.5)
    assert (out["EVID"] == 2).sum() == 1


# --- golden cases from peers' bug history ----------------------------------------------------------

def test_lag_applies_to_every_additional_dose():
    """mrgsolve #991, #1129: ADDL doses with a lag time each get the lag."""
    check([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, II=12.0, ADDL=5)], GRID[GRID < 96], lag=2.5)


def test_lag_on_repeated_doses_longer_than_the_interval():
    """rxode2 #1088: lagged repeated doses, here with a lag (5 h) longer than the interval (4 h),
    written as separate records and as ADDL."""
    recs = [dict(TIME=4.0 * i, EVID=1, CMT=1, AMT=10.0) for i in range(6)]
    a = check(recs, GRID[GRID < 48], lag=5.0)
    b = check([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, II=4.0, ADDL=5)], GRID[GRID < 48], lag=5.0)
    # (the dose records add output times, so the runs are equal to rounding, not to the bit)
    assert np.allclose(a.loc[a.EVID == 0, f"C_{DRUG}"].to_numpy(), b.loc[b.EVID == 0, f"C_{DRUG}"].to_numpy(),
                       rtol=1e-12, atol=1e-15)


def test_steady_state_is_not_a_single_dose():
    """ferx-core #75: an SS=1 record silently simulated as one dose. At the dose time the
    concentration is the trough of repeated dosing, not zero."""
    out = check([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, SS=1, II=24.0)], GRID[GRID <= 24], lag=0.0)
    trough = out.loc[out.TIME == 0, f"C_{DRUG}"].iloc[0]
    assert trough > 1e-3 * out[f"C_{DRUG}"].max()


@pytest.mark.parametrize("lag", [1.5, 30.0])
def test_steady_state_with_lag(lag):
    """ferx-core #15: SS with a lag time (shorter, and longer than the interval)."""
    check([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, SS=1, II=24.0)], GRID[GRID <= 48], lag=lag)


def test_steady_state_of_an_infusion_longer_than_the_interval():
    check([dict(TIME=0.0, EVID=1, CMT=2, AMT=30.0, RATE=2.0, SS=1, II=12.0)], GRID[GRID <= 48], lag=0.0)


# --- round trips -----------------------------------------------------------------------------------

def test_round_trip_dataset_out_and_in_is_the_same_simulation_to_the_bit(tmp_path):
    df = frame(ALL_EVENTS, GRID)
    df["WT"] = 82.0
    first = sp.read_nonmem(df, CMT).simulate(params=params(1.5))
    out = sp.to_nonmem(first)
    assert list(out.columns[:11]) == list(sp.nonmem.NONMEM_COLUMNS)
    path = tmp_path / "data.csv"
    out.to_csv(path, index=False)
    again = sp.read_nonmem(path, CMT).simulate(params=params(1.5))
    for c in ["C_lenalidomide", "AUC_lenalidomide", "PLT", "TPO"]:
        assert np.array_equal(first[c].to_numpy(), again[c].to_numpy()), c
    # and in memory, with the map the result carries
    third = sp.read_nonmem(again).simulate(params=params(1.5))
    assert np.array_equal(first["PLT"].to_numpy(), third["PLT"].to_numpy())


def test_simulate_to_nonmem_and_back_reproduces_sp_simulate_to_the_bit():
    r = sp.regimen("xd_80_biw")
    sim = sp.simulate(r, days=14, dt_h=6.0, patient={"weight": 60.0, "height": 160.0})
    nm = sp.to_nonmem(sim)
    assert nm.attrs["cmt_map"] == {1: "selinexor.depot", 2: "selinexor.central",
                                   3: "dexamethasone.depot", 4: "dexamethasone.central"}
    assert set(nm.loc[nm.EVID == 1, "CMT"]) == {1, 3}
    assert (nm.loc[nm.EVID == 0, "CMT"] == 5).all()  # PLT: 2n + 1
    assert (nm["WT"] == 60.0).all()
    back = sp.read_nonmem(nm).simulate()
    obs = back[back.EVID == 0]
    for c in ["C_selinexor", "C_dexamethasone", "X", "PLT", "TPO"]:
        assert np.array_equal(obs[c].to_numpy(), sim[c].to_numpy()), c
    assert np.array_equal(obs["DV"].to_numpy(), sim["PLT"].to_numpy())


def test_cmt_numbering():
    assert sp.cmt_map(["selinexor"]) == {1: "selinexor.depot", 2: "selinexor.central"}


def test_covariates_act_on_the_parameters_they_scale():
    """Weight scales selinexor's CL/V: a dataset's WT column gives the same run as the patient."""
    rows = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=80.0)], np.arange(0.0, 48.0, 2.0))
    rows["WT"] = 95.0
    rows["HT"] = 180.0
    out = sp.read_nonmem(rows, {1: "selinexor"}).simulate(platelet_model="none")
    sim = sp.simulate(sp.Regimen.single_dose("selinexor", 80.0), days=2, times=np.arange(0.0, 48.0, 2.0),
                      patient={"weight": 95.0, "height": 180.0}, platelet_model="none")
    assert np.array_equal(out.loc[out.EVID == 0, "C_selinexor"].to_numpy(), sim["C_selinexor"].to_numpy())
    light = sp.simulate(sp.Regimen.single_dose("selinexor", 80.0), days=2, times=np.arange(0.0, 48.0, 2.0),
                        platelet_model="none")
    assert not np.allclose(light["C_selinexor"], sim["C_selinexor"])


def test_subjects_are_simulated_separately_in_order():
    a = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0)], [0.0, 2.0, 4.0])
    b = a.copy()
    b["ID"] = 2
    b.loc[b.EVID == 1, "AMT"] = 20.0
    out = sp.read_nonmem(pd.concat([a, b]), CMT).simulate(params=params(0.0), platelet_model="none")
    c = out[f"C_{DRUG}"].to_numpy()
    assert np.allclose(c[4:], 2 * c[:4], rtol=1e-12, atol=0)


# --- malformed records -----------------------------------------------------------------------------

def bad(mutate, field: str, cmt_map=CMT, text: str | None = None):
    df = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, II=12.0, ADDL=1)], [1.0, 2.0, 3.0]).astype(object)
    mutate(df)
    exc = capture(sp.read_nonmem, df, cmt_map)
    assert isinstance(exc, sp.ModelError), exc
    assert exc.field == field, (exc.field, str(exc))
    if text:
        assert text in str(exc), str(exc)


def set_cell(row: int, col: str, value):
    def f(df):
        df.loc[row - 1, col] = value
    return f


@pytest.mark.parametrize("row, col, value, text", [
    (1, "AMT", "abc", '"abc"'),
    (1, "AMT", -5.0, "-5"),
    (1, "EVID", 7, "got 7"),
    (1, "CMT", 9, "not in the CMT map"),
    (1, "RATE", -2, "modelled duration"),
    (1, "RATE", -1, "modelled rate"),
    (1, "RATE", 5.0, "zero-order input into lenalidomide.depot"),
    (1, "ADDL", 1.5, "whole number"),
    (1, "II", 0.0, "II > 0"),
    (1, "SS", 3, "got 3"),
    (2, "TIME", -1.0, "got -1"),
    (3, "TIME", 0.5, "sort each subject"),
    (2, "ID", ".", "missing"),
])
def test_malformed_records_name_row_and_column(row, col, value, text):
    bad(set_cell(row, col, value), f"row {row}.{col}", text=text)


def test_ss_without_interval_names_ii():
    def f(df):
        df.loc[0, "SS"] = 1
        df.loc[0, "II"] = 0.0
        df.loc[0, "ADDL"] = 0
    bad(f, "row 1.II", text="SS 1")


def test_non_contiguous_subject_is_refused():
    def f(df):
        df.loc[1, "ID"] = 2
    bad(f, "row 3.ID", text="contiguous")


def test_missing_columns_and_bad_maps():
    df = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0)], [1.0])
    assert capture(sp.read_nonmem, df.drop(columns="TIME"), CMT).field == "data"
    assert capture(sp.read_nonmem, df, {1: "aspirin"}).field.startswith("cmt_map[1]")
    assert capture(sp.read_nonmem, df).field == "cmt_map"
    assert capture(sp.read_nonmem, "/nonexistent/file.csv", CMT).field == "data"


def test_text_columns_read_dots_as_missing():
    text = "ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS,MDV,DV\n1,0,1,10,1,.,.,.,.,1,.\n1,2,0,.,.,.,.,.,.,0,0.12\n"
    d = sp.read_nonmem(pd.read_csv(io.StringIO(text), dtype=str), CMT)
    out = d.simulate(params=params(0.0), platelet_model="none")
    assert out[f"C_{DRUG}"].iloc[1] == pytest.approx(single("oral", 10.0, 2.0, 0.0), rel=1e-9)


# --- time-varying covariates -----------------------------------------------------------------------

def selinexor_matrix(wt: float) -> tuple[np.ndarray, float]:
    """Selinexor's compartment matrix (depot, central, peripheral) at weight `wt` (data/drugs.toml:
    CL 17.9 (WT/70)^0.75, Vc 85 WT/70, Q 6, Vp 40, ka 1.2, F 1) and its Vc."""
    cl, vc, q, vp, ka = 17.9 * (wt / 70.0) ** 0.75, 85.0 * wt / 70.0, 6.0, 40.0, 1.2
    a = np.array([[-ka, 0.0, 0.0], [ka, -(cl + q) / vc, q / vp], [0.0, q / vc, -q / vp]])
    return a, vc


def piecewise_reference(doses, weights, times) -> np.ndarray:
    """Concentrations by propagating the amounts with expm(A dt) between events, A from the
    weight in force (`weights`: (from_time, wt, strictly_after) steps), doses into the depot."""
    from scipy.linalg import expm

    def wt_at(t):
        """The weight in force at `t` (a step marked `after` holds only after its time)."""
        w = weights[0][1]
        for (s, v, after) in weights[1:]:
            if s < t or (s == t and not after):
                w = v
        return w

    z = np.zeros(3)
    t = 0.0
    out = {}
    for b in sorted({*[d[0] for d in doses], *[w[0] for w in weights], *times}):
        if b > t:  # the weight is constant inside (t, b): take it at the midpoint
            z = expm(selinexor_matrix(wt_at(0.5 * (t + b)))[0] * (b - t)) @ z
            t = b
        if b in times:
            out[b] = z[1] / selinexor_matrix(wt_at(b))[1]
        for (td, amt) in doses:
            if td == b:
                z[0] += amt
    return np.array([out[x] for x in times])


@pytest.mark.parametrize("fill", ["locf", "nocb"])
def test_time_varying_weight_acts_on_selinexor_cl_and_v(fill):
    times = [float(x) for x in np.arange(0.0, 96.0, 3.0)]
    wt = {0.0: 80.0, 24.0: 80.0, 30.0: 70.0, 51.0: 70.0, 54.0: 60.0}
    rows = []
    for t in times:
        rows.append(dict(ID=1, TIME=t, EVID=0, AMT=0.0, CMT=2, WT=None))
    for td in (0.0, 24.0, 48.0, 72.0):
        rows.append(dict(ID=1, TIME=td, EVID=1, AMT=80.0, CMT=1, WT=None))
    df = pd.DataFrame(rows).sort_values(["TIME", "EVID"], kind="mergesort").reset_index(drop=True)
    for t, w in wt.items():
        df.loc[df.TIME == t, "WT"] = w
    df["WT"] = df["WT"].astype(float)  # missing cells carry the last value
    out = sp.read_nonmem(df, {1: "selinexor"}, covariates=fill).simulate(platelet_model="none")
    # Steps: 80 kg, 70 from 30 h (LOCF) or from just after 27 h (NOCB), 60 from 54 or 51.
    steps = ([(0.0, 80.0, False), (30.0, 70.0, False), (54.0, 60.0, False)] if fill == "locf"
             else [(0.0, 80.0, False), (27.0, 70.0, True), (51.0, 60.0, True)])
    obs = out[out.EVID == 0]
    want = piecewise_reference([(td, 80.0) for td in (0.0, 24.0, 48.0, 72.0)], steps, times)
    got = obs["C_selinexor"].to_numpy()
    assert np.max(np.abs(got - want)) / np.max(want) < REL
    # the weight really changed something: a constant 80 kg differs
    const = piecewise_reference([(td, 80.0) for td in (0.0, 24.0, 48.0, 72.0)], [(0.0, 80.0, False)], times)
    assert np.max(np.abs(const - want)) / np.max(want) > 1e-2


def test_covariates_that_change_at_one_time_or_plt0_changes_are_refused():
    df = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0)], [0.0, 2.0])
    df["WT"] = [70.0, 80.0, 80.0]
    exc = capture(sp.read_nonmem, df, CMT)
    assert isinstance(exc, sp.ModelError) and exc.field == "row 2.WT", exc
    df["WT"] = 70.0
    df["PLT0"] = [150.0, 150.0, 120.0]
    exc = capture(sp.read_nonmem, df, CMT)
    assert isinstance(exc, sp.ModelError) and exc.field == "row 3.PLT0", exc
    exc = capture(sp.read_nonmem, df, CMT, covariates="mean")
    assert isinstance(exc, sp.ModelError) and exc.field == "covariates", exc


# --- observation error -----------------------------------------------------------------------------

def population_frame(n_subjects: int, obs_times) -> pd.DataFrame:
    one = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0, II=24.0, ADDL=3)], obs_times)
    parts = []
    for i in range(n_subjects):
        p = one.copy()
        p["ID"] = i + 1
        parts.append(p)
    return pd.concat(parts, ignore_index=True)


def test_observation_error_has_the_model_cv_and_sd():
    """Proportional error on the concentration, additive on the platelets: the empirical CV of
    DV/IPRED and SD of DV - IPRED match the model to Monte-Carlo error (n = 6,000 each; the
    standard error of an SD estimate is SD / sqrt(2 n), under 1%, tested at 5%)."""
    df = population_frame(100, np.arange(3.0, 93.0, 1.5))
    ds = sp.read_nonmem(df, CMT)
    out = ds.simulate(params=params(0.0), platelet_model="friberg",
                      error={f"C_{DRUG}": {"prop": 0.2}, "PLT": {"add": 12.0}}, seed=7)
    obs = out[out.EVID == 0]
    assert len(obs) == 6000
    assert out.loc[out.EVID != 0, f"DV_C_{DRUG}"].isna().all()
    ratio = obs[f"DV_C_{DRUG}"] / obs[f"C_{DRUG}"] - 1.0
    assert abs(ratio.std() / 0.2 - 1.0) < 0.05 and abs(ratio.mean()) < 0.02
    resid = obs["DV_PLT"] - obs["PLT"]
    assert abs(resid.std() / 12.0 - 1.0) < 0.05 and abs(resid.mean()) < 0.5
    # combined: variance add^2 + prop^2 IPRED^2
    comb = ds.simulate(params=params(0.0), platelet_model="none",
                       error={f"C_{DRUG}": {"prop": 0.2, "add": 0.02}}, seed=3)
    c = comb[comb.EVID == 0]
    z = (c[f"DV_C_{DRUG}"] - c[f"C_{DRUG}"]) / np.sqrt(0.02**2 + (0.2 * c[f"C_{DRUG}"]) ** 2)
    assert abs(z.std() - 1.0) < 0.05


def test_observation_error_is_seeded_per_subject():
    df = population_frame(3, [2.0, 4.0, 6.0])
    err = {f"C_{DRUG}": {"prop": 0.1}}
    run = lambda d, seed: sp.read_nonmem(d, CMT).simulate(params=params(0.0), platelet_model="none",
                                                          error=err, seed=seed)[f"DV_C_{DRUG}"].to_numpy()
    a, b, c = run(df, 1), run(df, 1), run(df, 2)
    assert np.array_equal(a, b, equal_nan=True)
    assert not np.allclose(a[~np.isnan(a)], c[~np.isnan(c)])
    # subject 3's noise does not depend on subject 1's records
    df2 = df.copy()
    df2.loc[(df2.ID == 1) & (df2.EVID == 1), "AMT"] = 40.0
    d = run(df2, 1)
    n = len(df) // 3
    assert np.array_equal(a[2 * n:], d[2 * n:], equal_nan=True)
    assert not np.array_equal(a[:n], d[:n], equal_nan=True)


@pytest.mark.parametrize("error, field", [
    ({"C_aspirin": {"prop": 0.1}}, "error.C_aspirin"),
    ({"PLT": {"add": -1.0}}, "error.PLT.add"),
    ({"PLT": {}}, "error.PLT"),
    ({"PLT": {"sd": 1.0}}, "error.PLT"),
])
def test_bad_error_models_name_the_field(error, field):
    ds = sp.read_nonmem(frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=10.0)], [1.0]), CMT)
    exc = capture(ds.simulate, params=params(0.0), error=error)
    assert isinstance(exc, sp.ModelError) and exc.field == field, exc


def test_one_and_two_threads_give_the_same_result_to_the_bit():
    df = population_frame(8, np.arange(3.0, 60.0, 3.0))
    df["WT"] = np.repeat(np.linspace(50.0, 110.0, 8), len(df) // 8)
    ds = sp.read_nonmem(df, {1: "selinexor"})
    kw = dict(error={"PLT": {"prop": 0.1, "add": 3.0}, "C_selinexor": {"prop": 0.25}}, seed=11)
    one = ds.simulate(threads=1, **kw)
    two = ds.simulate(threads=2, **kw)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert capture(ds.simulate, threads=0).field == "threads"


def test_dose_errors_found_at_simulation_name_row_and_column():
    """A depot dose of a drug without absorption, and a steady state with too many earlier
    infusions still running, are found when the subject is simulated: named by row and column."""
    df = frame([dict(TIME=0.0, EVID=1, CMT=1, AMT=50.0)], [1.0])
    exc = capture(sp.read_nonmem(df, {1: "carfilzomib.depot"}).simulate)
    assert isinstance(exc, sp.ModelError) and exc.field.endswith("row 1.CMT"), exc
    df = frame([dict(TIME=0.0, EVID=1, CMT=2, AMT=50.0, RATE=0.001, SS=1, II=1.0)], [1.0])
    exc = capture(sp.read_nonmem(df, CMT).simulate, params=params(0.0))
    assert isinstance(exc, sp.ModelError) and exc.field.endswith("row 1.II") and "lenalidomide" in str(exc), exc


def test_population_to_nonmem_writes_the_doses_given_and_the_outputs_observed():
    pop = sp.population("rrmm_heavily_pretreated", n=40)
    obs_days = [0.0, 7.0, 14.0, 21.0, 28.0, 42.0, 56.0, 84.0]
    res = sp.simulate_population("xd_80_biw", pop, days=84, dose_rules="label", observe=obs_days, seed=4)
    data = sp.to_nonmem(res)
    s = res.subjects
    assert sorted(data["ID"].unique()) == list(range(1, 41))
    reduced = 0
    for i in range(40):
        d = data[data["ID"] == i + 1]
        o = d[d["EVID"] == 0]
        np.testing.assert_array_equal(o["TIME"].to_numpy(), np.array(obs_days) * 24.0)
        np.testing.assert_array_equal(o["PLT"].to_numpy(), res.trajectories[i])  # the same run, to the bit
        sel = d[(d["EVID"] == 1) & (d["DRUG"] == "selinexor")]
        weeks = max(np.ceil(s["days_on_treatment"][i] / 7.0 - 1e-9), 1.0)
        assert sel["AMT"].sum() == pytest.approx(s["dose_intensity_mg_week"][i] * weeks, rel=1e-12)
        assert (sel["TIME"] < s["days_on_treatment"][i] * 24.0 + 1e-9).all()
        reduced += int((sel["AMT"] < 80.0).any() or s["n_interruptions"][i] > 0)
    assert reduced > 0  # the label rules changed some patients' doses, and the rows show it
    assert set(data["CMT"]) == {1, 3, 5}  # selinexor depot, dexamethasone depot, platelets


def test_population_to_nonmem_without_rules_is_the_regimen_until_discontinuation():
    pop = sp.population("rrmm_heavily_pretreated", n=5).with_discontinuation(None)
    res = sp.simulate_population("xd_100_qw", pop, days=28, observe=[28.0])
    data = sp.to_nonmem(res, ids=[2])
    planned = sp.regimen("xd_100_qw").events(days=28)
    doses = data[data["EVID"] == 1].sort_values(["TIME", "DRUG"]).reset_index(drop=True)
    planned = planned.sort_values(["TIME", "DRUG"]).reset_index(drop=True)
    np.testing.assert_allclose(doses["TIME"], planned["TIME"])
    np.testing.assert_allclose(doses["AMT"], planned["AMT"])
    assert list(doses["DRUG"]) == list(planned["DRUG"])
    expect_model_error(sp.to_nonmem, res, ids=[7], field="ids")
    no_obs = sp.simulate_population("xd_100_qw", pop, days=28)
    expect_model_error(sp.to_nonmem, no_obs, field="sim")


def test_population_to_nonmem_writes_transfusions_in_units():
    pop = sp.population("rrmm_heavily_pretreated", n=200)  # a few patients fall below 10 on label rules
    res = sp.simulate_population("xd_80_biw", pop, days=84, dose_rules=["label", "transfuse_below_10"],
                                 observe=[7.0, 28.0, 84.0])
    data = sp.to_nonmem(res)
    tx = data[data["DRUG"] == "platelet_transfusion"]
    assert tx["AMT"].sum() == pytest.approx(res.subjects["units_transfused"].sum())
    assert len(tx) == res.subjects["n_transfusions"].sum() > 0
