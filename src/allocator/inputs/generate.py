"""A synthetic population of Liuzhou industrial firms, for trying out policies and scenarios.

Every firm is invented: names carry the marker （模拟）, credit codes are valid but drawn at
random, and the numbers only have the shape of a real city's: firms spread over the twelve
counties, districts and new zones (柳东新区, 柳南区, 柳北区, 柳江区 and 鱼峰区 heavy, the
counties lighter); industries in plausible shares (automotive parts and machinery many, steel
few but huge, luosifen many and small); log-normal output values with growth correlated from
2023 to 2026 Q1; electricity consistent with output and industry; exports, OEM sales,
volumes and flags only where the industry has them (vehicle makers are automotive, special
steel shares belong to steel, parcels to luosifen, battery cells to new energy).

The population is built so that every award clause of the two policy documents has firms
that qualify: a fixed share of each group that a clause addresses is drawn to meet the
clause's conditions (see ``quota``), so a sample of 1,500 firms has at least ten eligible
firms for every clause and every chemical-park and district award has recipients.

Only :class:`numpy.random.Generator` draws are used, in a fixed order, over whole arrays:
the same ``n`` and ``seed`` give the same frame and the same file bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs import creditcode
from allocator.inputs.firms import (
    DISTRICT_WEIGHTS,
    INDUSTRY,
    PARKS,
    apportion,
    draw_days,
    draw_district,
    draw_names,
    lift,
    lognormal,
    quota,
)
from allocator.inputs.generate_applications import draw_applications
from allocator.inputs.schema import FIELDS, PROVINCIAL_TYPES, Kind

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]


def generate_population(n: int, seed: int) -> pd.DataFrame:
    """Draw ``n`` synthetic Liuzhou firms.

    Parameters
    ----------
    n:
        Number of firms (at least 1).
    seed:
        Seed of the :class:`numpy.random.Generator`; the same ``n`` and ``seed`` give the
        same frame.

    Returns
    -------
    pandas.DataFrame
        One row per firm and one column per schema field, with the dtypes
        :func:`allocator.inputs.data.load_enterprises` produces, and values already rounded as the
        file will hold them (so that the frame loads back unchanged).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)

    # --- who and where ----------------------------------------------------------------------
    codes = list(INDUSTRY)
    counts = apportion([INDUSTRY[c].share for c in codes], n)
    industry = rng.permutation(np.repeat(np.array(codes), counts)).astype(str)
    ind = {c: industry == c for c in codes}
    district = draw_district(rng, industry, n)

    # Chemical firms (and a few neighbours of theirs) sit in the parks; the park fixes the
    # district, and its ratings are repeated on each of its firms.
    in_park = ind["chemical"] & (rng.random(n) < 0.85)
    in_park |= (ind["daily_chemical"] | ind["new_energy"] | ind["biomedicine"]) & (
        rng.random(n) < 0.1
    )
    park_idx = np.full(n, -1, dtype=np.int64)
    members = np.flatnonzero(in_park)
    park_counts = apportion([p[4] for p in PARKS], members.size)
    park_idx[members] = rng.permutation(np.repeat(np.arange(len(PARKS)), park_counts))
    park_name = np.array([p[0] for p in PARKS] + [""], dtype=object)[park_idx]
    district = np.where(
        in_park, np.array([p[1] for p in PARKS] + [""], dtype=object)[park_idx], district
    ).astype(str)
    park_smart = np.array([p[2] for p in PARKS] + [False])[park_idx] & in_park
    park_grade = np.where(
        in_park, np.array([p[3] for p in PARKS] + [0], dtype=np.float64)[park_idx], np.nan
    )
    park_grade[park_grade == 0] = np.nan

    # --- when they started producing ----------------------------------------------------------
    # established: before 2023; recent: 2023-01..2024-03 (no Q1 2023 output); new_2025:
    # 2024-04..2025-03 (2025 （三）); new_2026: 2025-04..2026-03 (only Q1 2026 output).
    cohort = rng.choice(4, size=n, p=[0.88, 0.03, 0.06, 0.03])
    for c in ("auto_vehicle", "steel", "utilities"):
        cohort[ind[c]] = 0
    # The big plants have reported for years; the newly reporting (上规入统) are smaller.
    settled = ind["auto_vehicle"] | ind["steel"] | ind["utilities"]
    first_time = (cohort == 0) & ~settled & (rng.random(n) < 0.035)
    start = np.where(
        cohort == 0,
        draw_days("1988-01-01", "2022-12-31", rng, n),
        np.where(
            cohort == 1,
            draw_days("2023-01-01", "2024-03-31", rng, n),
            np.where(
                cohort == 2,
                draw_days("2024-04-01", "2025-03-31", rng, n),
                draw_days("2025-04-01", "2026-02-28", rng, n),
            ),
        ),
    )
    start_known = (cohort > 0) | (rng.random(n) < 0.85)

    # --- scale and growth --------------------------------------------------------------------
    medians = np.array([INDUSTRY[c].median for c in codes])
    sigmas = np.array([INDUSTRY[c].sigma for c in codes])
    mus = np.array([INDUSTRY[c].growth for c in codes])
    k = np.zeros(n, dtype=np.int64)
    for i, c in enumerate(codes):
        k[ind[c]] = i
    scale = medians[k] * np.exp(sigmas[k] * rng.standard_normal(n))
    below = (rng.random(n) < 0.1) & (cohort == 0) & ~first_time & ~settled
    scale[below] = rng.uniform(80, 480, below.sum())
    scale[first_time] = rng.uniform(380, 1400, first_time.sum())
    new_big = quota(rng, cohort >= 2, 0.65)
    scale[new_big] = np.maximum(scale[new_big], rng.uniform(1000, 9000, new_big.sum()))

    growth_mu = mus[k]
    g24 = growth_mu + 0.15 * rng.standard_normal(n)
    g25 = growth_mu + 0.35 * (g24 - growth_mu) + 0.14 * rng.standard_normal(n)
    g26 = growth_mu + 0.35 * (g25 - growth_mu) + 0.14 * rng.standard_normal(n)

    # --- vehicles (2025 （四）, 2026 三（二）) ---------------------------------------------
    maker = ind["auto_vehicle"] & (rng.random(n) < 0.9)
    passenger = maker & (rng.random(n) < 0.6)
    commercial = maker & ~passenger
    big = quota(rng, maker, 0.7)
    pv = np.full(n, np.nan)
    cv = np.full(n, np.nan)
    pv[passenger] = np.where(
        big[passenger],
        150000 * np.exp(np.abs(0.5 * rng.standard_normal(passenger.sum()))),
        rng.uniform(20000, 148000, passenger.sum()),
    )
    cv[commercial] = np.where(
        big[commercial],
        7000 * np.exp(np.abs(0.5 * rng.standard_normal(commercial.sum()))),
        rng.uniform(800, 6900, commercial.sum()),
    )
    pv, cv = np.round(pv), np.round(cv)
    # Makers' output follows their volumes: 4–7万元 a car (the city makes small, cheap
    # cars), 15–25万元 a commercial vehicle.
    scale[passenger] = pv[passenger] * rng.uniform(4, 7, passenger.sum())
    scale[commercial] = cv[commercial] * rng.uniform(15, 25, commercial.sum())
    other_vehicle = ind["auto_vehicle"] & ~maker
    scale[other_vehicle] = rng.uniform(3000, 30000, other_vehicle.sum())
    nev_up = quota(rng, maker, 0.8)
    nev25 = np.where(maker, np.nan_to_num(pv) + np.nan_to_num(cv), np.nan) * rng.uniform(
        0.2, 0.7, n
    )
    nev_g = np.where(nev_up, rng.uniform(0.05, 0.6, n), rng.uniform(-0.3, 0.0, n))
    nev25 = np.round(nev25)
    nev26 = np.round(nev25 * (1 + nev_g))
    nev26[nev_up & (nev26 <= nev25)] += 1

    # --- construction machinery (2025 （六）) ------------------------------------------------
    cm = ind["machinery"] & (rng.random(n) < 0.3)
    cm_ok = quota(rng, cm, 0.5)
    ne25 = np.full(n, np.nan)
    ne24 = np.full(n, np.nan)
    ne25[cm] = np.where(
        cm_ok[cm], 500 + np.round(lognormal(rng, 300, 0.8, cm.sum())) + 1,
        np.round(rng.uniform(20, 480, cm.sum())),
    )  # fmt: skip
    ne24[cm] = np.round(
        ne25[cm]
        / np.where(cm_ok[cm], rng.uniform(1.05, 1.8, cm.sum()), rng.uniform(0.8, 1.3, cm.sum()))
    )
    ne24[cm_ok] = np.minimum(ne24[cm_ok], ne25[cm_ok] - 1)
    scale[cm_ok] = np.maximum(scale[cm_ok], ne25[cm_ok] * rng.uniform(40, 80, cm_ok.sum()))
    # Key parts moved to domestic supply are validated by the machine makers themselves.
    validator = quota(rng, cm, 0.4) | quota(rng, ind["machinery"] & ~cm, 0.03)
    parts_validated = np.where(validator, 1 + rng.poisson(1.0, n), np.nan).astype(np.float64)
    ne_equipment = np.where(
        ind["machinery"] & (rng.random(n) < 0.35),
        np.round(lognormal(rng, 200, 1.0, n)) + 1,
        np.nan,
    )

    # --- steel and key metals (2025 （五）, 2026 三（三）) ---------------------------------------
    steel = ind["steel"]
    special_ok = quota(rng, steel, 0.75)
    s24 = np.where(special_ok, rng.uniform(36, 55, n), rng.uniform(28, 55, n))
    s24[~steel] = np.nan
    s25 = np.where(
        special_ok, np.maximum(s24, 40) + rng.uniform(0.5, 8, n), s24 - rng.uniform(0, 4, n)
    )
    s24, s25 = np.round(s24, 1), np.minimum(np.round(s25, 1), 95.0)
    steel_normative = quota(rng, steel, 0.8)
    big_steel = quota(rng, steel_normative, 0.75)
    scale[big_steel] = np.maximum(scale[big_steel], rng.uniform(125000, 400000, big_steel.sum()))
    key_metal = ind["nonferrous"] & quota(rng, ind["nonferrous"], 0.4)
    key_metal_assets = np.where(key_metal, np.round(lognormal(rng, 3000, 0.9, n), 2), np.nan)

    # --- traditional products and luosifen (2025 （七）) ----------------------------------------
    main_product = np.full(n, "", dtype=object)
    r = rng.random(n)
    main_product[ind["biomedicine"]] = np.where(r[ind["biomedicine"]] < 0.5, "tcm", "other")
    fp = ind["forestry_paper"]
    main_product[fp] = np.where(
        r[fp] < 0.45, "wood_panel", np.where(r[fp] < 0.7, "furniture", "other")
    )
    li = ind["light_industry"]
    main_product[li] = np.where(r[li] < 0.3, "furniture", "other")
    gf = ind["green_food"]
    main_product[gf] = np.where(r[gf] < 0.65, "luosifen", "other")
    main_product[ind["daily_chemical"]] = "other"
    traditional = np.isin(main_product, ["tcm", "wood_panel", "furniture"]) & (cohort <= 1)
    trad_ok = quota(rng, traditional, 0.4)
    g25[trad_ok] = rng.uniform(0.01, 0.2, trad_ok.sum())
    luosifen = (main_product == "luosifen") & (cohort <= 1)
    luo_ok = quota(rng, luosifen, 0.5)
    g25[luo_ok] = rng.uniform(0.01, 0.3, luo_ok.sum())

    # --- exports (2025 （十）) ------------------------------------------------------------
    heavy_exporter = ind["auto_parts"] | ind["machinery"]
    # 轻工 in the broad sense: furniture and other light goods, food, daily chemicals, paper.
    light_exporter = (
        ind["light_industry"] | ind["green_food"] | ind["daily_chemical"] | ind["forestry_paper"]
    )
    exporter = (heavy_exporter | ind["light_industry"]) & (rng.random(n) < 0.35)
    exporter |= light_exporter & (rng.random(n) < 0.15)
    exporter |= ~(heavy_exporter | light_exporter) & (rng.random(n) < 0.05)
    exporter &= cohort <= 1
    export_ok = quota(rng, exporter & heavy_exporter, 0.35) | quota(
        rng, exporter & light_exporter, 0.35
    )
    export_floor = np.where(heavy_exporter, 1000.0, 500.0)
    export25 = np.where(exporter, scale * rng.uniform(0.05, 0.45, n), np.nan)
    export25[export_ok] = np.maximum(
        export25[export_ok], export_floor[export_ok] * rng.uniform(1.05, 3.0, export_ok.sum())
    )
    scale[export_ok] = np.maximum(
        scale[export_ok], export25[export_ok] * rng.uniform(1.5, 4, export_ok.sum())
    )
    export_g = np.where(export_ok, rng.uniform(0.03, 0.5, n), 0.08 + 0.25 * rng.standard_normal(n))
    export24 = export25 / (1 + np.maximum(export_g, -0.7))

    # --- growth quotas for the 2026 sector clauses and the growth clauses ----------------------
    # 三（六）–（十二）: a share of each sector's firms grew in 2026 Q1.
    for sector in ("green_food", "chemical", "biomedicine", "forestry_paper", "mould", "new_energy",
                   "ai_robotics"):  # fmt: skip
        up = quota(rng, ind[sector] & (cohort <= 2), 0.55)
        g26[up] = rng.uniform(0.06, 0.35, up.sum())
    g24, g25, g26 = (np.clip(g, -0.6, 1.5) for g in (g24, g25, g26))

    # --- output series ----------------------------------------------------------------------
    # ``scale`` is Q1 2025 output; new firms' scale is what they make in their first Q1.
    out25 = scale.copy()
    out26 = scale * (1 + g26)
    out24 = out25 / (1 + g25)
    out23 = out24 / (1 + g24)
    out23[cohort >= 1] = np.nan
    out24[cohort >= 2] = np.nan
    out26[cohort == 3] = scale[cohort == 3]
    out25[cohort == 3] = np.nan
    for series in (out23, out24, out25):
        series[first_time] = np.nan
    out26[first_time] = scale[first_time] * (1 + g26[first_time])
    # Two-thirds of the districts did well each year: their totals grew by 10–14%, above the
    # city's own target of 8.5% (2025 （九）, 2026 四（二） reward such districts).
    places = np.array(list(DISTRICT_WEIGHTS))
    strong25 = rng.choice(places, size=8, replace=False)
    strong26 = rng.choice(places, size=8, replace=False)
    base = lift(district, strong25, out25, out24, rng.uniform(0.10, 0.14, places.size), places)
    out24, out23 = out24 / base, out23 / base
    out26 *= lift(district, strong26, out26, out25, rng.uniform(0.10, 0.14, places.size), places)
    out23, out24, out25, out26 = (np.round(s, 2) for s in (out23, out24, out25, out26))

    rev25q1 = np.round(out25 * rng.uniform(0.85, 1.05, n), 2)
    rev26q1 = np.round(out26 * rng.uniform(0.85, 1.05, n), 2)
    annual_base = np.where(np.isnan(out25), out26, out25)
    revenue_2025 = annual_base * rng.uniform(3.6, 4.6, n)
    revenue_2025[cohort == 3] *= rng.uniform(0.4, 0.9, (cohort == 3).sum())
    ft_ok = quota(rng, first_time, 0.85)
    revenue_2025[first_time] = np.where(
        ft_ok[first_time],
        rng.uniform(2000, 6000, first_time.sum()),
        rng.uniform(1200, 1990, first_time.sum()),
    )
    revenue_2025 = np.round(revenue_2025, 2)
    above_scale = revenue_2025 >= 2000
    above_scale[below] = False
    manufacturing = ~ind["utilities"]
    producer = ind["shale_gas"] & quota(rng, ind["shale_gas"], 0.6)
    manufacturing &= ~producer  # extraction is mining, not manufacturing

    # --- electricity (2026 一（一）（二）) ---------------------------------------------------
    intensity = np.array([INDUSTRY[c].power for c in codes])[k] * np.exp(
        0.25 * rng.standard_normal(n)
    )
    base_q4 = np.where(np.isnan(out26), 0, out26) / (1 + 0.3 * g26) * 1.1
    power_q4 = intensity * base_q4
    continuous = (ind["steel"] & (rng.random(n) < 0.9)) | (
        (ind["nonferrous"] | ind["chemical"]) & (rng.random(n) < 0.6)
    )
    two_high = (ind["steel"] & (rng.random(n) < 0.8)) | (
        (ind["nonferrous"] | ind["chemical"]) & (rng.random(n) < 0.45)
    )
    two_high |= (ind["forestry_paper"] | ind["utilities"]) & (rng.random(n) < 0.2)
    daily_q4 = power_q4 / 92
    feb = np.where(continuous, rng.uniform(0.9, 1.05, n), 0.35 + 0.75 * rng.beta(3, 2, n))
    holiday26 = np.where(continuous, rng.uniform(0.85, 1.0, n), 0.2 + 0.6 * rng.beta(2, 2, n))
    holiday25 = np.where(continuous, rng.uniform(0.85, 1.0, n), 0.2 + 0.6 * rng.beta(2, 2, n))
    power_feb = daily_q4 * 28 * feb
    power_26 = daily_q4 * 16 * holiday26
    power_25 = daily_q4 / (1 + g25.clip(-0.5, 1)) * 16 * holiday25
    power_25[cohort == 3] = np.nan
    power_known = (rng.random(n) < 0.95) & ~np.isnan(out26)
    power_q4, power_feb, power_26, power_25 = (
        np.round(np.where(power_known, p, np.nan), 2)
        for p in (power_q4, power_feb, power_26, power_25)
    )

    # --- investment and projects (2025 （八）（九）, 2026 四) ----------------------------------
    investor25 = (rng.random(n) < 0.18) & (cohort <= 2)
    investor26 = np.where(investor25, rng.random(n) < 0.7, rng.random(n) < 0.1)
    inv25 = np.where(investor25, np.round(lognormal(rng, 1200, 1.2, n), 2), np.nan)
    inv26 = np.where(investor26, np.round(lognormal(rng, 1300, 1.2, n), 2), np.nan)
    inv24 = np.where(
        investor25 & (rng.random(n) < 0.7), np.round(inv25 / rng.uniform(0.9, 1.6, n), 2), np.nan
    )
    inv24 = np.where(
        ~investor25 & (rng.random(n) < 0.05), np.round(lognormal(rng, 900, 1.1, n), 2), inv24
    )
    targets = rng.uniform(0.12, 0.25, places.size)
    inv24 = np.round(inv24 / lift(district, strong25, inv25, inv24, targets, places), 2)
    inv26 = np.round(inv26 * lift(district, strong26, inv26, inv25, targets, places), 2)
    compliant = (investor25 | investor26) & (rng.random(n) < 0.85)
    gov_platform = (rng.random(n) < np.where(ind["utilities"], 0.3, 0.015)) & (cohort <= 1)
    accepted = (ind["ai_robotics"] & quota(rng, ind["ai_robotics"], 0.45)) | (
        ind["low_altitude"] & quota(rng, ind["low_altitude"], 0.6)
    )
    project_scale = np.where(accepted, np.round(lognormal(rng, 8000, 0.9, n), 2), np.nan)
    ai_units = np.where(ind["ai_robotics"], np.round(lognormal(rng, 2000, 1.0, n)) + 1, np.nan)

    # --- markets -----------------------------------------------------------------------------
    booth25 = np.where(
        above_scale & (rng.random(n) < 0.1), np.round(lognormal(rng, 5, 0.8, n), 2), np.nan
    )
    booth26 = np.where(
        above_scale & (rng.random(n) < 0.12), np.round(lognormal(rng, 6, 0.8, n), 2), np.nan
    )
    launch26 = np.where(rng.random(n) < 0.05, np.round(lognormal(rng, 12, 0.8, n), 2), np.nan)
    supplier = (
        (ind["auto_parts"] & (rng.random(n) < 0.7))
        | (ind["mould"] & (rng.random(n) < 0.4))
        | ((ind["machinery"] | ind["new_energy"]) & (rng.random(n) < 0.25))
    ) & (cohort <= 1)
    oem25 = np.where(supplier, np.round(scale * rng.uniform(0.2, 0.8, n), 2), np.nan)
    oem24 = np.round(oem25 / (1 + (0.05 + 0.15 * rng.standard_normal(n)).clip(-0.5, 1)), 2)
    oem26 = np.round(oem25 * (1 + (0.05 + 0.15 * rng.standard_normal(n)).clip(-0.5, 1)), 2)
    sales_co = (rng.random(n) < 0.06) & (cohort <= 2) & ~np.isnan(out25)
    sc25 = np.where(sales_co, np.round(out25 * rng.uniform(0.1, 0.6, n), 2), np.nan)
    sc26 = np.where(
        sales_co, np.round(sc25 * (1 + 0.1 + 0.2 * rng.standard_normal(n)).clip(0.3), 2), np.nan
    )

    # --- finance ------------------------------------------------------------------------------
    loan = rng.random(n) < 0.12
    major = loan & (rng.random(n) < 0.2)
    principal = scale * rng.uniform(0.1, 0.5, n)
    # a quarter's interest at 3–4.5% a year
    loan25 = np.where(
        loan & (cohort <= 2), np.round(principal * rng.uniform(0.0075, 0.0113, n), 2), np.nan
    )
    loan26 = np.where(loan, np.round(principal * rng.uniform(0.0075, 0.0113, n), 2), np.nan)

    # --- sector volumes (2026 三（六）（八）（十二）, 2025 （七）) -----------------------------
    cells = ind["new_energy"] & quota(rng, ind["new_energy"], 0.7)
    cells_up = quota(rng, cells, 0.6)
    cells25 = np.where(cells, np.round(lognormal(rng, 500, 1.0, n), 2), np.nan)
    cells26 = np.round(
        cells25 * np.where(cells_up, rng.uniform(1.05, 1.6, n), rng.uniform(0.7, 1.0, n)), 2
    )
    shale_gas = np.where(producer, np.round(lognormal(rng, 800, 0.8, n), 2), np.nan)
    shale_supplier = (
        (ind["shale_gas"] & ~producer)
        | quota(rng, ind["chemical"], 0.1)
        | quota(rng, ind["machinery"], 0.03)
    )
    shale_products = np.where(
        shale_supplier & ~np.isnan(out26), np.round(out26 * rng.uniform(0.2, 0.9, n), 2), np.nan
    )
    mould_maker = ind["mould"] | (ind["auto_parts"] & (rng.random(n) < 0.1))
    mould_share = np.where(ind["mould"], rng.uniform(0.6, 1.0, n), rng.uniform(0.1, 0.3, n))
    mould25 = np.where(mould_maker, np.round(out25 * mould_share, 2), np.nan)
    mould26 = np.where(
        mould_maker, np.round(out26 * mould_share * (1 + 0.03 * rng.standard_normal(n)), 2), np.nan
    )
    volume_sector = (
        ind["green_food"] | ind["chemical"] | ind["biomedicine"] | ind["forestry_paper"]
        | ind["light_industry"] | ind["daily_chemical"]
    )  # fmt: skip
    per_unit = rng.uniform(0.5, 3.0, n)
    vg25 = g25 + rng.normal(0.02, 0.06, n)
    vg25[trad_ok] = g25[trad_ok] + rng.uniform(0.11, 0.25, trad_ok.sum())
    vg26 = g26 + rng.normal(0.01, 0.06, n)
    vol25 = np.where(volume_sector, np.round(out25 * per_unit, 2), np.nan)
    vol24 = np.round(vol25 / (1 + vg25), 2)
    vol26 = np.where(volume_sector, np.round(vol25 * (1 + vg26), 2), np.nan)
    vol26 = np.where(np.isnan(vol25) & volume_sector, np.round(out26 * per_unit, 2), vol26)
    parcel_sender = main_product == "luosifen"
    pg25 = np.where(luo_ok, rng.uniform(0.02, 0.4, n), g25 + rng.normal(0, 0.08, n))
    parcels25 = np.where(parcel_sender, np.round(out25 * rng.uniform(0.2, 0.8, n), 2), np.nan)
    parcels24 = np.round(parcels25 / (1 + pg25.clip(-0.6)), 2)
    steel_supply = np.where(
        steel_normative, np.round(out26 / 0.4 / 1e4 * rng.uniform(0.2, 0.6, n), 2), np.nan
    )

    # --- provincial awards (2025 （二十）, 2026 十一（三）) ------------------------------------
    grew = g25 >= 0.05
    prov_pools = {
        "growth": grew & above_scale,
        "holiday": ~continuous & above_scale,
        "investment": investor25 | investor26,
        "market": exporter | ~np.isnan(booth25),
        "industry": ind["auto_vehicle"] | ind["steel"] | ind["machinery"] | ind["new_energy"],
    }
    prov_applied = {t: pool & (rng.random(n) < 0.12) for t, pool in prov_pools.items()}
    prov_award = {
        t: np.where(pool & (rng.random(n) < 0.06), np.round(lognormal(rng, 20, 0.8, n)), np.nan)
        for t, pool in prov_pools.items()
    }

    # Parts makers among the machinery firms (2025 （十）: 汽车和机械零部件企业), drawn from a
    # stream of their own so that every other column keeps its values.
    machinery_parts = ind["machinery"] & ~cm & (np.random.default_rng([seed, 10]).random(n) < 0.6)

    # --- assemble -----------------------------------------------------------------------------
    start_dates = np.where(start_known, start, np.datetime64("NaT")).astype("datetime64[ns]")
    values: dict[str, npt.ArrayLike] = {
        "district": district,
        "industry": industry,
        "main_product": main_product,
        "chem_park": park_name,
        "above_scale": above_scale,
        "manufacturing": manufacturing,
        "two_high": two_high,
        "continuous_process": continuous,
        "gov_platform": gov_platform,
        "vehicle_maker": maker,
        "construction_machinery": cm,
        "machinery_parts": machinery_parts,
        "steel_normative": steel_normative,
        "production_start": start_dates,
        "first_time_reporting": first_time,
        "loan_listed": loan,
        "major_project": major,
        "output_2023q1": out23,
        "output_2024q1": out24,
        "output_2025q1": out25,
        "output_2026q1": out26,
        "revenue_2025q1": rev25q1,
        "revenue_2026q1": rev26q1,
        "revenue_2025": revenue_2025,
        "power_2025_0128_0212": power_25,
        "power_2026_0216_0303": power_26,
        "power_2025q4": power_q4,
        "power_2026_02": power_feb,
        "investment_2024q1": inv24,
        "investment_2025q1": inv25,
        "investment_2026q1": inv26,
        "project_compliant": compliant,
        "project_accepted_2026q1": accepted,
        "project_scale": project_scale,
        "key_metal_fixed_assets": key_metal_assets,
        "export_2024q1": np.round(export24, 2),
        "export_2025q1": np.round(export25, 2),
        "booth_fee_2025q1": booth25,
        "booth_fee_2026q1": booth26,
        "launch_event_fee_2026q1": launch26,
        "oem_sales_2024q1": oem24,
        "oem_sales_2025q1": oem25,
        "oem_sales_2026q1": oem26,
        "sales_co_sales_2025q1": sc25,
        "sales_co_sales_2026q1": sc26,
        "passenger_vehicles_2025q1": pv,
        "commercial_vehicles_2025q1": cv,
        "icv_nev_2025q1": nev25,
        "icv_nev_2026q1": nev26,
        "special_steel_share_2024q1": s24,
        "special_steel_share_2025q1": s25,
        "steel_supply_2026q1": steel_supply,
        "ne_machine_sales_2024q1": ne24,
        "ne_machine_sales_2025q1": ne25,
        "parts_validated_2025q1": parts_validated,
        "ne_equipment_2026q1": ne_equipment,
        "battery_cells_2025q1": cells25,
        "battery_cells_2026q1": cells26,
        "ai_units_2026q1": ai_units,
        "shale_gas_2026q1": shale_gas,
        "shale_gas_products_2026q1": shale_products,
        "product_volume_2024q1": vol24,
        "product_volume_2025q1": vol25,
        "product_volume_2026q1": vol26,
        "parcels_2024q1": parcels24,
        "parcels_2025q1": parcels25,
        "mould_output_2025q1": mould25,
        "mould_output_2026q1": mould26,
        "loan_interest_2025q1": loan25,
        "loan_interest_2026q1": loan26,
        "chem_park_smart_upgraded": park_smart,
        "chem_park_grade": park_grade,
        **{f"prov_applied_{t}": prov_applied[t] for t in PROVINCIAL_TYPES},
        **{f"prov_award_{t}": prov_award[t] for t in PROVINCIAL_TYPES},
        "applied_clauses": np.full(n, "", dtype=object),
    }
    # Drawn in this order (applications, names, credit codes), so that a seed gives the same
    # firms as it always has.
    unrounded = {"export_2024q1": export24, "export_2025q1": export25}
    more = {"cohort": cohort, "light_exporter": light_exporter, "traditional": traditional,
            "luosifen": luosifen, "battery_maker": cells, "mould_maker": mould_maker,
            "key_metal": key_metal}  # fmt: skip
    applied = draw_applications(rng, {**values, **unrounded}, more, ind)
    values["applied_clauses_2025q1"], values["applied_clauses_2026q1"] = applied
    values["name"] = draw_names(rng, industry)
    values["credit_code"] = creditcode.generate(district, rng)
    return _typed_frame(values, n)


def _typed_frame(values: dict[str, npt.ArrayLike], n: int) -> pd.DataFrame:
    """Arrange columns in schema order with the loader's dtypes."""
    missing = [f.name for f in FIELDS if f.name not in values]
    if missing:
        raise AssertionError(f"the generator does not fill {missing}")
    data: dict[str, npt.NDArray[Any]] = {}
    for f in FIELDS:
        v = np.asarray(values[f.name])
        if f.kind in (Kind.TEXT, Kind.CATEGORY, Kind.LIST):
            data[f.name] = v.astype(str).astype(object)
        elif f.kind is Kind.BOOL:
            data[f.name] = v.astype(bool)
        elif f.kind is Kind.DATE:
            data[f.name] = v.astype("datetime64[ns]")
        else:
            data[f.name] = v.astype(np.float64)
    return pd.DataFrame(data, index=pd.RangeIndex(n))


__all__ = ["generate_population"]
