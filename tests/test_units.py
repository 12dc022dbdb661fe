"""Tests of analysis.units: conversion factors, canonical units and refusals."""

from importlib import resources

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.units import (
    CANONICAL_UNITS,
    MOLAR_MASS,
    canonical_unit,
    conversion_factor,
    convert_unit,
)

CONTRACT = yaml.safe_load(
    resources.files("analysis").joinpath("schema/raw_tables.yaml").read_text(encoding="utf-8")
)


def test_testosterone_factor_is_the_clinical_0_0347():
    # 1 ng/dL = 1e-8 g/L; / 288.42 g/mol = 3.467e-11 mol/L = 0.03467 nmol/L.
    factor = conversion_factor("ng/dL", "nmol/L", "testosterone")
    assert factor == pytest.approx(1e-8 / 288.42 / 1e-9, rel=1e-12)
    assert round(factor, 4) == 0.0347
    assert 1 / factor == pytest.approx(28.84, abs=0.005)


def test_estradiol_factor_is_the_clinical_3_671():
    factor = conversion_factor("pg/mL", "pmol/L", "estradiol")
    assert round(factor, 3) == 3.671
    assert MOLAR_MASS["estradiol"] == 272.38


def test_testosterone_in_ng_per_ml_is_a_hundred_ng_per_dl():
    assert conversion_factor("ng/mL", "ng/dL", "testosterone") == pytest.approx(100.0)
    result = convert_unit(3.0, "ng/mL", "nmol/L", "testosterone")
    assert result.value == pytest.approx(300 * 0.0346717, rel=1e-5)


def test_conversion_records_factor_and_molar_mass_for_the_ledger():
    result = convert_unit([300.0, np.nan], "ng/dL", "nmol/L", "testosterone")
    assert result.assumptions["factor"] == pytest.approx(0.0346717, rel=1e-5)
    assert result.assumptions["molar_mass_g_per_mol"] == 288.42
    assert result.value[0] == pytest.approx(10.4015, rel=1e-4)
    assert np.isnan(result.value[1])
    assert "288.42" in result.reference


def test_mass_to_mass_conversion_does_not_involve_molar_mass():
    result = convert_unit(25.0, "pg/mL", "ng/dL", "estradiol")
    assert "molar_mass_g_per_mol" not in result.assumptions
    assert result.value == pytest.approx(2.5)


def test_bmd_in_g_per_cm2_is_identity():
    result = convert_unit(0.954, "g/cm2", "g/cm2", "bmd_lumbar_spine")
    assert result.value == 0.954
    assert result.assumptions["factor"] == 1.0


def test_volumetric_bmd_mg_per_cm3_to_g_per_cm3():
    assert conversion_factor("mg/cm3", "g/cm3", "vbmd_trabecular_spine") == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("g/cm2", "z-score", "bmd_lumbar_spine"), r"to_unit: 'z-score' is not a unit of"),
        (("ng/dL", "g/cm2", "testosterone"), r"to_unit: 'g/cm2' is not a unit of 'testosterone'"),
        (("mg/dL", "nmol/L", "testosterone"), r"from_unit: 'mg/dL' is not a unit"),
        (("ng/dL", "nmol/L", "cortisol"), r"analyte: 'cortisol' has no unit table"),
    ],
)
def test_unknown_analyte_or_unit_pairs_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        convert_unit(1.0, *args)


def test_non_numeric_value_is_refused():
    with pytest.raises(ValueError, match=r"value: 'high' is not numeric"):
        convert_unit("high", "pg/mL", "pmol/L", "estradiol")


def test_canonical_units_are_contract_units_for_contract_outcomes():
    units = set(CONTRACT["vocabularies"]["unit"])
    outcomes = set(CONTRACT["vocabularies"]["outcome"])
    assert set(CANONICAL_UNITS) <= outcomes
    assert set(CANONICAL_UNITS.values()) <= units
    assert canonical_unit("testosterone") == "nmol/L"
    assert canonical_unit("estradiol") == "pmol/L"
    assert canonical_unit("bmd_femoral_neck") == "g/cm2"


units_t = st.sampled_from(["ng/dL", "ng/mL", "nmol/L", "pmol/L", "pg/mL", "ug/L"])


@settings(max_examples=100, deadline=None)
@given(a=units_t, b=units_t, analyte=st.sampled_from(["testosterone", "estradiol"]))
def test_converting_there_and_back_returns_the_value(a, b, analyte):
    there = convert_unit(12.5, a, b, analyte).value
    assert convert_unit(there, b, a, analyte).value == pytest.approx(12.5, rel=1e-12)
