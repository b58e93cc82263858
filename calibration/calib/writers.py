"""The files a calibration writes: the library TOML files in data/ (edited with tomlkit, so that every
line it does not change keeps its bytes), ``calibration/ae_reporting.json``, ``report.csv`` and
``history.csv``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Collection

import pandas as pd
import tomlkit
from tomlkit.items import Comment, InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from . import ROOT, Log
from .library import BASELINE_MEDIAN, fmt, population_value
from .targets import Spec

DATE = "2026-12-08"  # date of the shipped calibration, written into the sources
AE_REPORTING = ROOT / "calibration" / "ae_reporting.json"
CALIBRATED_COMMENT = "# calibrated: "  # the comment line above covariates.platelets of each population


def calibrated_by(date: str = DATE) -> str:
    """The sentence that every calibrated value's source carries."""
    return (f"calibrated by calibration/calibrate.py on {date} against the training targets of calibration/targets.toml "
            "(STORM, XPOVIO label pools in myeloma and DLBCL, BOSTON SVd and Vd thrombocytopenia on lab visits, "
            "recovery after stopping, XPO1 occupancy; docs/calibration.md)")


def load_q_report(path: Path = AE_REPORTING) -> float:
    """The fitted reporting probability shipped with the calibration (1.0 = every TE lab value reported)."""
    if not path.exists():
        return 1.0
    return float(json.loads(path.read_text(encoding="utf-8"))["q_report"])


def edit_toml(path: Path, edit: Callable[[TOMLDocument], None]) -> None:
    """Parse the TOML file ``path``, apply ``edit`` to the document, and write it back."""
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def set_value(doc: TOMLDocument, path: str, value: float, source: str) -> None:
    """Set ``value`` (to 4 significant digits) and ``source`` of ``key = { value = ..., source = "..." }``.

    Parameters
    ----------
    doc : TOMLDocument
        The parsed file.
    path : str
        Dotted path of the entry, e.g. ``"platelets.kon"`` or ``"drugs.bortezomib.params.EC50"``.
    value : float
        The new value, written as ``calib.library.fmt`` formats it.
    source : str
        The new source string.
    """
    *tables, key = path.split(".")
    table: Any = doc
    for k in tables:
        table = table[k]
    entry = table[key]
    if not isinstance(entry, InlineTable) or "value" not in entry or "source" not in entry:
        raise KeyError(f"{path} is not an inline table with value and source")
    entry["value"] = tomlkit.value(fmt(value))
    entry["source"] = source


def set_population(table: Table, median: float, cv: float, cv_kon: float, cv_imax: float,
                   disc_median: float, note: str, cv_renewal: float | None = None) -> None:
    """Set the calibrated entries of a ``[populations.<name>]`` table.

    The baseline-platelet ``median`` and ``cv`` of ``covariates.platelets``, the IIV (CV) of kon and
    Imax (and of renewal when given), the discontinuation ``median_days``, and the text of its ``# calibrated:`` comment line
    (which must exist, once) become ``note``.
    """
    platelets = table["covariates"]["platelets"]
    platelets["median"] = tomlkit.value(fmt(median))
    platelets["cv"] = tomlkit.value(fmt(cv))
    table["iiv"]["platelets.kon"] = tomlkit.value(fmt(cv_kon))
    table["iiv"]["platelets.Imax"] = tomlkit.value(fmt(cv_imax))
    if cv_renewal is not None:
        table["iiv"]["platelets.renewal"] = tomlkit.value(fmt(cv_renewal))
    table["discontinuation"]["median_days"] = tomlkit.value(fmt(disc_median))
    comments = [item for _, item in table.value.body
                if isinstance(item, Comment) and item.trivia.comment.startswith(CALIBRATED_COMMENT)]
    if len(comments) != 1:
        raise ValueError(f"expected one '{CALIBRATED_COMMENT.strip()}' comment line in the population table, found {len(comments)}")
    comments[0].trivia.comment = CALIBRATED_COMMENT + note


def set_typical(table: Table, key: str, value: float, source: str) -> None:
    """Set a population's own typical value ``key`` (``namespace.param``) in its ``typical`` table."""
    if "typical" not in table:
        table["typical"] = tomlkit.inline_table()
    entry = tomlkit.inline_table()
    entry["value"] = tomlkit.value(fmt(value))
    entry["source"] = source
    table["typical"][key] = entry


def write_library(data_dir: Path, spec: Spec, x: dict[str, float], disc_median: dict[str, float],
                  fitted: Collection[str], log: Log) -> None:
    """Write the calibrated values into the library files of ``data_dir``.

    Parameters
    ----------
    data_dir : Path
        Directory of ``platelets.toml``, ``drugs.toml`` and ``populations.toml``.
    spec : Spec
        Free parameters: those with a ``source`` are written to their ``writes_to`` entry, with it.
    x : dict
        The fitted values.
    disc_median : dict
        Discontinuation median (days) of each population.
    fitted : collection of str
        Parameters free in some stage (the population note says which were fitted).
    log : callable
        Receives one line per file written.
    """
    cal = calibrated_by()
    by_file: dict[str, list] = {}
    own_typical = [p for p in spec.params.values() if ".typical." in p.writes_to]
    for p in spec.params.values():
        if p.source is not None and p not in own_typical:
            by_file.setdefault(p.writes_to.split(".")[0], []).append(p)
    for stem, params in by_file.items():
        def edit(doc: TOMLDocument, params: list = params) -> None:
            for p in params:
                set_value(doc, p.writes_to, x[p.name], p.source.replace("{calibrated}", cal))
        _write(data_dir / f"{stem}.toml", edit, log)

    what = ["baseline-platelet median"] + (["cv"] if "P0_cv" in fitted else []) + \
        ["IIV of Imax and renewal" if "cv_renewal" in x else "IIV of kon and Imax"]
    cv_note = "" if "P0_cv" in fitted else f"; baseline-platelet cv {fmt(spec.params['P0_cv'].start)} (start value, not fitted)"

    def edit_populations(doc: TOMLDocument) -> None:
        for name, pop in spec.populations.items():
            held = "" if BASELINE_MEDIAN[name] in fitted else f"; baseline-platelet median {fmt(x[BASELINE_MEDIAN[name]])} held (not fitted in this run)"
            note = f"{', '.join(w for w in what if BASELINE_MEDIAN[name] in fitted or w != 'baseline-platelet median')} {cal}{cv_note}{held}; discontinuation median: {pop.discontinuation_source}"
            set_population(doc["populations"][name], x[BASELINE_MEDIAN[name]], x["P0_cv"],
                           population_value(x, "cv_kon", name), population_value(x, "cv_Imax", name),
                           disc_median[name], note, population_value(x, "cv_renewal", name))
        for p in own_typical:
            _, name, _, key = p.writes_to.split(".", 3)
            set_typical(doc["populations"][name], key, x[p.name], (p.source or p.meaning).replace("{calibrated}", cal))

    _write(data_dir / "populations.toml", edit_populations, log)


def write_ae_reporting(q_report: float, log: Log, path: Path = AE_REPORTING) -> None:
    """Write the fitted reporting probability with its meaning and source."""
    path.write_text(json.dumps({
        "q_report": q_report,
        "meaning": "per-visit probability that a treatment-emergent grade 1-2 platelet count is reported as an adverse "
                   "event; grade 3-4 always reported (ASSUMPTION, observation model of calibration/calibrate.py)",
        "source": calibrated_by()}, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {shown_path(path)}")


def write_tables(out_dir: Path, spec: Spec, rows: list[dict[str, Any]], x: dict[str, float],
                 history: list[dict[str, Any]], log: Log) -> None:
    """Write ``report.csv`` (the report rows, then one row per free parameter) and ``history.csv``
    (one row per evaluation) into ``out_dir``."""
    params = pd.DataFrame([{"target": f"param.{p.name}", "description": p.meaning, "source": p.writes_to,
                            "observed": p.start, "ci_lo": p.lo, "ci_hi": p.hi, "simulated": x[p.name],
                            "metric": "parameter (observed = start, ci = bounds, simulated = fitted)"}
                           for p in spec.params.values()])
    pd.concat([pd.DataFrame(rows), params], ignore_index=True).to_csv(out_dir / "report.csv", index=False)
    pd.DataFrame(history).to_csv(out_dir / "history.csv", index=False)
    log(f"wrote {shown_path(out_dir / 'report.csv')}, {shown_path(out_dir / 'history.csv')}")


def _write(path: Path, edit: Callable[[TOMLDocument], None], log: Log) -> None:
    edit_toml(path, edit)
    log(f"wrote {shown_path(path)}")


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
