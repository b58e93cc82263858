"""The training arms, targets and free parameters of ``calibration/targets.toml``.

The file is read with tomlkit, the library that also writes the data files (see
``calib.writers``): one library reads and writes TOML on every supported Python, whereas the
standard library's ``tomllib`` exists only from Python 3.11 and cannot write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from scipy import special, stats

from . import ROOT

TARGETS_TOML = ROOT / "calibration" / "targets.toml"


@dataclass(frozen=True)
class Arm:
    """A trial arm as its protocol ran it, and its observed median time on treatment (None: not
    matched). ``observe`` is ``"labs"`` (the regimen's lab visits, as trials grade) or ``"daily"``
    (four values a day, for the recovery metrics)."""

    key: str
    label: str
    regimen: str
    rules: str | None
    population: str
    days: float
    time_on_treatment_days: float | None
    time_on_treatment_source: str | None
    observe: str = "labs"


@dataclass(frozen=True)
class Population:
    """Discontinuation (non-platelet reasons) of a population preset."""

    name: str
    discontinuation_median_days: float
    discontinuation_source: str


@dataclass(frozen=True)
class Target:
    """An observed incidence ``k / n``, or a ``value`` with an assumed ``se`` when ``k`` is None."""

    key: str
    arm: str
    metric: str
    k: int | None
    n: int
    description: str
    source: str
    fit: bool = True
    value: float | None = None
    se: float | None = None

    @property
    def observed(self) -> float:
        """The observed proportion ``k / n``, or the observed value."""
        return self.k / self.n if self.k is not None else float(self.value)

    @property
    def se_obs(self) -> float:
        """The assumed SE, or the binomial SE ``sqrt(p (1 - p) / n)`` of the observed proportion."""
        if self.se is not None:
            return self.se
        p = self.observed
        return math.sqrt(p * (1 - p) / self.n)

    def ci(self) -> tuple[float, float]:
        """Exact (Clopper-Pearson) 95% interval of the observed proportion, or +/- 1.96 SE."""
        if self.k is None:
            return (self.observed - 1.96 * self.se_obs, self.observed + 1.96 * self.se_obs)
        return clopper_pearson(self.k, self.n)


@dataclass(frozen=True)
class Param:
    """A free parameter.

    Attributes
    ----------
    scale : str
        ``"log"`` or ``"lin"``: the scale of the bounded transform and of the prior.
    prior_sd : float or None
        SD of a normal prior centred on ``start``, on ``scale``; None: flat.
    writes_to : str
        The library path (or file) the fitted value is written to.
    source : str or None
        Source string written with the value, ``{calibrated}`` standing for the calibration run;
        None for values that carry no source of their own.
    """

    name: str
    start: float
    lo: float
    hi: float
    scale: str
    prior_sd: float | None
    writes_to: str
    meaning: str
    source: str | None = None

    def to_y(self, x: float) -> float:
        """``x`` on the parameter's scale."""
        return math.log(x) if self.scale == "log" else x

    def from_y(self, y: float) -> float:
        """Inverse of ``to_y``."""
        return math.exp(y) if self.scale == "log" else y

    def to_u(self, x: float) -> float:
        """``x`` on the unbounded search scale: the logit of its position between the bounds."""
        a, b = self.to_y(self.lo), self.to_y(self.hi)
        f = (self.to_y(x) - a) / (b - a)
        f = min(max(f, 1e-6), 1 - 1e-6)
        return float(special.logit(f))

    def from_u(self, u: float) -> float:
        """Inverse of ``to_u``."""
        a, b = self.to_y(self.lo), self.to_y(self.hi)
        return self.from_y(a + (b - a) * float(special.expit(u)))

    def prior(self, x: float) -> float:
        """Prior penalty ``((x - start) / prior_sd)^2`` on the parameter's scale (0 when flat)."""
        if self.prior_sd is None:
            return 0.0
        return ((self.to_y(x) - self.to_y(self.start)) / self.prior_sd) ** 2


@dataclass(frozen=True)
class Spec:
    """Everything ``targets.toml`` holds, keyed as in the file (file order kept)."""

    arms: dict[str, Arm]
    populations: dict[str, Population]
    targets: list[Target]
    params: dict[str, Param]
    stages: list[tuple[str, list[str], list[str], int, bool]] | None = None

    @property
    def start(self) -> dict[str, float]:
        """The starting value of every free parameter."""
        return {p.name: p.start for p in self.params.values()}


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) ``1 - alpha`` interval of the proportion ``k / n``."""
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def _param(name: str, d: dict) -> Param:
    if d["scale"] not in ("log", "lin"):
        raise ValueError(f"params.{name}: scale must be 'log' or 'lin', not {d['scale']!r}")
    if "prior_factor" in d and d["scale"] != "log":
        raise ValueError(f"params.{name}: prior_factor needs scale = 'log'")
    if "prior_sd" in d and d["scale"] != "lin":
        raise ValueError(f"params.{name}: prior_sd needs scale = 'lin' (use prior_factor on the log scale)")
    prior_sd = math.log(d["prior_factor"]) if "prior_factor" in d else d.get("prior_sd")
    lo, hi = d["bounds"]
    source = d.get("source")
    if source is not None and "{calibrated}" not in source:
        raise ValueError(f"params.{name}: source must contain {{calibrated}}")
    return Param(name, float(d["start"]), float(lo), float(hi), d["scale"],
                 None if prior_sd is None else float(prior_sd), d["writes_to"], d["meaning"], source)


def load(path: Path = TARGETS_TOML) -> Spec:
    """Read a targets file.

    Parameters
    ----------
    path : Path
        The TOML file (default: ``calibration/targets.toml``).

    Returns
    -------
    Spec
        Arms, populations, targets and free parameters, in file order.
    """
    d = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    arms = {k: Arm(k, a["label"], a["regimen"], a.get("dose_rules"), a["population"], float(a["days"]),
                   float(a["time_on_treatment_days"]) if "time_on_treatment_days" in a else None,
                   a.get("time_on_treatment_source"), a.get("observe", "labs"))
            for k, a in d["arms"].items()}
    for a in arms.values():
        if a.observe not in ("labs", "daily"):
            raise ValueError(f"arm {a.key}: observe must be 'labs' or 'daily', not {a.observe!r}")
    pops = {k: Population(k, float(p["discontinuation_median_days"]), p["discontinuation_source"])
            for k, p in d["populations"].items()}
    targets = [Target(t["key"], t["arm"], t["metric"], t.get("k"), t.get("n", 0), t["description"], t["source"],
                      t.get("fit", True), t.get("value"), t.get("se")) for t in d["targets"]]
    params = {k: _param(k, p) for k, p in d["params"].items()}
    for t in targets:
        if t.arm not in arms:
            raise ValueError(f"target {t.key}: unknown arm {t.arm!r}")
    for a in arms.values():
        if a.population not in pops:
            raise ValueError(f"arm {a.key}: population {a.population!r} has no [populations] entry")
    stages = [(s["name"], list(s["free"]), list(s["arms"]), int(s["evaluations"]), bool(s.get("short_boston", False)))
              for s in d.get("stages", [])] or None
    for name, free, s_arms, _, _ in stages or []:
        unknown = [k for k in free if k not in params] + [a for a in s_arms if a not in arms]
        if unknown:
            raise ValueError(f"stage {name!r}: unknown parameters or arms {unknown}")
    return Spec(arms, pops, targets, params, stages)
