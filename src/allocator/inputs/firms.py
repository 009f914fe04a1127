"""The shape of the synthetic city: districts, industries, parks, names, and the draws.

The tables say how firms spread over districts and industries and what each industry has;
the helpers draw over whole arrays with a :class:`numpy.random.Generator`
(:func:`allocator.inputs.generate.generate_population` calls them in a fixed order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

MARKER = "（模拟）"

# Share of firms by district; the five urban districts and the Liudong new area carry most.
DISTRICT_WEIGHTS: dict[str, float] = {
    "柳东新区": 0.18,
    "柳南区": 0.14,
    "柳北区": 0.13,
    "柳江区": 0.13,
    "鱼峰区": 0.13,
    "阳和工业新区": 0.07,
    "鹿寨县": 0.06,
    "柳城县": 0.05,
    "城中区": 0.04,
    "融安县": 0.03,
    "融水苗族自治县": 0.02,
    "三江侗族自治县": 0.02,
}


@dataclass(frozen=True)
class Industry:
    share: float  # of all firms
    median: float  # median Q1 2025 output, 万元
    sigma: float  # log-normal spread of output
    growth: float  # mean yearly growth of Q1 output
    power: float  # electricity per output, 万千瓦时 per 万元
    words: tuple[str, ...]  # what goes in a firm's name
    districts: dict[str, float] | None = None  # where the industry sits, when not everywhere


# Shares are of firm counts, so the heavy industries are few and large. Vehicle makers,
# steel works and shale-gas firms are over-represented against the real city so that their
# clauses have enough firms to be worth allocating among.
INDUSTRY: dict[str, Industry] = {
    "auto_vehicle": Industry(0.015, 0.0, 0.0, 0.03, 0.006, ("汽车", "汽车制造", "新能源汽车"),
                              {"柳东新区": 0.5, "柳南区": 0.2, "鱼峰区": 0.2, "柳江区": 0.1}),
    "auto_parts": Industry(0.21, 3000, 1.1, 0.05, 0.012,
                            ("汽车零部件", "汽配", "车桥", "汽车电子")),
    "steel": Industry(0.012, 150000, 0.9, 0.01, 0.12, ("钢铁", "特钢", "钢材"),
                       {"柳北区": 0.5, "阳和工业新区": 0.2, "柳江区": 0.2, "鹿寨县": 0.1}),
    "nonferrous": Industry(0.025, 8000, 1.0, 0.06, 0.15, ("有色金属", "新材料", "锡业")),
    "chemical": Industry(0.05, 6000, 1.0, 0.05, 0.08, ("化工", "化学", "新材料化工")),
    "machinery": Industry(0.12, 4000, 1.2, 0.06, 0.01, ("机械", "重工", "装备", "工程机械")),
    "new_energy": Industry(0.03, 10000, 1.2, 0.15, 0.03, ("新能源", "电池", "储能")),
    "biomedicine": Industry(0.04, 2500, 1.0, 0.03, 0.015, ("制药", "药业", "生物科技")),
    "daily_chemical": Industry(0.02, 2000, 0.9, 0.0, 0.015, ("日化", "洗涤用品", "个人护理用品")),
    "green_food": Industry(0.12, 1200, 1.0, 0.08, 0.02, ("螺蛳粉", "食品", "米粉")),
    "forestry_paper": Industry(0.07, 2500, 1.0, 0.04, 0.05, ("木业", "人造板", "纸业", "家居"),
                                {"鹿寨县": 0.25, "融安县": 0.2, "融水苗族自治县": 0.15,
                                 "三江侗族自治县": 0.1, "柳城县": 0.15, "柳江区": 0.15}),
    "mould": Industry(0.04, 1500, 0.8, 0.05, 0.015, ("模具", "精密模具")),
    "ai_robotics": Industry(0.025, 2500, 1.1, 0.2, 0.008, ("智能科技", "机器人", "智能终端")),
    "low_altitude": Industry(0.015, 1500, 1.0, 0.25, 0.008, ("航空科技", "无人机", "通用航空")),
    "shale_gas": Industry(0.014, 3000, 1.0, 0.12, 0.05, ("页岩气", "能源开发", "燃气装备"),
                           {"融安县": 0.3, "鹿寨县": 0.3, "柳城县": 0.2, "融水苗族自治县": 0.2}),
    "light_industry": Industry(0.07, 1500, 0.9, 0.03, 0.015, ("轻工", "家具", "塑料制品", "纺织")),
    "other_manufacturing": Industry(0.096, 2000, 1.0, 0.03, 0.015, ("制造", "实业", "工业")),
    "utilities": Industry(0.03, 5000, 1.0, 0.04, 0.2, ("水务", "热力", "燃气", "电力")),
}  # fmt: skip

# Chemical parks: name, district, smart-park level reached, competitiveness grade (0 unrated).
# Five of the seven meet 2026 三（九）'s park condition (提升级, or grade 2 or better).
PARKS: tuple[tuple[str, str, bool, int, float], ...] = (
    ("柳州化工园区" + MARKER, "柳北区", True, 2, 0.32),
    ("鹿寨化工园区" + MARKER, "鹿寨县", False, 2, 0.18),
    ("柳江新兴化工园区" + MARKER, "柳江区", True, 3, 0.14),
    ("柳城精细化工园区" + MARKER, "柳城县", False, 1, 0.10),
    ("阳和新材料化工园区" + MARKER, "阳和工业新区", True, 0, 0.10),
    ("柳东化工新材料集中区" + MARKER, "柳东新区", False, 4, 0.08),
    ("融安化工集中区" + MARKER, "融安县", False, 0, 0.08),
)

TRADE_CHARS = (
    "华鑫盛隆泰安达通丰源鸿瑞祥宏恒信德联创新科远航金龙凤桂江山海天宇星辉明光正和美嘉佳富强兴"
    "旺顺利成建立中威特力腾飞骏博睿智诚永昌茂荣昇"
)
COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司")

# Clause ids of the two documents that a firm applies for (2025 uses "1".."20", 2026 "1.1"..).
# District and park awards are not applied for by firms.
CLAUSES_2025 = ("1", "2", "3", "4", "5", "6", "7", "8", "10", "11", "12", "13")
CLAUSES_2026 = (
    "1.1", "1.2", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8",
    "3.9", "3.10", "3.11", "3.12", "4.1", "5.1", "5.2", "6", "7", "8",
)  # fmt: skip


def apportion(shares: npt.ArrayLike, n: int) -> npt.NDArray[np.int64]:
    """Counts proportional to ``shares`` summing to ``n`` (largest remainders)."""
    p = np.asarray(shares, dtype=np.float64)
    p = p / p.sum()
    exact = p * n
    counts: npt.NDArray[np.int64] = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


def quota(rng: np.random.Generator, mask: BoolArray, share: float) -> BoolArray:
    """Exactly ``ceil(share × |mask|)`` members of ``mask``, drawn at random."""
    idx = np.flatnonzero(mask)
    k = int(np.ceil(share * idx.size))
    out = np.zeros(mask.size, dtype=bool)
    if k:
        out[rng.choice(idx, size=k, replace=False)] = True
    return out


def lift(
    district: StrArray,
    strong: StrArray,
    new: FloatArray,
    old: FloatArray,
    targets: FloatArray,
    places: StrArray,
) -> FloatArray:
    """Per-firm factors on ``new`` that lift each strong district's total growth to its target.

    A district's growth is ``Σ new / Σ old − 1`` over its firms (blanks left out), as the
    district clauses aggregate it. Firms elsewhere, and districts already there, get 1.
    """
    factor = np.ones(district.size)
    for place, target in zip(places, targets, strict=True):
        if place not in strong:
            continue
        members = district == place
        total_new, total_old = np.nansum(new[members]), np.nansum(old[members])
        if total_new > 0 and total_old > 0 and total_new < total_old * (1 + target):
            factor[members] = total_old * (1 + target) / total_new
    return factor


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> FloatArray:
    return median * np.exp(sigma * rng.standard_normal(n))


def draw_district(rng: np.random.Generator, industry: StrArray, n: int) -> StrArray:
    names = np.array(list(DISTRICT_WEIGHTS), dtype=object)
    weights = np.array(list(DISTRICT_WEIGHTS.values()))
    out = rng.choice(names, size=n, p=weights / weights.sum())
    for code, spec in INDUSTRY.items():
        if spec.districts is None:
            continue
        mask = industry == code
        w = np.array(list(spec.districts.values()))
        out[mask] = rng.choice(
            np.array(list(spec.districts), dtype=object), size=int(mask.sum()), p=w / w.sum()
        )
    return out.astype(str)


def draw_names(rng: np.random.Generator, industry: StrArray) -> StrArray:
    """Distinct invented names: 柳州 + a three-character trade name + industry + form + marker."""
    n = industry.size
    chars = np.array(list(dict.fromkeys(TRADE_CHARS)))
    k = chars.size
    if n <= k**3:
        combo = rng.choice(k**3, size=n, replace=False)
    else:  # more firms than trade names: numbers keep them apart
        combo = rng.integers(0, k**3, size=n)
    trade = np.char.add(
        np.char.add(chars[combo // (k * k)], chars[(combo // k) % k]), chars[combo % k]
    )
    word = np.empty(n, dtype=object)
    for code, spec in INDUSTRY.items():
        mask = industry == code
        word[mask] = np.array(spec.words, dtype=object)[
            rng.integers(0, len(spec.words), mask.sum())
        ]
    form = np.array(COMPANY_FORMS)[rng.choice(3, size=n, p=[0.8, 0.12, 0.08])]
    name = np.char.add(np.char.add("柳州", trade), word.astype(str))
    if n > k**3:
        name = np.char.add(name, np.char.add(np.arange(n).astype(str), "号"))
    return np.char.add(np.char.add(name, form), MARKER)


def draw_days(start: str, end: str, rng: np.random.Generator, n: int) -> npt.NDArray[np.datetime64]:
    lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
    span = int((hi - lo).astype(np.int64)) + 1
    return lo + rng.integers(0, span, size=n).astype("timedelta64[D]")


__all__ = [
    "CLAUSES_2025",
    "CLAUSES_2026",
    "COMPANY_FORMS",
    "DISTRICT_WEIGHTS",
    "INDUSTRY",
    "MARKER",
    "PARKS",
    "TRADE_CHARS",
    "Industry",
    "apportion",
    "draw_days",
    "draw_district",
    "draw_names",
    "lift",
    "lognormal",
    "quota",
]
