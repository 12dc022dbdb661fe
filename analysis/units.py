"""Units of the hormone and bone outcomes, and conversion between them.

Every conversion is a multiplication by a factor, and :func:`convert_unit` returns a
:class:`~analysis.conversions.Derived` that carries the factor (and, between mass and molar
units, the molar mass used), so the derivation ledger shows how a value was rescaled.

Unit strings are those of the ``unit`` vocabulary in ``analysis/schema/raw_tables.yaml``;
analytes are outcome codes of the ``outcome`` vocabulary (``"testosterone"``,
``"estradiol"``, ``"bmd_lumbar_spine"`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

from analysis.conversions import Derived

__all__ = [
    "CANONICAL_UNITS",
    "MOLAR_MASS",
    "canonical_unit",
    "conversion_factor",
    "convert_unit",
]

#: Molar masses in g/mol (PubChem: testosterone C19H28O2 CID 6013; estradiol C18H24O2
#: CID 5757). They give the usual clinical factors: testosterone 1 ng/dL = 0.0347 nmol/L
#: (1 nmol/L = 28.84 ng/dL), estradiol 1 pg/mL = 3.671 pmol/L.
MOLAR_MASS: Mapping[str, float] = MappingProxyType({"testosterone": 288.42, "estradiol": 272.38})

# Mass concentrations in g/L and amount concentrations in mol/L per unit.
_MASS = {"pg/mL": 1e-9, "ng/dL": 1e-8, "ng/mL": 1e-6, "ug/L": 1e-6}
_MOLAR = {"pmol/L": 1e-12, "nmol/L": 1e-9}
# Volumetric BMD in g/cm3 per unit.
_DENSITY = {"g/cm3": 1.0, "mg/cm3": 1e-3}

_AREAL_BMD = (
    "bmd_lumbar_spine",
    "bmd_femoral_neck",
    "bmd_total_hip",
    "bmd_trochanter",
    "bmd_total_body",
    "bmd_radius",
)
_VOLUMETRIC_BMD = ("vbmd_trabecular_spine", "vbmd_spine", "vbmd_trabecular_radius")

#: Canonical unit of each analyte, and the units each can be converted from.
CANONICAL_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "testosterone": "nmol/L",
        "estradiol": "pmol/L",
        **dict.fromkeys(_AREAL_BMD, "g/cm2"),
        **dict.fromkeys(_VOLUMETRIC_BMD, "mg/cm3"),
        "bmc_total_body": "g",
        "shbg": "nmol/L",
        "lh": "IU/L",
        "fsh": "IU/L",
        "height": "cm",
        "bone_age": "years",
    }
)

_ALLOWED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "testosterone": (*_MASS, *_MOLAR),
        "estradiol": (*_MASS, *_MOLAR),
        **dict.fromkeys(_AREAL_BMD, ("g/cm2",)),
        **dict.fromkeys(_VOLUMETRIC_BMD, tuple(_DENSITY)),
        "bmc_total_body": ("g",),
        "shbg": ("nmol/L",),
        # For LH and FSH the international unit and the unit are used interchangeably.
        "lh": ("IU/L", "U/L"),
        "fsh": ("IU/L", "U/L"),
        "height": ("cm",),
        "bone_age": ("years",),
    }
)

_REFERENCE_MOLAR = (
    "SI conversion via molar mass (PubChem: testosterone 288.42 g/mol, estradiol 272.38 g/mol); "
    "cf. Young DS, Ann Intern Med 1987;106:114-129 (SI units for clinical measurements)"
)
_REFERENCE_SCALE = "Metric prefixes (SI brochure, 9th edition, 2019)"


def canonical_unit(analyte: str) -> str:
    """The canonical unit of ``analyte`` (e.g. ``"nmol/L"`` for testosterone).

    Raises
    ------
    ValueError
        If the analyte has no canonical unit here.
    """
    _check_analyte(analyte)
    return CANONICAL_UNITS[analyte]


def conversion_factor(from_unit: str, to_unit: str, analyte: str) -> float:
    """Factor f such that ``value_in_to_unit = f * value_in_from_unit``.

    Parameters
    ----------
    from_unit, to_unit : str
        Units as spelled in the data contract (``"ng/dL"``, ``"nmol/L"``, ``"pg/mL"`` ...).
    analyte : str
        Outcome code; needed because mass <-> molar conversion depends on the molar mass.

    Returns
    -------
    float
        The factor; 1.0 when the units are the same.

    Raises
    ------
    ValueError
        Unknown analyte, or a unit not used for that analyte (for example BMD in g/cm2
        versus a z-score, which no factor converts).

    Notes
    -----
    Mass to molar concentration: ``c_mol = c_mass / M``. Testosterone (M = 288.42 g/mol):
    1 ng/dL = 1e-8 g/L / 288.42 g/mol = 0.034671 nmol/L, i.e. 1 nmol/L = 28.842 ng/dL.
    Estradiol (M = 272.38 g/mol): 1 pg/mL = 1e-9 g/L / 272.38 g/mol = 3.6713 pmol/L.
    """
    _check_analyte(analyte)
    allowed = _ALLOWED[analyte]
    for name, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        if unit not in allowed:
            raise ValueError(
                f"{name}: {unit!r} is not a unit of {analyte!r} that can be converted; "
                f"known units: {', '.join(allowed)}"
            )
    if from_unit == to_unit:
        return 1.0
    return _to_base(from_unit, analyte) / _to_base(to_unit, analyte)


def convert_unit(value: ArrayLike, from_unit: str, to_unit: str, analyte: str) -> Derived:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` for ``analyte``.

    Parameters
    ----------
    value : array_like
        Value(s) in ``from_unit``; NaN passes through.
    from_unit, to_unit : str
        Units as spelled in the data contract.
    analyte : str
        Outcome code (``"testosterone"``, ``"estradiol"``, ``"bmd_lumbar_spine"`` ...).

    Returns
    -------
    Derived
        ``value`` in ``to_unit``; ``assumptions`` hold ``from_unit``, ``to_unit``,
        ``factor`` and, for mass <-> molar conversions, ``molar_mass_g_per_mol``.

    Raises
    ------
    ValueError
        As :func:`conversion_factor`, or a non-numeric value.

    Notes
    -----
    The factor multiplies means, SDs, SEs and CI limits alike (all conversions are linear
    and through zero), but it does not apply to percent changes, which have no unit.

    References
    ----------
    Young, D. S. (1987). Implementation of SI units for clinical laboratory data. Annals of
    Internal Medicine, 106(1), 114-129.
    """
    factor = conversion_factor(from_unit, to_unit, analyte)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"value: {value!r} is not numeric") from err
    assumptions: dict[str, object] = {
        "from_unit": from_unit,
        "to_unit": to_unit,
        "factor": factor,
        "analyte": analyte,
    }
    crosses = (from_unit in _MASS) != (to_unit in _MASS)
    if crosses:
        assumptions["molar_mass_g_per_mol"] = MOLAR_MASS[analyte]
    converted = arr * factor
    return Derived(
        value=float(converted) if converted.ndim == 0 else converted,
        method=f"convert_unit: {from_unit} -> {to_unit} (x {factor:.6g})",
        assumptions=assumptions,
        reference=_REFERENCE_MOLAR if crosses else _REFERENCE_SCALE,
    )


def _check_analyte(analyte: str) -> None:
    if analyte not in _ALLOWED:
        raise ValueError(
            f"analyte: {analyte!r} has no unit table; known analytes: {', '.join(sorted(_ALLOWED))}"
        )


def _to_base(unit: str, analyte: str) -> float:
    """Size of one ``unit`` in the analyte's base unit (mol/L, g/cm3 or the unit itself)."""
    if unit in _MOLAR:
        return _MOLAR[unit]
    if unit in _MASS:
        return _MASS[unit] / MOLAR_MASS[analyte]
    if unit in _DENSITY:
        return _DENSITY[unit]
    return 1.0  # IU/L and U/L: the same unit under two names
