"""Types that cannot rot: the Literal option strings against the engine, the docstrings against
the Literals, private names against module boundaries, and the native stub against the module."""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

import pytest

import pandas as pd
import selinexor_pkpd as sp
import selinexor_pkpd._core as core
from selinexor_pkpd import _typing as T
from conftest import expect_model_error

PKG = Path(sp.__file__).resolve().parent
POP = sp.population("rrmm_heavily_pretreated", n=2)
DIST_PARAMS = {"fixed": {"value": 70.0}, "normal": {"mean": 70.0, "sd": 5.0}, "lognormal": {"median": 70.0, "cv": 0.2}}
COVARIATE_VALUES = {"weight": 70.0, "height": 170.0, "age": 65.0, "crcl": 90.0, "platelets": 150.0}


def _trial(**kw):
    return sp.simulate_population("xd_80_biw", kw.pop("population", POP), days=7, **kw)


def _covariate(name):
    if name == "female":
        return POP.with_covariate("female", p=0.5)
    return POP.with_covariate(name, dist="fixed", value=COVARIATE_VALUES.get(name, 1.0))


#: Per Literal alias: a call that uses one value, and values outside the Literal.
RULES_REGIMEN = {"lenalidomide_label": "trial001", "pomalidomide_label": "trial000_arm2",
                 "ixazomib_label": "ird_tourmaline", "lenalidomide_ixazomib_label": "ird_tourmaline"}
CASES = {
    "PlateletModel": (lambda v: sp.simulate("xd_80_biw", days=7, platelet_model=v), ["friberg_exp", "TPO", ""]),
    "TrialPlateletModel": (lambda v: _trial(platelet_model=v), ["none", "friberg_exp"]),
    "LinearPk": (lambda v: sp.simulate("xd_80_biw", days=7, linear_pk=v), ["closed", "EXACT"]),
    "CovariateFill": (lambda v: sp.read_nonmem(pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 1.0], "AMT": [80.0, 0.0],
                                                             "CMT": [1, 1]}), {1: "selinexor"}, covariates=v),
                      ["LOCF", "mean"]),
    "DoseUnit": (lambda v: sp.Regimen.single_dose("selinexor", 1.0, unit=v).events(days=1), ["g", "mg/lb"]),
    "Route": (lambda v: sp.simulate(sp.Regimen.single_dose("selinexor", 80.0, route=v), days=2, platelet_model="none"),
              ["im", "po"]),
    "Sex": (lambda v: sp.simulate("xd_80_biw", days=7, patient=sp.Patient(sex=v)), ["other", "m"]),
    # (on the rescue preset, which also doses the romiplostim that label_biw_tpo_rescue starts; a
    # partner's own rule set on a regimen that doses the partner)
    "DoseRulesName": (lambda v: sp.simulate_population(RULES_REGIMEN.get(v, "xd_80_biw_romiplostim_rescue"), POP,
                                                       days=7, dose_rules=v),
                      ["label_daily", "none"]),
    "ExposureInterval": (lambda v: sp.exposure("xd_80_biw", days=7, interval=v), ["month", "day"]),
    "DesignName": (lambda v: sp.escalate(dlt_probs=[0.1, 0.3], design=v, trials=5), ["3x3", "crm"]),
    "DltPreset": (lambda v: sp.escalate(["xd_80_biw"], dlt=v, trials=1, reference_n=2, dose_rules="label"),
                  ["g5", "g4"]),
    "Covariate": (lambda v: _trial(population=_covariate(v)), ["bmi", "sex"]),
    "CovariateDist": (lambda v: _trial(population=POP.with_covariate("weight", dist=v, **DIST_PARAMS.get(v, {}))),
                      ["uniform", "log-normal"]),
}


def _literals() -> dict[str, tuple[str, ...]]:
    return {k: typing.get_args(v) for k, v in vars(T).items() if typing.get_origin(v) is typing.Literal}


def test_every_literal_has_a_case():
    assert set(_literals()) == set(CASES)


@pytest.mark.parametrize("alias,value", [(k, v) for k, vs in _literals().items() for v in vs])
def test_literal_value_is_accepted(alias, value):
    CASES[alias][0](value)


@pytest.mark.parametrize("alias,value", [(k, v) for k in CASES for v in CASES[k][1]])
def test_value_outside_literal_is_rejected(alias, value):
    assert value not in typing.get_args(getattr(T, alias))
    expect_model_error(CASES[alias][0], value)


def test_literals_match_the_default_library():
    lib = sp.get_library()
    assert set(typing.get_args(T.DoseRulesName)) == {"label", *lib._native.dose_rules_names()}
    assert set(typing.get_args(T.Covariate)) == set(POP.spec["covariates"])
    assert set(typing.get_args(T.PlateletModel)) == set(typing.get_args(T.TrialPlateletModel)) | {"none"}
    assert list(typing.get_args(T.DltPreset)) == sp.dlt_presets()


# --- docstrings ---------------------------------------------------------------------------------

def _literal_values(annotation: str) -> set[str]:
    """Values of every _typing Literal an annotation string names, through the unions."""
    out: set[str] = set()

    def walk(tp):
        if typing.get_origin(tp) is typing.Literal:
            out.update(typing.get_args(tp))
        else:
            for a in typing.get_args(tp):
                walk(a)

    for name in re.findall(r"\w+", annotation):
        if name in vars(T) and not name.startswith("_"):
            walk(getattr(T, name))
    return out


def _public_callables():
    for name in sp.__all__:
        obj = getattr(sp, name)
        if inspect.isclass(obj):
            if inspect.isfunction(obj.__init__):
                yield f"{name}.__init__", obj.__init__, obj.__doc__
            for m, f in vars(obj).items():
                if not m.startswith("_") and callable(getattr(f, "__func__", f)):
                    f = getattr(f, "__func__", f)
                    yield f"{name}.{m}", f, f.__doc__
        elif callable(obj):
            yield name, obj, obj.__doc__


def test_docstring_type_lines_list_the_literal_values():
    checked = 0
    for where, f, doc in _public_callables():
        for p in inspect.signature(f).parameters.values():
            if not isinstance(p.annotation, str):
                continue
            values = _literal_values(p.annotation)
            if not values:
                continue
            line = next((ln for ln in (doc or "").splitlines()
                         if re.match(rf"\s*(\w+, )*{p.name}(, \w+)* : ", ln)), None)
            assert line is not None, f"{where}: no docstring type line for {p.name!r}"
            braces = re.search(r"\{([^}]*)\}", line)
            assert braces, f"{where}: {line.strip()!r} does not list the values of {p.name!r}"
            assert set(re.findall(r'"([^"]*)"', braces.group(1))) == values, f"{where}: {line.strip()!r}"
            checked += 1
    assert checked >= 12


# --- private names ------------------------------------------------------------------------------

def _is_package_module(name: str) -> bool:
    return (PKG / f"{name}.py").exists() or any(PKG.glob(f"{name}.*.so")) or any(PKG.glob(f"{name}.*.pyd"))


def test_no_module_imports_another_modules_private_names():
    bad, seen = [], 0
    for path in sorted(PKG.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 0 and not (node.module or "").startswith("selinexor_pkpd"):
                continue
            seen += 1
            from_package_root = node.level == 1 and not node.module or node.module == "selinexor_pkpd"
            for alias in node.names:
                if not alias.name.startswith("_"):
                    continue
                if from_package_root and _is_package_module(alias.name):
                    continue  # an internal module, e.g. `from . import _core`
                bad.append(f"{path.name}:{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}")
    assert seen >= 20
    assert not bad, "underscore names imported across modules:\n" + "\n".join(bad)


# --- the native stub ----------------------------------------------------------------------------

STUB = ast.parse((PKG / "_core.pyi").read_text(encoding="utf-8"))


def _stub_defs():
    """(qualified name, FunctionDef/ClassDef) of the stub's public definitions."""
    for node in STUB.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name, node
            if isinstance(node, ast.ClassDef):
                for m in node.body:
                    if isinstance(m, ast.FunctionDef):
                        yield f"{node.name}.{m.name}", m


def test_stub_and_module_define_the_same_names():
    stub = {name for name, _ in _stub_defs() if not name.endswith("__init__")}
    native = {n for n in dir(core) if not n.startswith("_")}
    for cls in ("Library", "Trial", "Escalation", "Dataset"):
        native |= {f"{cls}.{m}" for m in dir(getattr(core, cls)) if not m.startswith("_")}
    assert stub == native


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, object]]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args]
    defaults = [inspect.Parameter.empty] * (len(names) - len(a.defaults)) + [ast.literal_eval(d) for d in a.defaults]
    return [(n, d) for n, d in zip(names, defaults) if n != "self"]


@pytest.mark.parametrize("name", [n for n, node in _stub_defs()
                                  if isinstance(node, ast.FunctionDef) and not n.startswith("ModelError")])
def test_stub_signature_matches_the_module(name):
    node = dict(_stub_defs())[name]
    if name.endswith(".__init__"):
        obj = getattr(core, name.split(".")[0])
    else:
        obj = core
        for part in name.split("."):
            obj = getattr(obj, part)
    native = [(p.name, p.default) for p in inspect.signature(obj).parameters.values() if p.name != "self"]
    assert _stub_params(node) == native


@pytest.mark.parametrize("name", [n for n, _ in _stub_defs() if not n.endswith("__init__")])
def test_stub_definition_has_a_docstring(name):
    assert ast.get_docstring(dict(_stub_defs())[name]), name
