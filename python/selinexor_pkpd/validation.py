"""Validation against published arms: each arm simulated at its regimen, population, dose rules
and horizon, compared with what the trial observed (docs/validation.md).

Per arm and endpoint the result gives the observed proportion with its exact (Clopper-Pearson)
95% interval, the simulated proportion over ``n_sim`` virtual patients, and the 95% prediction
interval of the proportion in a trial of the published size under the model: the 2.5 and 97.5%
quantiles of ``Binomial(n, simulated) / n``, i.e. the range of the proportion in repeated
simulated trials of ``n`` patients drawn from the virtual population. ``covers`` says whether the
observed proportion lies inside that interval. The intervals, quantiles and endpoint definitions
are computed in Rust (``sim/validation.rs``).

``python calibration/validate_report.py`` (which calls :func:`main` with ``--write-docs``)
regenerates ``docs/validation.md`` and the forest plot from the shipped table
``data/validation/validation_arms.csv`` (run it from the repository root; fixed seed, so the
output is deterministic).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._errors import error
from ._typing import FilePath, LibrarySource
from .population import population as make_population
from .population import simulate_population
from .regimen import Regimen

#: Columns every arm must give.
REQUIRED = ("arm_id", "regimen", "population", "n", "events", "endpoint")
#: Optional columns and their defaults: dose rules (preset name or None) and the horizon, days.
DEFAULTS: dict[str, Any] = {"dose_rules": None, "days": 168.0}
#: Endpoints the table may use (names from the engine): thrombocytopenia grades from the
#: scheduled lab visits, and the best IMWG response.
ENDPOINTS: tuple[str, ...] = tuple(_core.validation_endpoints())
#: The default number of virtual patients per arm, and the seed of the shipped report.
N_SIM = 2000
SEED = 20261121

ArmsLike = Union[Sequence[Mapping[str, Any]], pd.DataFrame, FilePath]


class ValidationResult:
    """Result of :func:`validate`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per arm and endpoint: the arm's inputs (``arm_id``, ``endpoint``, ``regimen``,
        ``population``, ``dose_rules``, ``days``, ``n``, ``events``); ``observed`` with its
        Clopper-Pearson interval (``observed_lo``, ``observed_hi``); ``simulated`` (fraction of
        ``sim_n`` virtual patients, ``sim_events`` with the event); the prediction interval of a
        trial of ``n`` patients (``predicted_lo``, ``predicted_hi``); ``covers`` (observed inside
        the prediction interval) and ``ci_contains_simulated`` (simulated inside the observed
        interval); then any other columns of the input (e.g. ``study``, ``source``). Fractions.
    inputs : dict
        ``n_sim``, ``seed``, ``level``.
    """

    def __init__(self, table: pd.DataFrame, inputs: dict[str, Any]) -> None:
        self.table = table
        self.inputs = inputs

    def coverage(self) -> tuple[int, int]:
        """(arms whose observed proportion lies in the prediction interval, arms)."""
        return int(self.table["covers"].sum()), len(self.table)

    def plot(self, path: FilePath | None = None, *, formats: Sequence[str] = ()) -> Any:
        """Forest plot: per arm and endpoint, the observed proportion with its exact 95% CI and the
        simulated proportion with the prediction interval of a trial of the published size.

        Parameters
        ----------
        path : path, optional
            Save the figure there (format from the suffix, PNG by default).
        formats : sequence of str
            Extra formats to save beside ``path``.

        Returns
        -------
        matplotlib Axes.
        """
        from .plots import plot_validation

        return plot_validation(self.table, path, formats=formats)

    def to_markdown(self) -> str:
        """The table as Markdown: percentages with their intervals, and whether each arm is covered."""
        rows = ["| arm | endpoint | regimen | population | dose rules | days | observed % (95% CI) | "
                "simulated % | 95% PI, trial of n | covered |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for _, r in self.table.iterrows():
            rows.append(
                f"| {r['arm_id']} | {r['endpoint']} | {r['regimen']} | {r['population']} | {'none' if _missing(r['dose_rules']) else r['dose_rules']} "
                f"| {r['days']:g} | {r['events']}/{r['n']} = {100 * r['observed']:.1f} ({100 * r['observed_lo']:.1f}-"
                f"{100 * r['observed_hi']:.1f}) | {100 * r['simulated']:.1f} | {100 * r['predicted_lo']:.1f}-"
                f"{100 * r['predicted_hi']:.1f} | {'yes' if r['covers'] else '**no**'} |")
        return "\n".join(rows)

    def __repr__(self) -> str:
        k, n = self.coverage()
        return f"ValidationResult({n} arms, {k} covered by their 95% prediction interval)"


def _read_arms(arms: ArmsLike) -> list[dict[str, Any]]:
    if isinstance(arms, pd.DataFrame):
        return arms.to_dict("records")
    if isinstance(arms, (str, os.PathLike)):
        p = Path(arms)
        if not p.is_file():
            raise error("arms", f"no such file: {str(arms)!r}")
        try:
            return pd.read_csv(p, comment="#").to_dict("records")
        except (ValueError, pd.errors.ParserError) as e:
            raise error("arms", f"{str(arms)!r} is not a readable CSV table: {e}") from None
    if isinstance(arms, Mapping) or not isinstance(arms, Sequence):
        raise error("arms", f"must be a list of dicts, a DataFrame or a CSV path, got {type(arms).__name__}")
    out = []
    for i, a in enumerate(arms):
        if not isinstance(a, Mapping):
            raise error(f"arms[{i}]", f"must be a dict, got {type(a).__name__}")
        out.append(dict(a))
    return out


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _count(field: str, v: Any) -> int:
    if isinstance(v, bool) or _missing(v):
        raise error(field, f"must be a whole number >= 0, got {v!r}")
    if isinstance(v, (int, np.integer)):
        k = int(v)
    elif isinstance(v, (float, np.floating)) and float(v).is_integer():
        k = int(v)
    else:
        raise error(field, f"must be a whole number >= 0, got {v!r}")
    if k < 0:
        raise error(field, f"must be a whole number >= 0, got {v!r}")
    return k


def _arm(i: int, a: Mapping[str, Any], library: LibrarySource | None) -> dict[str, Any]:
    """One arm, checked: every field named ``arms[i].<field>`` in errors, with the value as given."""
    where = f"arms[{i}]"
    for k in REQUIRED:
        if k not in a or (k != "events" and _missing(a[k])):
            raise error(f"{where}.{k}", f"is required but missing (required: {list(REQUIRED)})")
    row = {**DEFAULTS, **{k: v for k, v in a.items() if not (k in DEFAULTS and _missing(v))}}
    row["arm_id"] = str(row["arm_id"])
    if row["endpoint"] not in ENDPOINTS:
        raise error(f"{where}.endpoint", f"unknown endpoint {row['endpoint']!r} (endpoints: {list(ENDPOINTS)})")
    n = _count(f"{where}.n", row["n"])
    if n == 0:
        raise error(f"{where}.n", f"must be at least 1 patient, got {row['n']!r}")
    events = _count(f"{where}.events", row["events"])
    if events > n:
        raise error(f"{where}.events", f"must be at most n = {n}, got {row['events']!r}")
    row["n"], row["events"] = n, events
    days = row["days"]
    if isinstance(days, bool) or not isinstance(days, (int, float, np.integer, np.floating)) \
            or not math.isfinite(days) or days <= 0:
        raise error(f"{where}.days", f"must be a number of days > 0, got {days!r}")
    row["days"] = float(days)
    reg = row["regimen"]
    try:
        row["_regimen"] = reg if isinstance(reg, Regimen) else Regimen.preset(reg, library=library)
    except (ValueError, TypeError) as e:
        raise error(f"{where}.regimen", f"{reg!r} is not a regimen preset or a Regimen ({e})") from None
    row["regimen"] = reg.name if isinstance(reg, Regimen) else reg
    if not isinstance(row["population"], str):
        raise error(f"{where}.population", f"must be a population preset name, got {row['population']!r}")
    rules = row["dose_rules"]
    if _missing(rules) or rules == "none":
        row["dose_rules"] = None
    elif not isinstance(rules, str):
        raise error(f"{where}.dose_rules", f"must be a dose-rules preset name or None, got {rules!r}")
    return row


def validate(arms: ArmsLike, *, n_sim: int = N_SIM, seed: int = SEED, threads: int | None = None,
             level: float = 0.95, library: LibrarySource | None = None) -> ValidationResult:
    """Simulate published arms and compare each with what the trial observed.

    Parameters
    ----------
    arms : list of dict, pandas.DataFrame or path to a CSV file
        One row per arm and endpoint. Required: ``arm_id``, ``regimen`` (preset name or
        :class:`Regimen`), ``population`` (preset name), ``n`` (patients in the published arm),
        ``events`` (patients with the event), ``endpoint`` (``"g3plus"``, ``"g4"``,
        ``"any_grade"``: worst CTCAE thrombocytopenia grade at the scheduled lab visits, as trials
        grade it; ``"orr"``: partial response or better; ``"vgpr_plus"``). Optional:
        ``dose_rules`` (preset name; None: none), ``days`` (horizon, default 168). Other
        columns are carried into the result.
    n_sim : int
        Virtual patients per arm (arms with the same regimen, population, rules and horizon
        share one simulation).
    seed : int
    threads : int, optional
        Results are the same for any number.
    level : float
        Level of the observed and prediction intervals.
    library : Library, path or dict, optional

    Returns
    -------
    ValidationResult

    Raises
    ------
    ModelError
        On a bad arm, naming ``arms[i].<field>`` and the value as given.
    """
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise error("n_sim", f"must be a whole number >= 1, got {n_sim!r}")
    _core.clopper_pearson(0, 1, level)  # the engine checks `level` before anything runs
    rows = [_arm(i, a, library) for i, a in enumerate(_read_arms(arms))]
    if not rows:
        raise error("arms", "give at least one arm")
    sims: dict[tuple[str, str, Any, float], pd.DataFrame] = {}
    out = []
    for i, row in enumerate(rows):
        reg: Regimen = row.pop("_regimen")
        key = (json.dumps(reg.to_dict(), sort_keys=True), row["population"], row["dose_rules"], row["days"])
        if key not in sims:
            try:
                pop = make_population(row["population"], n=int(n_sim), library=library)
            except ValueError as e:
                raise error(f"arms[{i}].population", f"{row['population']!r}: {e}") from None
            try:
                res = simulate_population(reg, pop, days=row["days"], seed=seed, threads=threads,
                                          dose_rules=row["dose_rules"], library=library)
            except ValueError as e:
                field = str(getattr(e, "field", ""))
                name = next((k for k in ("dose_rules", "regimen") if field.startswith(k)), None)
                if name is None:
                    raise error(f"arms[{i}]", f"arm {row['arm_id']!r} cannot be simulated: {e}") from None
                raise error(f"arms[{i}].{name}", f"{row[name]!r}: {e}") from None
            sims[key] = res.subjects
        s = sims[key]
        check = _core.check_arm(row["endpoint"], row["n"], row["events"],
                                np.ascontiguousarray(s["worst_grade_lab"], dtype=np.int64),
                                np.ascontiguousarray(s["responder"], dtype=bool),
                                np.ascontiguousarray(s["vgpr_or_better"], dtype=bool), level)
        first = {k: row[k] for k in ("arm_id", "endpoint", "regimen", "population", "dose_rules", "days", "n", "events")}
        rest = {k: v for k, v in row.items() if k not in first}
        out.append({**first, **check, **rest})
    table = pd.DataFrame(out)
    table["dose_rules"] = table["dose_rules"].astype(object).where(table["dose_rules"].notna(), None)
    return ValidationResult(table, {"n_sim": int(n_sim), "seed": int(seed), "level": float(level)})


#: Thrombocytopenia endpoints (worst CTCAE grade at the lab visits) and response endpoints.
GRADE_ENDPOINTS: tuple[str, ...] = ("g3plus", "g4", "any_grade")
RESPONSE_ENDPOINTS: tuple[str, ...] = ("orr", "vgpr_plus")


def _coverage_summary(t: pd.DataFrame) -> str:
    """Coverage by endpoint family (thrombocytopenia, response), the misses with their direction,
    and what a miss says about the model."""

    def family(name: str, endpoints: Sequence[str], missing: str) -> str:
        rows = t[t["endpoint"].isin(endpoints)]
        if rows.empty:
            return f"- {name}: no arm-endpoint in the table ({missing})."
        arms = rows["arm_id"].nunique()
        return (f"- {name}: {int(rows['covers'].sum())} of {len(rows)} arm-endpoints covered "
                f"({arms} arm{'s' if arms != 1 else ''}; endpoints "
                + ", ".join(f"`{e}`" for e in endpoints if e in set(rows["endpoint"])) + ").")

    lines = [
        family("Thrombocytopenia (the platelet model)", GRADE_ENDPOINTS,
               "published grade 3-4, grade 4 or any-grade rates of non-training selinexor arms NOT FOUND in "
               "the sources available here; see Sources and gaps"),
        family("Response (the M-protein model)", RESPONSE_ENDPOINTS, "none found"),
    ]
    misses = t[~t["covers"].astype(bool)]
    if misses.empty:
        lines.append("- Misses: none.")
    else:
        for _, r in misses.iterrows():
            side = "above" if r["observed"] > r["predicted_hi"] else "below"
            lines.append(f"- Miss: `{r['arm_id']}` ({r['endpoint']}): observed {100 * r['observed']:.1f}% lies {side} "
                         f"the 95% prediction interval {100 * r['predicted_lo']:.1f}-{100 * r['predicted_hi']:.1f}% "
                         f"(the model predicts {'too few' if side == 'above' else 'too many'} events for this arm).")
    lines.append(
        "\nWhat a miss says: the prediction interval already allows for the binomial chance of a trial of the "
        "published size, so a miss means the model, as configured for that arm, does not reproduce it. For a "
        "thrombocytopenia endpoint that points at the platelet model's exposure-response or marrow reserve for "
        "that regimen or population (or at the arm's assumed dose rules, lab schedule or horizon); for a response "
        "endpoint, at the transfer of the efficacy fit (STORM part 2 and BOSTON) to that regimen or population. "
        "Covered arms are consistent with the model, not proof of it: small arms give wide intervals, and ORR "
        "rows test the M-protein model, not the platelet model.")
    return "\n".join(lines)


def _docs(res: ValidationResult, table_path: str, figure: str) -> str:
    k, n = res.coverage()
    inp = res.inputs
    t = res.table
    counts = t["endpoint"].value_counts()
    endpoints = ", ".join(f"`{e}` ({counts[e]})" for e in ENDPOINTS if e in counts)
    gap = ("" if set(GRADE_ENDPOINTS) & set(t["endpoint"]) else
           "No thrombocytopenia endpoint yet: published thrombocytopenia rates of non-training selinexor myeloma "
           "arms were NOT FOUND in the sources available to the project (abstracts cut before their safety "
           "results; STORM part 1's treatment-related any-grade thrombocytopenia, 72% of 78, was found but is "
           "left out because its patients are very likely part of the XPOVIO label's 202-patient pool that the "
           "platelet model was fitted to), so this page does not yet validate the platelet model. ")
    notes = "\n".join(f"- `{r['arm_id']}` ({r['endpoint']}): {r['notes']}" for _, r in t.iterrows()
                      if "notes" in t.columns and not _missing(r["notes"])) or "none"
    return f"""# Validation against published selinexor arms

Generated by `python calibration/validate_report.py` from `{table_path}` ({inp['n_sim']} virtual
patients per arm, seed {inp['seed']}); do not edit by hand. The arms below were **not** used in any fit
(training targets: `calibration/targets.toml`, `calibration/efficacy_targets.toml`,
`calibration/partner_targets.toml`); nothing was tuned to them. A miss is a result.

**Coverage: {k} of {n} arm-endpoints have their observed proportion inside the model's 95% prediction
interval for a trial of the published size.**

{_coverage_summary(t)}

## Method

- Each arm is simulated with its regimen preset, population preset, dose rules and horizon
  (`days`) over {inp['n_sim']} virtual patients (`sp.validate`, python/selinexor_pkpd/validation.py).
- Thrombocytopenia endpoints use the worst CTCAE v4.03 grade at the scheduled lab visits
  (`worst_grade_lab`), as trials grade; `orr` is a confirmed partial response or better of the
  M-protein model (`responder`), `vgpr_plus` a very good partial response or better.
- Observed: events / n with the exact Clopper-Pearson 95% interval.
- Predicted: the simulated proportion p, and the 95% prediction interval of the proportion in a trial
  of the published n: the 2.5% and 97.5% quantiles of Binomial(n, p) / n (the range of the proportion
  in repeated simulated trials of n patients drawn from the virtual population). ASSUMPTION: the
  Monte-Carlo error of p itself is ignored (with {inp['n_sim']} patients its standard error is at most
  {100 * 0.5 / math.sqrt(inp['n_sim']):.1f} percentage points, small against the binomial spread of
  the published arms).
- Covered: the observed proportion lies inside the prediction interval. The table also says whether the
  observed interval contains the simulated proportion (`ci_contains_simulated` in `sp.validate(...).table`).

## Results

{res.to_markdown()}

![forest plot]({figure})

## Notes per arm

{notes}

## Sources and gaps

Each row of `{table_path}` carries its citation, URL and the quoted sentence the number was read from;
`data/validation/selinexor_arms.csv` lists every candidate arm found, with NOT FOUND where a number
could not be read (docs/research/sources_issue17.md). Endpoints in this table: {endpoints}.
{gap}The table grows as published numbers are found; this page is regenerated with the command above.
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: run the shipped validation table, print it, and with ``--write-docs`` write
    ``docs/validation.md`` and its forest plot."""
    ap = argparse.ArgumentParser(prog="python calibration/validate_report.py", description=main.__doc__)
    ap.add_argument("--table", default="data/validation/validation_arms.csv")
    ap.add_argument("--n-sim", type=int, default=N_SIM)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--docs", default="docs/validation.md")
    ap.add_argument("--figure", default="docs/validation_forest.png")
    a = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    res = validate(a.table, n_sim=a.n_sim, seed=a.seed, threads=a.threads)
    print(res.to_markdown())
    print(repr(res))
    if a.write_docs:
        res.plot(a.figure)
        docs = Path(a.docs)
        rel = os.path.relpath(a.figure, docs.parent).replace(os.sep, "/")
        docs.write_text(_docs(res, a.table, rel), encoding="utf-8")
        print(f"wrote {docs} and {a.figure}")
    return 0


__all__ = ["ENDPOINTS", "ValidationResult", "validate", "main"]
