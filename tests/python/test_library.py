"""The model library: embedded defaults with their sources, overrides by dict and by TOML/JSON
file that change results, rejection of unknown keys and impossible values."""

from __future__ import annotations

import json
import math

import pytest

import selinexor_pkpd as sp
from conftest import expect_model_error

SEL80 = sp.Regimen.single_dose("selinexor", 80)

# MODEL.md sections 1 and 4: typical values of the default library
MODEL_MD = {
    "selinexor": {"CL": 17.9, "Vc": 85.0, "Q": 6.0, "Vp": 40.0, "ka": 1.2, "F": 1.0},
    "dexamethasone": {"CL": 9.29, "Vc": 51.3, "Q": 0.538, "Vp": 5.06, "ka": 0.936},
    "bortezomib": {"CL": 9.59, "Vc": 10.0, "Q": 25.8, "Vp": 32.5, "Q2": 26.6, "Vp2": 975.0},
    "carfilzomib": {"CL": 659.0},
    "pomalidomide": {"ka": 1.25, "tlag": 0.21, "CL": 7.78, "Vc": 69.9, "Q": 3.75, "Vp": 71.5},
    "lenalidomide": {"CL": 7.25, "Vc": 50.6},
    "daratumumab": {"CL": 0.00485, "Vc": 4.09, "Q": 0.0642, "Vp": 3.06, "Vmax": 2.08, "kdes": 0.0013, "Km": 0.93},
    "ixazomib": {"ka": 0.34, "tlag": 0.22, "CL": 1.86, "Vc": 13.7, "Q": 5.18, "Vp": 309.0, "Q2": 26.1, "Vp2": 205.0,
                 "F": 0.58},
}
COMPARTMENTS = {"selinexor": 2, "dexamethasone": 2, "bortezomib": 3, "carfilzomib": 2, "pomalidomide": 2,
                "lenalidomide": 1, "daratumumab": 2, "ixazomib": 3}
# Sourced values (MODEL.md section 3), and the calibrated ones with the bounds calibration/calibrate.py
# searched within (calibration/targets.toml; tpo_half and fP: the 2026-11-22 fit's bounds, held since).
PLATELETS_MD = {"MTT": 130.0, "lifespan": 205.0}
PLATELETS_CALIBRATED = {"kon": (0.05, 200.0), "koff": (0.002, 0.2), "tpo_half": (20.0, 46.0), "fP": (0.3, 0.95),
                        "gamma": (0.05, 2.0), "Imax": (0.5, 0.999), "renewal": (0.0, 1.0)}


def auc(lib=None, regimen=SEL80, drug="selinexor", **kw) -> float:
    e = sp.exposure(regimen, drug=drug, days=20, interval=[(0, 20)], library=lib, **kw).iloc[0]
    assert e["AUC_ode"] == pytest.approx(e["AUC_exact"], rel=1e-6)
    return float(e["AUC_exact"])


# --- the embedded defaults -------------------------------------------------------------------------

def test_drugs_listed():
    names = sp.drugs()
    for d in ["selinexor", "dexamethasone", "bortezomib", "carfilzomib", "pomalidomide", "lenalidomide",
              "daratumumab", "ixazomib", "ruxolitinib", "methylprednisolone"]:
        assert d in names


@pytest.mark.parametrize("name", sorted(sp.drugs()))
def test_every_parameter_has_a_source(name):
    spec = sp.drug(name)
    assert spec["params"], name
    for p, v in spec["params"].items():
        assert isinstance(v["value"], (int, float)) and math.isfinite(v["value"]) and v["value"] >= 0, (name, p)
        assert isinstance(v.get("source"), str) and v["source"].strip(), f"{name}.{p} has no source"
        assert "unit" in v, (name, p)
    for c in spec.get("covariates", []):
        assert c.get("source", "").strip(), f"{name} covariate {c['param']}~{c['covariate']} has no source"
    if spec.get("iiv"):
        assert spec.get("iiv_source", "").strip(), name
    if spec.get("effect"):
        assert spec.get("effect_source", "").strip(), name
    assert spec["compartments"] in (1, 2, 3)
    assert spec["default_route"] in ("oral", "sc", "iv")


@pytest.mark.parametrize("name", sorted(MODEL_MD))
def test_typical_values_match_model_md(name):
    spec = sp.drug(name)
    assert spec["compartments"] == COMPARTMENTS[name]
    for p, v in MODEL_MD[name].items():
        assert spec["params"][p]["value"] == pytest.approx(v, rel=1e-12), (name, p)


def test_daratumumab_is_michaelis_menten():
    assert sp.drug("daratumumab")["elimination"] == "michaelis_menten"


def test_selinexor_weight_covariates():
    covs = {(c["param"], c["covariate"]): c for c in sp.drug("selinexor")["covariates"]}
    assert covs[("CL", "WT")]["reference"] == 70.0 and covs[("CL", "WT")]["exponent"] == 0.75
    assert covs[("Vc", "WT")]["reference"] == 70.0 and covs[("Vc", "WT")]["exponent"] == 1.0


def test_platelet_parameters_have_sources():
    d = sp.Library().to_dict()
    for table in ("platelets", "friberg"):
        for p, v in d[table].items():
            assert v.get("source", "").strip(), f"{table}.{p} has no source"
    for p, v in PLATELETS_MD.items():
        assert d["platelets"][p]["value"] == pytest.approx(v), p
    for p, (lo, hi) in PLATELETS_CALIBRATED.items():
        assert lo <= d["platelets"][p]["value"] <= hi, p
        assert "calibrated by calibration/calibrate.py" in d["platelets"][p]["source"], p


def test_default_files():
    files = sp.default_files()
    assert {"drugs.toml", "platelets.toml", "regimens.toml"} <= set(files)
    assert "[drugs.selinexor]" in files["drugs.toml"]
    assert "[regimens.xd_80_biw]" in files["regimens.toml"]


def test_library_views():
    lib = sp.Library()
    assert lib.drugs == sp.drugs()
    assert lib.presets == sp.presets()
    assert lib.drug("selinexor") == sp.drug("selinexor")
    assert "selinexor" in repr(lib)
    d = lib.to_dict()
    assert {"drugs", "platelets", "friberg", "regimens"} <= set(d)


# --- overrides change results ----------------------------------------------------------------------

def test_override_by_dict():
    base = sp.Library()
    lib = base.override({"drugs": {"selinexor": {"params": {"CL": {"value": 35.8}}}}})
    assert lib.drug("selinexor")["params"]["CL"]["value"] == 35.8
    assert base.drug("selinexor")["params"]["CL"]["value"] == 17.9  # immutable
    # the rest of the table is kept (deep merge)
    assert lib.drug("selinexor")["params"]["Vc"]["value"] == 85.0
    assert lib.drug("selinexor")["params"]["CL"]["unit"] == "L/h"
    assert auc(lib) == pytest.approx(auc(base) / 2, rel=1e-6)
    assert auc(lib) == pytest.approx(80 / 35.8, rel=1e-6)


def test_library_given_as_dict_to_functions():
    over = {"drugs": {"selinexor": {"params": {"CL": {"value": 35.8}}}}}
    assert auc(over) == pytest.approx(80 / 35.8, rel=1e-6)
    df = sp.simulate(SEL80, days=20, dt_h=1.0, platelet_model="none", library=over)
    assert df["AUC_selinexor"].iloc[-1] == pytest.approx(80 / 35.8, rel=1e-5)
    c1 = sp.closed_form(SEL80, days=1, times=[2.0], library=over)["C_selinexor"].iloc[0]
    c0 = sp.closed_form(SEL80, days=1, times=[2.0])["C_selinexor"].iloc[0]
    assert c1 < c0


def test_override_by_toml_file(tmp_path):
    path = tmp_path / "my_library.toml"
    path.write_text(
        "# a partial library\n"
        "[drugs.selinexor.params]\n"
        'CL = { value = 20.0, source = "my fit" }\n'
        'Vc = { value = 100.0, source = "my fit" }\n'
        "[platelets]\n"
        'Imax = { value = 0.5, source = "my calibration" }\n')
    lib = sp.Library().override(path)
    assert lib.drug("selinexor")["params"]["CL"] == {"value": 20.0, "unit": "L/h", "source": "my fit"}
    assert lib.to_dict()["platelets"]["Imax"]["value"] == 0.5
    assert auc(lib) == pytest.approx(80 / 20.0, rel=1e-6)
    assert auc(str(path)) == pytest.approx(80 / 20.0, rel=1e-6)  # a path anywhere a library is accepted
    # the platelet override changes the platelet response
    a = sp.simulate("xd_80_biw", days=28, dt_h=6.0)["PLT"].min()
    b = sp.simulate("xd_80_biw", days=28, dt_h=6.0, library=lib)["PLT"].min()
    assert b != pytest.approx(a, rel=1e-3)


def test_override_by_json_file_and_to_file_round_trip(tmp_path):
    path = tmp_path / "over.json"
    path.write_text(json.dumps({"drugs": {"dexamethasone": {"params": {"CL": {"value": 18.58}}}}}))
    lib = sp.Library().override(path)
    # 20 days of xd_80_qw: dexamethasone 20 mg on days 1, 8 and 15
    assert auc(lib, regimen="xd_80_qw", drug="dexamethasone") == pytest.approx(3 * 20 / 18.58, rel=1e-6)
    full = tmp_path / "full.json"
    lib.to_file(full)
    again = sp.Library().override(full)
    assert again.to_dict() == lib.to_dict()


def test_override_adds_a_drug_and_a_preset():
    lib = sp.Library().override({
        "drugs": {"mydrug": {"compartments": 1, "default_route": "oral",
                             "params": {"ka": {"value": 1.0, "source": "x"}, "CL": {"value": 5.0, "source": "x"},
                                        "Vc": {"value": 50.0, "source": "x"}}}},
        "regimens": {"my_qw": {"description": "mine", "blocks": [
            {"cycle_days": 7, "doses": [{"drug": "mydrug", "amount": 10, "weekdays": [1]}]}]}},
    })
    assert "mydrug" in lib.drugs and "my_qw" in lib.presets
    assert "my_qw" in sp.presets(library=lib) and "mydrug" in sp.drugs(library=lib)
    r = sp.regimen("my_qw", library=lib)
    assert r.events(days=14, library=lib)["DAY"].tolist() == [1, 8]
    assert auc(lib, regimen=r, drug="mydrug") == pytest.approx(3 * 10 / 5.0, rel=1e-6)  # days 1, 8, 15
    # the default library does not see them
    expect_model_error(sp.regimen, "my_qw", field="regimen", contains=["my_qw"])
    expect_model_error(sp.drug, "mydrug", field="drug", contains=["mydrug"])


def test_override_changes_a_preset():
    lib = sp.Library().override({"regimens": {"xd_80_qw": {"blocks": [
        {"cycle_days": 28, "doses": [{"drug": "selinexor", "amount": 70, "weekdays": [1]}]}]}}})
    ev = sp.regimen("xd_80_qw", library=lib).events(days=7, library=lib)
    assert ev["AMT"].tolist() == [70.0]


def test_set_library(tmp_path):
    before = sp.get_library()
    try:
        sp.set_library({"drugs": {"selinexor": {"params": {"CL": {"value": 35.8}}}}})
        assert auc() == pytest.approx(80 / 35.8, rel=1e-6)
        assert sp.drug("selinexor")["params"]["CL"]["value"] == 35.8
    finally:
        sp.set_library(before)
    assert sp.get_library() is before
    assert auc() == pytest.approx(80 / 17.9, rel=1e-6)


def test_overrides_stack():
    lib = (sp.Library()
           .override({"drugs": {"selinexor": {"params": {"CL": {"value": 20.0}}}}})
           .override({"drugs": {"selinexor": {"params": {"Vc": {"value": 90.0}}}}}))
    p = lib.drug("selinexor")["params"]
    assert p["CL"]["value"] == 20.0 and p["Vc"]["value"] == 90.0


def test_params_override_on_top_of_library():
    lib = sp.Library().override({"drugs": {"selinexor": {"params": {"CL": {"value": 20.0}}}}})
    assert auc(lib, params={"selinexor": {"CL": 40.0}}) == pytest.approx(2.0, rel=1e-6)


# --- unknown keys and impossible values are rejected ----------------------------------------------

@pytest.mark.parametrize("over, field, contains", [
    ({"drugz": {}}, "library.drugz", ["unknown key", "drugs"]),
    ({"drugs": {"selinexor": {"params": {"CLX": {"value": 1.0, "source": "x"}}}}},
     "drugs.selinexor.params.CLX", ["CLX"]),
    ({"drugs": {"selinexor": {"params": {"Q2": {"value": 1.0}}}}}, "drugs.selinexor.params.Q2", ["Q2"]),
    ({"drugs": {"selinexor": {"params": {"CL": {"valu": 1.0}}}}}, "library.drugs.selinexor.params.CL.valu", ["value"]),
    ({"drugs": {"selinexor": {"colour": "red"}}}, "library.drugs.selinexor.colour", ["unknown key"]),
    ({"platelets": {"MMT": {"value": 130.0}}}, "platelets.MMT", ["MMT"]),
    ({"friberg": {"slop": {"value": 1.0}}}, "friberg.slop", ["slop"]),
    ({"regimens": {"mine": {"blocks": [{"cycle_days": 7, "doses": [
        {"drug": "selinexor", "amount": 80, "dayz": [1]}]}]}}}, "library.regimens.mine.blocks[0].doses[0].dayz", ["unknown key", "days"]),
    ({"drugs": {"selinexor": {"iiv": {"Vmax": 0.3}}}}, "drugs.selinexor.iiv.Vmax", ["Vmax"]),
    ({"drugs": {"selinexor": {"covariates": [{"param": "CL", "covariate": "HEIGHT", "reference": 170,
                                              "exponent": 1}]}}}, None, ["HEIGHT"]),
])
def test_unknown_keys_rejected(over, field, contains):
    expect_model_error(sp.Library().override, over, field=field, contains=contains)


def test_unknown_keys_rejected_from_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[drugs.selinexor.params]\nCLX = { value = 35.8 }\n")
    expect_model_error(sp.Library().override, path, field="drugs.selinexor.params.CLX", contains=["CLX"])
    path.write_text("[drugs.selinexor.params]\nCL = { value = 35.8 \n")
    expect_model_error(sp.Library().override, path, field="library", contains=["TOML"])


@pytest.mark.parametrize("over, field, contains", [
    ({"drugs": {"selinexor": {"params": {"CL": {"value": -17.9}}}}}, "drugs.selinexor.params.CL", ["-17.9"]),
    ({"drugs": {"selinexor": {"params": {"Vc": {"value": -85.0}}}}}, "drugs.selinexor.params.Vc", ["-85"]),
    ({"drugs": {"bortezomib": {"params": {"Vp2": {"value": -1.0}}}}}, "drugs.bortezomib.params.Vp2", ["-1"]),
    ({"drugs": {"selinexor": {"params": {"CL": {"value": "fast"}}}}}, "library.drugs.selinexor.params.CL.value", ["fast", "a number"]),
    ({"drugs": {"selinexor": {"compartments": 4}}}, "drugs.selinexor.compartments", ["4"]),
    ({"drugs": {"selinexor": {"iiv": {"CL": -0.3}}}}, "drugs.selinexor.iiv.CL", ["-0.3"]),
    ({"regimens": {"mine": {"blocks": [{"cycle_days": 28, "doses": [
        {"drug": "selinexor", "amount": 80, "days": [29]}]}]}}}, None, ["29"]),
    ({"regimens": {"mine": {"blocks": [{"cycle_days": 28, "doses": [
        {"drug": "foo", "amount": 80, "days": [1]}]}]}}}, None, ["foo"]),
    ({"regimens": {"mine": {"blocks": [{"cycle_days": 28, "doses": [
        {"drug": "selinexor", "amount": -80, "days": [1]}]}]}}}, None, ["amount", "-80"]),
])
def test_impossible_values_rejected(over, field, contains):
    expect_model_error(sp.Library().override, over, field=field, contains=contains)


@pytest.mark.parametrize("param, value", [("kon", -1.0), ("MTT", 0.0), ("Imax", 1.5), ("fP", 1.0)])
def test_impossible_platelet_values_rejected_by_simulate(param, value):
    lib = sp.Library().override({"platelets": {param: {"value": value}}})
    expect_model_error(sp.simulate, "xd_80_qw", days=7, library=lib, field_endswith=param, contains=[param])


def test_zero_volume_in_library_rejected_by_simulate():
    lib = sp.Library().override({"drugs": {"selinexor": {"params": {"Vc": {"value": 0.0}}}}})
    expect_model_error(sp.simulate, "xd_80_qw", days=7, library=lib, platelet_model="none",
                       field_endswith="Vc", contains=["Vc", "0"])


def test_nan_in_library_override_names_field():
    expect_model_error(sp.Library().override, {"drugs": {"selinexor": {"params": {"CL": {"value": float("nan")}}}}},
                       field_endswith="CL.value", contains=["CL", "nan"])
