"""The enterprise data schema: every field the clauses of the shipped policy documents need.

This module is the single source of the data dictionary (``docs/data-dictionary.md`` is
generated from it) and of the header rows of the Excel template. A field is named in English
(the name expressions in ``models/`` use) and in Chinese (the header a clerk sees); loaders
accept either header.

Clause references use ``<year>:<clause id>``: ``2025:11`` is 柳政规〔2025〕1号 （十一）,
``2026:3.9`` is the 2026 draft 三（九）. ``tests/test_schema.py`` checks that these
references equal the fields the models actually use, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a column is parsed and checked."""

    TEXT = "text"  # free text, kept as given (trimmed)
    CATEGORY = "category"  # one of a closed list of choices
    BOOL = "bool"  # 是/否, Y/N, 1/0, true/false
    INT = "int"  # whole non-negative number (counts, grades)
    MONEY = "money"  # 万元, non-negative decimal
    QUANTITY = "quantity"  # a physical volume, non-negative decimal
    PERCENT = "percent"  # a share in per cent, 0..100
    DATE = "date"  # a calendar date; expressions see it as the number YYYYMMDD
    LIST = "list"  # items separated by ';' (also '；', ',', '，', '、')


@dataclass(frozen=True)
class Field:
    """One column of the enterprise table."""

    name: str
    zh: str
    kind: Kind
    unit: str
    required: bool
    group: str
    description: str
    clauses: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    @property
    def nonnegative(self) -> bool:
        return self.kind in (Kind.MONEY, Kind.QUANTITY, Kind.INT, Kind.PERCENT)


# Liuzhou's counties, districts and new zones, as the documents address them
# ("各县、区人民政府 ... 柳东新区、阳和工业新区（北部生态新区）管委会").
DISTRICTS: dict[str, str] = {
    "城中区": "Chengzhong",
    "鱼峰区": "Yufeng",
    "柳南区": "Liunan",
    "柳北区": "Liubei",
    "柳江区": "Liujiang",
    "柳城县": "Liucheng",
    "鹿寨县": "Luzhai",
    "融安县": "Rong'an",
    "融水苗族自治县": "Rongshui",
    "三江侗族自治县": "Sanjiang",
    "柳东新区": "Liudong New Area",
    "阳和工业新区": "Yanghe Industrial New Area",
}

# Other spellings clerks use for the same places; loaders map them to the names above.
DISTRICT_ALIASES: dict[str, str] = {
    "融水县": "融水苗族自治县",
    "三江县": "三江侗族自治县",
    "北部生态新区": "阳和工业新区",
    "阳和工业新区（北部生态新区）": "阳和工业新区",
    "Rongan": "融安县",
}

# The industries the two documents name, as codes with their Chinese labels. The data may
# carry either; loaders normalise to the code.
INDUSTRIES: dict[str, str] = {
    "auto_vehicle": "汽车整车",
    "auto_parts": "汽车零部件",
    "steel": "钢铁",
    "nonferrous": "有色金属及关键金属新材料",
    "chemical": "绿色化工",
    "machinery": "高端装备制造（机械）",
    "new_energy": "新能源（电池）",
    "biomedicine": "生物医药及大健康",
    "daily_chemical": "日化",
    "green_food": "绿色食品加工（含螺蛳粉）",
    "forestry_paper": "林产加工及纸业",
    "mould": "模具",
    "ai_robotics": "人工智能终端及机器人",
    "low_altitude": "低空经济",
    "shale_gas": "页岩气",
    "light_industry": "其他轻工",
    "other_manufacturing": "其他制造业",
    "utilities": "电力、热力、燃气及水生产和供应业",
}

# 2025 （七） names firms by their main industrial product.
MAIN_PRODUCTS: dict[str, str] = {
    "tcm": "中成药",
    "wood_panel": "人造板",
    "furniture": "家具",
    "luosifen": "预包装柳州螺蛳粉",
    "other": "其他",
}

# Types of provincial (自治区) award a city clause can be "the same type" as: 2025 （二十）
# excludes a firm that applied for one; 2026 十一（三） pays the better of the two.
PROVINCIAL_TYPES: dict[str, str] = {
    "growth": "增产增效",
    "holiday": "节假日连续生产",
    "investment": "项目投资",
    "market": "开拓市场",
    "industry": "重点行业",
}


def _f(
    name: str,
    zh: str,
    kind: Kind,
    unit: str,
    group: str,
    description: str,
    clauses: str = "",
    *,
    required: bool = False,
    choices: tuple[str, ...] = (),
) -> Field:
    return Field(
        name=name,
        zh=zh,
        kind=kind,
        unit=unit,
        required=required,
        group=group,
        description=description,
        clauses=tuple(clauses.split()),
        choices=choices,
    )


M, Q, B = Kind.MONEY, Kind.QUANTITY, Kind.BOOL
W = "万元"

# fmt: off
FIELDS: tuple[Field, ...] = (
    # --- identity -------------------------------------------------------------------------
    _f("credit_code", "统一社会信用代码", Kind.TEXT, "", "identity",
       "18-character unified social credit code (GB 32100-2015), check character verified",
       required=True),
    _f("name", "企业名称", Kind.TEXT, "", "identity", "Registered name of the enterprise",
       required=True),
    _f("district", "所属县区", Kind.CATEGORY, "", "identity",
       "County, district or new zone the firm is registered in", "2025:9 2026:4.2",
       required=True, choices=tuple(DISTRICTS)),
    _f("industry", "所属行业", Kind.CATEGORY, "", "identity",
       "Industry in the documents' own categories (code or Chinese label)",
       "2025:1 2025:5 2025:10 2026:3.1 2026:3.3 2026:3.4 2026:3.5 2026:3.6 2026:3.7 "
       "2026:3.8 2026:3.9 2026:3.10 2026:3.11 2026:3.12",
       required=True, choices=tuple(INDUSTRIES)),
    _f("main_product", "主要工业产品", Kind.CATEGORY, "", "identity",
       "Main industrial product, for 2025 （七）", "2025:7", choices=tuple(MAIN_PRODUCTS)),
    _f("chem_park", "所在化工园区", Kind.TEXT, "", "identity",
       "Name of the chemical park the firm is in; blank when none", "2026:3.9"),
    # --- flags ----------------------------------------------------------------------------
    _f("above_scale", "规模以上工业企业", B, "", "flags",
       "规上: annual main-business revenue of 2,000万元 or more, reporting to statistics",
       "2025:1 2025:2 2025:3 2025:7 2025:10 2025:11 2026:1.1 2026:1.2 2026:2.1 2026:2.2 "
       "2026:2.3 2026:3.1 2026:3.2 2026:3.3 2026:3.4 2026:3.6 2026:3.7 2026:3.9 2026:3.10 "
       "2026:3.11 2026:3.12 2026:5.1",
       required=True),
    _f("manufacturing", "制造业企业", B, "", "flags",
       "Manufacturing (制造业) rather than mining or utilities", "2025:1 2025:2 2025:3",
       required=True),
    _f("two_high", "两高项目企业", B, "", "flags",
       "High energy use, high emission (两高) project enterprise", "2026:1.1"),
    _f("continuous_process", "连续生产行业企业", B, "", "flags",
       "Continuous-process industry: long-process steel, non-ferrous metals, petrochemicals",
       "2026:1.2"),
    _f("gov_platform", "政府平台公司及其下属公司", B, "", "flags",
       "A government financing platform company or one of its subsidiaries", "2025:8"),
    _f("vehicle_maker", "整车生产企业", B, "", "flags", "Makes complete vehicles",
       "2025:4 2026:3.2"),
    _f("construction_machinery", "工程机械企业", B, "", "flags",
       "Construction-machinery maker", "2025:6"),
    _f("machinery_parts", "机械零部件企业", B, "", "flags",
       "Makes machinery parts and components, not complete machines (2025 （十）: "
       "汽车和机械零部件企业); blank counts as no", "2025:10"),
    _f("steel_normative", "钢铁行业规范企业", B, "", "flags",
       "Listed as meeting the steel industry standard conditions (钢铁行业规范条件)",
       "2026:3.3"),
    _f("production_start", "投产日期", Kind.DATE, "", "flags",
       "Date the plant went into production (2025 （三）: since April 2024)", "2025:3"),
    _f("first_time_reporting", "首次报送统计报表", B, "", "flags",
       "Reports to the statistics bureau for the first time (上规入统)", "2026:8"),
    _f("loan_listed", "列入柳州工业贷名单", B, "", "flags",
       "On the list of the 桂惠贷—柳州工业贷 product kept by the industry bureau",
       "2025:13 2026:7"),
    _f("major_project", "重大项目", B, "", "flags",
       "Major project, for the raised interest-subsidy ceiling of 2026 七", "2026:7"),
    # --- output value ---------------------------------------------------------------------
    _f("output_2023q1", "2023年一季度工业总产值", M, W, "output",
       "Gross industrial output value, Q1 2023 (base of the 2024 Q1 growth)", "2025:1 2025:2"),
    _f("output_2024q1", "2024年一季度工业总产值", M, W, "output",
       "Gross industrial output value, Q1 2024",
       "2025:1 2025:2 2025:7 2025:9 2026:2.1 2026:2.2 2026:2.3"),
    _f("output_2025q1", "2025年一季度工业总产值", M, W, "output",
       "Gross industrial output value, Q1 2025",
       "2025:1 2025:2 2025:3 2025:7 2025:9 2026:2.1 2026:2.2 2026:2.3 2026:3.7 2026:3.9 "
       "2026:3.10 2026:3.11 2026:4.2"),
    _f("output_2026q1", "2026年一季度工业总产值", M, W, "output",
       "Gross industrial output value, Q1 2026",
       "2026:1.1 2026:1.2 2026:2.1 2026:2.2 2026:2.3 2026:3.3 2026:3.4 2026:3.7 2026:3.9 "
       "2026:3.10 2026:3.11 2026:4.2"),
    _f("revenue_2025q1", "2025年一季度主营业务收入", M, W, "output",
       "Main-business revenue, Q1 2025", "2026:3.7 2026:3.9 2026:3.10 2026:3.11"),
    _f("revenue_2026q1", "2026年一季度主营业务收入", M, W, "output",
       "Main-business revenue, Q1 2026", "2026:3.7 2026:3.9 2026:3.10 2026:3.11"),
    _f("revenue_2025", "2025年度营业收入", M, W, "output",
       "Operating revenue of the year 2025 (上规入统 threshold)", "2026:8"),
    # --- electricity ----------------------------------------------------------------------
    _f("power_2025_0128_0212", "2025年1月28日至2月12日用电量", Q, "万千瓦时", "power",
       "Electricity used 2025-01-28..2025-02-12 (the 2025 Spring Festival window)", "2026:1.1"),
    _f("power_2026_0216_0303", "2026年2月16日至3月3日用电量", Q, "万千瓦时", "power",
       "Electricity used 2026-02-16..2026-03-03 (the 2026 Spring Festival window)", "2026:1.1"),
    _f("power_2025q4", "2025年四季度用电量", Q, "万千瓦时", "power",
       "Electricity used in Q4 2025 (92 days)", "2026:1.2"),
    _f("power_2026_02", "2026年2月用电量", Q, "万千瓦时", "power",
       "Electricity used in February 2026 (28 days)", "2026:1.2"),
    # --- investment and projects ----------------------------------------------------------
    _f("investment_2024q1", "2024年一季度工业投资完成额", M, W, "investment",
       "Industrial investment completed, Q1 2024 (district growth base)", "2025:9"),
    _f("investment_2025q1", "2025年一季度工业投资完成额", M, W, "investment",
       "Industrial investment actually completed, Q1 2025", "2025:8 2025:9 2026:4.2"),
    _f("investment_2026q1", "2026年一季度工业投资完成额", M, W, "investment",
       "Industrial investment actually completed, Q1 2026", "2026:4.1 2026:4.2"),
    _f("project_compliant", "项目手续完善", B, "", "investment",
       "Project fits industrial policy and plans; permits, land, environment, energy (2025) or "
       "入库入统 (2026) procedures complete", "2025:8 2026:4.1"),
    _f("project_accepted_2026q1", "2026年一季度完成项目建设验收", B, "", "investment",
       "A project of the firm passed construction acceptance in Q1 2026", "2026:3.1 2026:3.5"),
    _f("project_scale", "验收项目总投资", M, W, "investment",
       "Total investment of the accepted project (项目规模)", "2026:3.1 2026:3.5"),
    _f("key_metal_fixed_assets", "关键金属新材料产业化项目固定资产投资额", M, W, "investment",
       "Fixed-asset investment formed by a key-metals industrialisation project", "2026:3.3"),
    # --- markets --------------------------------------------------------------------------
    _f("export_2024q1", "2024年一季度出口交货值", M, W, "markets",
       "Export delivery value, Q1 2024", "2025:10"),
    _f("export_2025q1", "2025年一季度出口交货值", M, W, "markets",
       "Export delivery value, Q1 2025", "2025:10"),
    _f("booth_fee_2025q1", "2025年一季度展位费", M, W, "markets",
       "Booth fees paid for large exhibitions at home or abroad, Q1 2025", "2025:11"),
    _f("booth_fee_2026q1", "2026年一季度展位费", M, W, "markets",
       "Booth fees paid for large exhibitions at home or abroad, Q1 2026", "2026:5.1"),
    _f("launch_event_fee_2026q1", "2026年一季度新品发布会及订货会费用", M, W, "markets",
       "Venue rental and set-up costs of product launches and order fairs, Q1 2026", "2026:5.1"),
    _f("oem_sales_2024q1", "2024年一季度向单一主机厂配套销售额", M, W, "markets",
       "Sales to the firm's largest single vehicle/machine maker (OEM), Q1 2024", "2025:12"),
    _f("oem_sales_2025q1", "2025年一季度向单一主机厂配套销售额", M, W, "markets",
       "Sales to the same single OEM, Q1 2025", "2025:12 2026:5.2"),
    _f("oem_sales_2026q1", "2026年一季度向单一主机厂配套销售额", M, W, "markets",
       "Sales to the same single OEM, Q1 2026", "2026:5.2"),
    _f("sales_co_sales_2025q1", "2025年1-3月销售公司销售额", M, W, "markets",
       "Sales booked through the firm's wholesale/retail sales company, Jan-Mar 2025", "2026:6"),
    _f("sales_co_sales_2026q1", "2026年1-3月销售公司销售额", M, W, "markets",
       "Sales booked through the firm's wholesale/retail sales company, Jan-Mar 2026", "2026:6"),
    # --- volumes --------------------------------------------------------------------------
    _f("passenger_vehicles_2025q1", "2025年一季度乘用车产量", Q, "辆", "volumes",
       "Passenger cars produced, Q1 2025", "2025:4"),
    _f("commercial_vehicles_2025q1", "2025年一季度商用车产量", Q, "辆", "volumes",
       "Commercial vehicles produced, Q1 2025", "2025:4"),
    _f("icv_nev_2025q1", "2025年一季度智能网联及新能源汽车产量", Q, "辆", "volumes",
       "Intelligent connected and new-energy vehicles produced, Q1 2025", "2026:3.2"),
    _f("icv_nev_2026q1", "2026年一季度智能网联及新能源汽车产量", Q, "辆", "volumes",
       "Intelligent connected and new-energy vehicles produced, Q1 2026", "2026:3.2"),
    _f("special_steel_share_2024q1", "2024年一季度品种钢占比", Kind.PERCENT, "%", "volumes",
       "Share of special (品种) steel in steel output, Q1 2024", "2025:5"),
    _f("special_steel_share_2025q1", "2025年一季度品种钢占比", Kind.PERCENT, "%", "volumes",
       "Share of special (品种) steel in steel output, Q1 2025", "2025:5"),
    _f("steel_supply_2026q1", "2026年一季度本地供应或使用钢材量", Q, "万吨", "volumes",
       "Steel supplied to, or used by, the city's core industries, Q1 2026", "2026:3.3"),
    _f("ne_machine_sales_2024q1", "2024年一季度新能源工程机械销量", Q, "台", "volumes",
       "New-energy construction machines sold, Q1 2024", "2025:6"),
    _f("ne_machine_sales_2025q1", "2025年一季度新能源工程机械销量", Q, "台", "volumes",
       "New-energy construction machines sold, Q1 2025", "2025:6"),
    _f("parts_validated_2025q1", "2025年一季度通过可靠性验证的关键零部件款数", Kind.INT, "款",
       "volumes", "Key parts (diesel engine, gearbox, drive parts) moved from overseas to "
       "domestic supply that passed reliability validation, Q1 2025", "2025:6"),
    _f("ne_equipment_2026q1", "2026年一季度新能源装备产品产量", Q, "台", "volumes",
       "New-energy equipment products made by a whole-machine equipment maker, Q1 2026",
       "2026:3.4"),
    _f("battery_cells_2025q1", "2025年一季度电池电芯产量", Q, "万只", "volumes",
       "Battery cells produced, Q1 2025", "2026:3.6"),
    _f("battery_cells_2026q1", "2026年一季度电池电芯产量", Q, "万只", "volumes",
       "Battery cells produced, Q1 2026", "2026:3.6"),
    _f("ai_units_2026q1", "2026年一季度人工智能终端及机器人产量", Q, "台", "volumes",
       "AI terminals and robots produced, Q1 2026", "2026:3.1"),
    _f("shale_gas_2026q1", "2026年一季度页岩气产量", Q, "万立方米", "volumes",
       "Shale gas produced, Q1 2026", "2026:3.8"),
    _f("shale_gas_products_2026q1", "2026年一季度页岩气配套设备服务及甲醇等产品产值", M, W,
       "volumes", "Output value of equipment and services for shale-gas projects, or of "
       "methanol, glycol and other products made from shale gas, Q1 2026", "2026:3.8"),
    _f("product_volume_2024q1", "2024年一季度主要产品产量", Q, "产品单位", "volumes",
       "Output volume of the main product, Q1 2024 (its own unit)", "2025:7"),
    _f("product_volume_2025q1", "2025年一季度主要产品产量", Q, "产品单位", "volumes",
       "Output volume of the main product, Q1 2025 (its own unit)",
       "2025:7 2026:3.7 2026:3.9 2026:3.10 2026:3.11"),
    _f("product_volume_2026q1", "2026年一季度主要产品产量", Q, "产品单位", "volumes",
       "Output volume of the main product, Q1 2026 (its own unit)",
       "2026:3.7 2026:3.9 2026:3.10 2026:3.11"),
    _f("parcels_2024q1", "2024年一季度螺蛳粉寄递量", Q, "万件", "volumes",
       "Parcels of pre-packed luosifen sent, Q1 2024", "2025:7"),
    _f("parcels_2025q1", "2025年一季度螺蛳粉寄递量", Q, "万件", "volumes",
       "Parcels of pre-packed luosifen sent, Q1 2025", "2025:7"),
    _f("mould_output_2025q1", "2025年一季度模具产品产值", M, W, "volumes",
       "Output value of moulds, Q1 2025", "2026:3.12"),
    _f("mould_output_2026q1", "2026年一季度模具产品产值", M, W, "volumes",
       "Output value of moulds, Q1 2026", "2026:3.12"),
    # --- finance --------------------------------------------------------------------------
    _f("loan_interest_2025q1", "2025年一季度柳州工业贷利息", M, W, "finance",
       "Interest paid in Q1 2025 on 桂惠贷—柳州工业贷 loans", "2025:13"),
    _f("loan_interest_2026q1", "2026年一季度柳州工业贷利息", M, W, "finance",
       "Interest paid in Q1 2026 on 柳州工业贷 loans", "2026:7"),
    # --- chemical park (the park's own rating, repeated on each of its firms) ------------
    _f("chem_park_smart_upgraded", "化工园区智慧化评价达到提升级", B, "", "chemical park",
       "The firm's chemical park reached the 提升级 level in the smart-park evaluation",
       "2026:3.9"),
    _f("chem_park_grade", "化工园区竞争力评价等级", Kind.INT, "级", "chemical park",
       "Competitiveness grade of the firm's chemical park (1 is best); blank when unrated",
       "2026:3.9"),
    # --- provincial awards ----------------------------------------------------------------
    *(
        _f(f"prov_applied_{t}", f"已申请自治区{zh}类奖补", B, "", "provincial",
           f"Applied for the provincial (自治区) award of the {t} type", "2025:20 2026:11.3")
        for t, zh in PROVINCIAL_TYPES.items()
    ),
    *(
        _f(f"prov_award_{t}", f"自治区{zh}类奖补金额", M, W, "provincial",
           f"Provincial award of the {t} type received", "2026:11.3")
        for t, zh in PROVINCIAL_TYPES.items()
    ),
    # --- applications ---------------------------------------------------------------------
    _f("applied_clauses", "申报条款", Kind.LIST, "", "applications",
       "Clause ids the firm applied for, e.g. '5.1;5.2', for a model that names no "
       "application column of its own; the shipped models refuse it (use the column of "
       "their document). Clauses the model marks 免审即享 need none; when the model's "
       "column is absent every firm counts as having applied"),
    _f("applied_clauses_2025q1", "申报条款（2025年一季度）", Kind.LIST, "", "applications",
       "Clauses of 柳政规〔2025〕1号 the firm applied for, by id or label, e.g. '6;10' or "
       "'（六）;（十）'; an id the 2025 measures do not have is refused"),
    _f("applied_clauses_2026q1", "申报条款（2026年一季度）", Kind.LIST, "", "applications",
       "Clauses of the 2026 Q1 draft measures the firm applied for, by id or label, e.g. "
       "'5.1;6' or '五（一）;六'; an id the 2026 draft does not have is refused"),
)
# fmt: on

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_BY_ZH: dict[str, Field] = {f.zh: f for f in FIELDS}
REQUIRED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)

__all__ = [
    "DISTRICTS",
    "DISTRICT_ALIASES",
    "FIELDS",
    "FIELD_BY_NAME",
    "FIELD_BY_ZH",
    "INDUSTRIES",
    "MAIN_PRODUCTS",
    "PROVINCIAL_TYPES",
    "REQUIRED",
    "Field",
    "Kind",
]
