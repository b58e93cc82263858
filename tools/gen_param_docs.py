"""Write docs/parameters.md: every default parameter of the embedded library with its unit and source.

Run `python tools/gen_param_docs.py` after changing data/*.toml; tests/python/test_docs.py fails
when the document is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "parameters.md"
DATA = ROOT / "data"


def library() -> dict:
    """The library as the repository's data/*.toml define it: the embedded one with those files
    merged over it, so that the document follows an edit of the files before the native module is
    rebuilt (after a rebuild the two are the same)."""
    lib = sp.Library()
    for name in sp.default_files():
        if (DATA / name).is_file():
            lib = lib.override(DATA / name)
    return lib.to_dict()


def render() -> str:
    lib = library()
    lines = [
        "# Default parameters and their sources",
        "",
        "Generated from the embedded library (`data/*.toml`) by `tools/gen_param_docs.py`; do not edit by hand.",
        "Units: time h, amounts mg, volumes L, concentrations mg/L, platelets 10^9/L. `ASSUMPTION` marks a value",
        "not taken from a publication; `calibrated` marks a value fitted to the clinical targets (docs/calibration.md).",
        "",
    ]
    for name, d in lib["drugs"].items():
        lines += [f"## {name}", "", f"{d['description']}. Route by default: {d['default_route']}; "
                  f"{d['compartments']}-compartment, {d['elimination'].replace('_', '-')} elimination.", ""]
        lines += ["| parameter | value | unit | source |", "|---|---|---|---|"]
        for p, s in d["params"].items():
            lines.append(f"| `{p}` | {s['value']:g} | {s['unit']} | {s['source']} |")
        if d.get("effect"):
            lines += ["", f"Platelet effect: `{d['effect']}`. {d.get('effect_source', '')}"]
        if d.get("covariates"):
            lines += ["", "Covariates:", ""]
            for c in d["covariates"]:
                if c.get("factor") is not None:
                    model = f"x {c['factor']:g} when {c['covariate']} = 1"
                else:
                    model = f"x ({c['covariate']}/{c['reference']:g})^{c['exponent']:g}"
                lines.append(f"- `{c['param']}` {model}: {c['source']}")
        iiv = ", ".join(f"`{k}` {100 * v:.1f}%" for k, v in d.get("iiv", {}).items()) or "none"
        lines += ["", f"IIV (CV, log-normal): {iiv}. Source: {d.get('iiv_source', '')}", ""]
    for ns, title in (("platelets", "Platelet model (TPO feedback) and XPO1 engagement"), ("friberg", "Classic Friberg model")):
        lines += [f"## {title} (`{ns}`)", "", "| parameter | value | unit | source |", "|---|---|---|---|"]
        for p, s in lib[ns].items():
            lines.append(f"| `{p}` | {s['value']:g} | {s['unit']} | {s['source']} |")
        lines.append("")
    lines += ["## Populations", ""]
    for name, p in lib["populations"].items():
        lines += [f"### `{name}`", "", p["description"] + ".", "", f"Source: {p['source']}", ""]
        for k, v in p["covariates"].items():
            lines.append(f"- {k}: {v}")
        lines += [f"- IIV: {p.get('iiv', {})} (plus each drug's own IIV)", f"- discontinuation: {p['discontinuation']}"]
        for param, t in p.get("typical", {}).items():
            lines.append(f"- typical `{param}` in this population: {t['value']:g}: {t['source']}")
        if p.get("tumour_sensitivity"):
            t = p["tumour_sensitivity"]
            lines.append(f"- tumour sensitivity (efficacy model): {t['value']:g}: {t['source']}")
        lines.append("")
    e = lib["efficacy"]
    lines += ["## Efficacy model (`efficacy`, docs/efficacy.md)", "", e["description"] + ".", "",
              "| parameter | value | between patients | source |", "|---|---|---|---|"]
    for k, v in e.items():
        if isinstance(v, dict) and "median" in v:
            lines.append(f"| `{k}` | median {v['median']:g} | log-normal CV {100 * v.get('cv', 0):g}% | {v['source']} |")
        elif isinstance(v, dict) and "value" in v:
            lines.append(f"| `{k}` | {v['value']:g} {v.get('unit', '')} | | {v['source']} |")
    lines += ["", "Partner drugs' kill (log-kill per reference dose, kinetic-PD effect):", "",
              "| drug | kill | reference dose (mg) | effect half-life (days) | source |", "|---|---|---|---|---|"]
    for d, k in e["partners"].items():
        lines.append(f"| {d} | {k['kill']['value']:g} | {k['reference_mg']['value']:g} | "
                     f"{k['effect_half_life']['value']:g} | {k['kill']['source']} |")
    lines.append("")
    lines += ["## Dose rules", ""]
    for name, r in lib["dose_rules"].items():
        ladder = " -> ".join(f"{l['amount']:g} mg days {l.get('weekdays', [])}" for l in r["ladder"])
        lines += [f"### `{name}`", "", r["description"] + ".", "", f"Source: {r['source']}", "",
                  f"- ladder: {ladder} -> stop", f"- rules: {r['rules']}",
                  f"- cooldown between reductions: {r['cooldown_days']:g} days (ASSUMPTION); recheck while held: every {r['recheck_days']:g} days (ASSUMPTION)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.exists() and OUT.read_text(encoding="utf-8") == text else 1)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
