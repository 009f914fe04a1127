"""The clauses each synthetic firm applies for, as the generator draws them.

A firm applies for most clauses whose conditions it meets (92%) and, now and then, for one it
does not meet (1%), so that every clause has applicants and a few claims are refused. The
conditions are the documents' own, read from the firm's drawn figures: output growth, volumes,
exports, electricity, investment, fees and the sector a clause addresses.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.firms import CLAUSES_2025, CLAUSES_2026

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Columns = Mapping[str, npt.ArrayLike]


def draw_applications(
    rng: np.random.Generator,
    firm: Columns,
    more: Mapping[str, npt.NDArray[np.int64] | BoolArray],
    ind: Mapping[str, BoolArray],
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """The clauses of the 2025 and of the 2026 document each firm applies for, as ``1;3``.

    Parameters
    ----------
    rng:
        The generator's random stream; two draws are taken from it.
    firm:
        The firm's columns by field name (exports unrounded).
    more:
        What the columns do not show: ``cohort`` (0 established, 1 recent, 2 new in 2025,
        3 new in 2026), and who is a ``light_exporter``, ``traditional`` maker, ``luosifen``
        maker, ``battery_maker``, ``mould_maker`` and ``key_metal`` firm.
    ind:
        Whether each firm is in each industry, by industry code.
    """
    col = {name: np.asarray(values) for name, values in firm.items()}
    n = len(col["above_scale"])
    above_scale, manufacturing = col["above_scale"], col["manufacturing"]
    out23, out24, out25, out26 = (col[f"output_{y}q1"] for y in (2023, 2024, 2025, 2026))
    rev25q1, rev26q1 = col["revenue_2025q1"], col["revenue_2026q1"]
    revenue_2025, first_time = col["revenue_2025"], col["first_time_reporting"]
    maker, cm = col["vehicle_maker"], col["construction_machinery"]
    pv, cv = col["passenger_vehicles_2025q1"], col["commercial_vehicles_2025q1"]
    nev25, nev26 = col["icv_nev_2025q1"], col["icv_nev_2026q1"]
    steel, steel_normative = ind["steel"], col["steel_normative"]
    s24, s25 = col["special_steel_share_2024q1"], col["special_steel_share_2025q1"]
    export24, export25 = col["export_2024q1"], col["export_2025q1"]
    machinery_parts = col["machinery_parts"]
    booth25, booth26 = col["booth_fee_2025q1"], col["booth_fee_2026q1"]
    launch26 = col["launch_event_fee_2026q1"]
    oem24, oem25, oem26 = (col[f"oem_sales_{y}q1"] for y in (2024, 2025, 2026))
    sc25, sc26 = col["sales_co_sales_2025q1"], col["sales_co_sales_2026q1"]
    loan, loan25, loan26 = (
        col["loan_listed"], col["loan_interest_2025q1"], col["loan_interest_2026q1"]
    )  # fmt: skip
    two_high, continuous = col["two_high"], col["continuous_process"]
    power_25, power_26 = col["power_2025_0128_0212"], col["power_2026_0216_0303"]
    power_q4, power_feb = col["power_2025q4"], col["power_2026_02"]
    inv25, inv26 = col["investment_2025q1"], col["investment_2026q1"]
    compliant, gov_platform = col["project_compliant"], col["gov_platform"]
    accepted, ai_units = col["project_accepted_2026q1"], col["ai_units_2026q1"]
    ne_equipment, parts_validated = col["ne_equipment_2026q1"], col["parts_validated_2025q1"]
    ne24, ne25 = col["ne_machine_sales_2024q1"], col["ne_machine_sales_2025q1"]
    cells25, cells26 = col["battery_cells_2025q1"], col["battery_cells_2026q1"]
    mould25, mould26 = col["mould_output_2025q1"], col["mould_output_2026q1"]
    shale_gas, shale_products = col["shale_gas_2026q1"], col["shale_gas_products_2026q1"]
    vol24, vol25, vol26 = (col[f"product_volume_{y}q1"] for y in (2024, 2025, 2026))
    parcels24, parcels25 = col["parcels_2024q1"], col["parcels_2025q1"]
    cohort, light_exporter = more["cohort"], more["light_exporter"]
    traditional, luosifen = more["traditional"], more["luosifen"]
    cells, mould_maker, key_metal = more["battery_maker"], more["mould_maker"], more["key_metal"]

    def grew_by(new: FloatArray, old: FloatArray, rate: float = 0.0) -> BoolArray:
        with np.errstate(invalid="ignore"):
            return (old > 0) & (new > old * (1 + rate))

    mfg = above_scale & manufacturing
    parts_exporter = ind["auto_parts"] | machinery_parts
    with np.errstate(invalid="ignore"):
        g_24 = out24 / out23 - 1
        g_25 = out25 / out24 - 1
        g_26 = out26 / out25 - 1
        q = {
            "1": mfg & (g_24 > 0) & (g_25 >= 0.05),
            "2": mfg & (g_24 < 0) & (g_25 > 0),
            "3": mfg & (cohort == 2) & (out25 >= 1000),
            "4": maker & ((pv >= 150000) | (cv >= 7000)),
            "5": steel & (s25 > 40) & (s25 > s24),
            "10": above_scale
            & (export25 > export24)
            & ((parts_exporter & (export25 >= 1000)) | (light_exporter & (export25 >= 500))),
            "11": above_scale & (booth25 > 0),
            "12": grew_by(oem25, oem24, 0.08),
            "13": loan & (loan25 > 0),
            "1.1": above_scale & (out26 >= 500) & ~two_high & (power_26 > power_25),
            "1.2": above_scale
            & (out26 >= 500)
            & ~continuous
            & (power_feb / 28 >= 0.9 * power_q4 / 92),
            "2.1": above_scale & (g_25 > 0) & (g_26 >= 0.05),
            "2.2": above_scale & (g_25 < 0) & (g_26 > 0),
            "2.3": above_scale & np.isnan(out24) & (out26 >= 1000),
            "3.1": accepted & ind["ai_robotics"]
            | (ind["ai_robotics"] & above_scale & (ai_units > 0)),
            "3.2": maker & above_scale & (nev26 > nev25),
            "3.3": (steel_normative & above_scale) | key_metal,
            "3.4": ind["machinery"] & above_scale & (ne_equipment > 0),
            "3.5": accepted & ind["low_altitude"],
            "3.6": cells & above_scale & (cells26 > cells25),
            "3.12": mould_maker & ind["mould"] & above_scale & (mould26 > mould25),
            "3.8": (shale_gas > 0) | (shale_products > 0),
            "4.1": (inv26 >= 2000) & compliant,
            "5.1": (booth26 > 0) | (launch26 > 0),
            "5.2": grew_by(oem26, oem25, 0.08),
        }
        # "6", "7" and "8" are clauses of both documents, each its own: one column per document.
        q25 = {
            "6": (cm & (ne25 > 500) & (ne25 > ne24)) | (parts_validated > 0),
            "7": (traditional & above_scale & (g_25 > 0) & (vol25 > vol24 * 1.1))
            | (luosifen & above_scale & (g_25 > 0) & (parcels25 > parcels24)),
            "8": (inv25 >= 2000) & compliant & ~gov_platform,
        }
        q26 = {
            "6": grew_by(sc26, sc25),
            "7": loan & (loan26 > 0),
            "8": first_time & (revenue_2025 >= 2000),
        }
        sector_up = above_scale & (g_26 > 0) & ((vol26 > vol25) | (rev26q1 > rev25q1))
    for cid, sector in (("3.7", "green_food"), ("3.9", "chemical"), ("3.10", "biomedicine"),
                        ("3.11", "forestry_paper")):  # fmt: skip
        q[cid] = ind[sector] & sector_up
    ids = list(dict.fromkeys(CLAUSES_2025 + CLAUSES_2026))
    applies = rng.random((n, len(ids))) < 0.92
    stray = rng.random((n, len(ids))) < 0.01

    def listed(
        clauses: tuple[str, ...], qualifies: dict[str, BoolArray]
    ) -> npt.NDArray[np.object_]:
        cells = np.full(n, "", dtype=object)
        for cid in clauses:
            j = ids.index(cid)
            take = (qualifies.get(cid, np.zeros(n, dtype=bool)) & applies[:, j]) | stray[:, j]
            cells = np.where(take, cells + cid + ";", cells)
        return pd.Series(cells, dtype=object).str.rstrip(";").to_numpy(dtype=object)

    return listed(CLAUSES_2025, {**q, **q25}), listed(CLAUSES_2026, {**q, **q26})


__all__ = ["draw_applications"]
