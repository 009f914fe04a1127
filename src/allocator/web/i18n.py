"""The workbench's words, in Chinese (the default) and English.

One entry per message, each a whole sentence or label with named placeholders, so that the
catalogue can move to gettext as it stands. Values that come from the library (a status, a
rule, a basis) are looked up under their namespace (``status.OPTIMAL``); an unknown value of
such a namespace is shown as it is rather than hidden.
"""

from __future__ import annotations

from typing import Any

#: Namespaces whose keys end in a value from the data; an unknown one falls back to the value.
VALUE_NAMESPACES = (
    "status.",
    "rule.",
    "state.",
    "kind.",
    "basis.",
    "check.",
    "severity.",
    "sweep.col.",
    "rules.",
    "new.model_status.",
)

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("专项资金分配工作台", "Allocation workbench"),
    "app.title": ("工作台", "Workbench"),
    "app.footer": (
        "本机运行 · 所有运行记入与命令行相同的台账",
        "Runs on this machine · every run is recorded in the same ledger as the command line's",
    ),
    "nav.home": ("首页", "Home"),
    "nav.new": ("新建分配", "New allocation"),
    "nav.compare": ("对比", "Compare"),
    "nav.job": ("运行", "Run"),
    "nav.result": ("结果", "Result"),
    "nav.active": ("{n} 个任务进行中", "{n} job(s) in progress"),
    # home
    "home.title": ("分配记录", "Allocation runs"),
    "home.search": ("按方案、用户或编号筛选", "Filter by scenario, user or run id"),
    "home.any_status": ("全部状态", "Any status"),
    "home.any_rule": ("全部规则", "Any rule"),
    "home.filter": ("筛选", "Filter"),
    "home.count": ("显示 {shown} 条，共 {total} 条", "{shown} of {total} runs shown"),
    "home.none": ("台账中还没有运行记录。", "No runs in the ledger yet."),
    "home.jobs": ("本次启动后的任务", "Jobs since the server started"),
    "home.scenarios": ("已保存的方案", "Saved scenarios"),
    # columns
    "col.finished": ("完成时间 (UTC)", "Finished (UTC)"),
    "col.scenario": ("方案", "Scenario"),
    "col.status": ("状态", "Status"),
    "col.rule": ("分配规则", "Fairness rule"),
    "col.budget": ("预算（万元）", "Budget (万元)"),
    "col.awarded": ("已分配（万元）", "Awarded (万元)"),
    "col.recipients": ("获奖主体", "Recipients"),
    "col.user": ("操作人", "User"),
    "col.run": ("运行编号", "Run"),
    "col.file": ("文件", "File"),
    "col.row": ("行", "Row"),
    "col.column": ("列", "Column"),
    "col.expected": ("应为", "Expected"),
    "col.found": ("实际", "Found"),
    "col.rule_name": ("规则", "Rule"),
    "col.value": ("取值", "Value"),
    "col.basis": ("依据", "Basis"),
    "col.source": ("原文或理由", "Quote or rationale"),
    "col.address": ("参数", "Parameter"),
    "col.item": ("奖补项目", "Award item"),
    "col.document_value": ("模型取值", "Model value"),
    "col.unit": ("单位", "Unit"),
    "col.phase": ("阶段", "Phase"),
    "col.seconds": ("秒", "Seconds"),
    "col.credit_code": ("统一社会信用代码", "Credit code"),
    "col.name": ("名称", "Name"),
    "col.district": ("县区", "District"),
    "col.industry": ("行业", "Industry"),
    "col.claim": ("申报（万元）", "Claim (万元)"),
    "col.award": ("核定（万元）", "Award (万元)"),
    "col.reason": ("低于申报的原因", "Why below the claim"),
    "col.clause": ("条款", "Clause"),
    "col.title": ("内容", "Title"),
    "col.claims": ("申报数", "Claims"),
    "col.funded": ("获奖数", "Funded"),
    "col.shortfall": ("核减（万元）", "Shortfall (万元)"),
    "col.constraint": ("约束", "Constraint"),
    "col.family": ("类别", "Family"),
    "col.lhs": ("合计", "Total"),
    "col.sense": ("关系", "Sense"),
    "col.rhs": ("上限/下限", "Limit"),
    "col.check": ("检查", "Check"),
    "col.result": ("结果", "Result"),
    "col.what": ("内容", "What"),
    "col.detail": ("说明", "Detail"),
    "col.severity": ("级别", "Severity"),
    "col.finding": ("发现", "Finding"),
    "col.metric": ("指标", "Metric"),
    # new allocation
    "new.title": ("新建分配", "New allocation"),
    "new.step_data": ("第一步：上传企业数据", "Step 1: upload the enterprise data"),
    "new.data_help": (
        "上传填好的 Excel 模板（.xlsx）或 CSV（UTF-8 或 GBK），不超过 {mb} MB。",
        "Upload the filled-in Excel template (.xlsx) or a CSV (UTF-8 or GBK), at most {mb} MB.",
    ),
    "new.template": ("下载空白模板", "Download the empty template"),
    "new.file": ("数据文件", "Data file"),
    "new.upload": ("上传并检查", "Upload and check"),
    "new.problems": (
        "数据有 {n} 处问题，请按行列修改后重新上传：",
        "The data has {n} problem(s); fix them at their row and column and upload again:",
    ),
    "new.row_n": ("第 {n} 行", "row {n}"),
    "new.column_named": ("“{name}”列", "column “{name}”"),
    "new.fix_and_upload": (
        "修改后请重新上传整个文件；之前的文件不会被覆盖。",
        "Upload the whole file again once fixed; the earlier file is kept as it was.",
    ),
    "new.data_ok": ("数据检查通过：{rows} 家企业。", "The data passed its check: {rows} firms."),
    "new.warning": ("提示", "Warning"),
    "new.by_district": ("各县区企业数", "Firms by district"),
    "new.step_scenario": ("第二步：设置方案", "Step 2: set up the scenario"),
    "new.model": ("政策模型", "Policy model"),
    "new.choose_model": ("选用此模型", "Use this model"),
    "new.model_status.in_force": ("现行有效", "in force"),
    "new.model_status.draft": ("征求意见稿", "draft for comment"),
    "new.scenario_problems": ("方案有 {n} 处问题：", "The scenario has {n} problem(s):"),
    "new.expected": ("应为", "expected"),
    "new.found": ("实际为", "found"),
    "new.name": ("方案名称（字母、数字、-、_）", "Scenario name (letters, digits, -, _)"),
    "new.budget": ("预算（万元）", "Budget (万元)"),
    "new.rule": ("分配规则", "Fairness rule"),
    "new.time_limit": ("求解时限（秒）", "Time limit (s)"),
    "new.notes": ("说明", "Notes"),
    "new.rules": ("文件的总体规则（含取整）", "The document's global rules (rounding included)"),
    "new.params": ("参数", "Parameters"),
    "new.params_help": (
        "“文件规定”的取值有原文为据；“假定”的取值是文件未明确时的默认值，请按本地口径核定。"
        "修改后的取值记入方案文件的 overrides。",
        "Values marked “document” are stated by the text; “assumed” ones are defaults where the "
        "text is silent: set them as the bureau decides. Changed values go to the scenario's "
        "overrides.",
    ),
    "new.save": ("保存方案", "Save the scenario"),
    "new.no_models": ("没有可用的政策模型文件。", "No policy model file is available."),
    "rules.fund_cap": ("资金总额", "Fund cap"),
    "rules.rounding": ("取整", "Rounding"),
    "rules.stacking": ("叠加", "Stacking"),
    "rules.provincial": ("与省级奖补的关系", "Relation to provincial awards"),
    "basis.document": ("文件规定", "document"),
    "basis.assumed": ("假定", "assumed"),
    "upload.bad_type": ("只接受 .xlsx 或 .csv 文件。", "Only .xlsx or .csv files are accepted."),
    "upload.empty": ("上传的文件是空的。", "The uploaded file is empty."),
    "upload.not_xlsx": (
        "该文件不是 Excel 工作簿（.xlsx）。",
        "The file is not an Excel workbook (.xlsx).",
    ),
    "upload.not_csv": (
        "该文件是工作簿而不是 CSV，请以 .xlsx 上传。",
        "The file is a workbook, not a CSV: upload it as .xlsx.",
    ),
    "upload.none": ("请选择要上传的文件。", "Choose a file to upload."),
    "upload.large": ("文件超过大小上限。", "The file is larger than the limit."),
    # scenario
    "scenario.title": ("方案 {name}", "Scenario {name}"),
    "scenario.run": ("运行分配", "Run the allocation"),
    "scenario.limit_default": ("按方案设置", "as the scenario says"),
    "scenario.run_button": ("开始运行", "Run"),
    "scenario.sweep": ("预算敏感性分析", "Budget sweep"),
    "scenario.budgets": (
        "预算（万元）：起:止:步长 或 逗号分隔",
        "Budgets (万元): start:stop:step or a comma list",
    ),
    "scenario.sweep_button": ("开始分析", "Run the sweep"),
    "scenario.file": ("方案文件", "Scenario file"),
    "scenario.cli": (
        "命令行运行同一方案：allocate run {file}",
        "The same scenario from the command line: allocate run {file}",
    ),
    # job
    "job.title": ("{kind}：{name}", "{kind}: {name}"),
    "job.state": ("状态", "State"),
    "job.position": ("排队位置", "Place in queue"),
    "job.solver": ("求解", "Solver"),
    "job.incumbent": ("当前解", "incumbent"),
    "job.bound": ("界", "bound"),
    "job.gap": ("差距", "gap"),
    "job.open_result": ("查看结果", "Open the result"),
    "job.cancel": ("取消运行", "Cancel"),
    "job.reload": ("请刷新页面查看进度。", "Reload the page to see the progress."),
    "kind.run": ("分配运行", "Allocation run"),
    "kind.sweep": ("预算敏感性分析", "Budget sweep"),
    "state.queued": ("排队中", "queued"),
    "state.running": ("运行中", "running"),
    "state.done": ("已完成", "done"),
    "state.failed": ("失败", "failed"),
    "state.cancelled": ("已取消", "cancelled"),
    "status.OPTIMAL": ("最优", "optimal"),
    "status.FEASIBLE": ("可行（未证明最优）", "feasible (not proven optimal)"),
    "status.INFEASIBLE": ("无可行分配", "infeasible"),
    "status.UNKNOWN": ("时限内未找到分配", "no allocation within the time limit"),
    "rule.priority": ("优先级", "priority"),
    "rule.proportional": ("按比例核减", "proportional"),
    "rule.equal_awards": ("等额分配", "equal awards"),
    "rule.equal_losses": ("等额核减", "equal losses"),
    "rule.talmud": ("塔木德规则", "Talmud"),
    # result
    "result.title": ("分配结果：{name}", "Result: {name}"),
    "result.claimed": ("申报合计（万元）", "Claimed (万元)"),
    "result.funded": ("获奖主体 / 符合条件", "Funded / eligible recipients"),
    "result.downloads": ("下载", "Downloads"),
    "result.audit": ("一键审计", "Audit this run"),
    "result.explain": ("解释", "Explain"),
    "result.explain_placeholder": ("信用代码、县区或园区", "Credit code, district or park"),
    "result.compare_with": ("与其他运行对比", "Compare with another run"),
    "result.awards": ("核定明细", "Awards"),
    "result.search": ("按企业名称或信用代码搜索", "Search by firm name or credit code"),
    "result.search_button": ("搜索", "Search"),
    "result.page_of": ("第 {page} / {pages} 页，共 {n} 条", "Page {page} of {pages}, {n} rows"),
    "result.no_match": ("没有匹配的记录。", "No matching rows."),
    "result.by_clause": ("分条款", "By clause"),
    "result.by_district": ("分县区", "By district"),
    "result.reasons": ("核减原因", "Why awards fall below claims"),
    "result.no_reasons": ("所有申报均全额核定。", "Every claim was paid in full."),
    "result.binding": ("起作用的约束", "Binding constraints"),
    "result.no_binding": ("没有起作用的约束。", "No constraint is binding."),
    "result.full_report": ("打开完整报告（report.html）", "Open the full report (report.html)"),
    "pager.first": ("首页", "First"),
    "pager.prev": ("上一页", "Previous"),
    "pager.next": ("下一页", "Next"),
    "pager.last": ("末页", "Last"),
    # audit and explain
    "audit.title": ("审计", "Audit"),
    "audit.passed": (
        "审计通过：没有错误（{warnings} 条提示）。",
        "Audit passed: no errors ({warnings} warning(s)).",
    ),
    "audit.failed": ("审计未通过：{errors} 处错误。", "Audit failed: {errors} error(s)."),
    "audit.findings": ("发现的问题", "Findings"),
    "check.passed": ("通过", "passed"),
    "check.failed": ("未通过", "failed"),
    "check.warning": ("提示", "warning"),
    "check.skipped": ("跳过", "skipped"),
    "severity.error": ("错误", "error"),
    "severity.warning": ("提示", "warning"),
    "explain.title": ("核定说明", "Explanation"),
    # compare and sweep
    "compare.title": ("对比两次运行", "Compare two runs"),
    "compare.reference": ("基准运行", "Reference run"),
    "compare.other": ("对比运行", "Other run"),
    "compare.button": ("对比", "Compare"),
    "compare.metrics": ("指标", "Figures"),
    "compare.changes": (
        "{after} 相对 {before}：{up} 个主体增加，{down} 个减少",
        "{after} against {before}: {up} recipients receive more, {down} less",
    ),
    "compare.winners": ("增加最多", "Largest rises"),
    "compare.losers": ("减少最多", "Largest falls"),
    "compare.charts": ("图表", "Charts"),
    "compare.sweep": ("预算敏感性分析", "Budget sweep"),
    "compare.sweep_help": (
        "在方案页面输入一组预算，逐一运行并绘图：",
        "Enter a range of budgets on a scenario's page; each runs and the sweep is charted:",
    ),
    "compare.no_scenarios": ("还没有保存的方案。", "No saved scenario yet."),
    "sweep.title": ("预算敏感性分析", "Budget sweep"),
    "sweep.col.variant": ("变体", "Variant"),
    "sweep.col.budget_wan": ("预算（万元）", "Budget (万元)"),
    "sweep.col.status": ("状态", "Status"),
    "sweep.col.budget_used_wan": ("已分配（万元）", "Used (万元)"),
    "sweep.col.recipients_funded": ("获奖主体", "Funded"),
    "sweep.col.eligible_recipients": ("符合条件主体", "Eligible"),
    "sweep.col.coverage": ("覆盖率", "Coverage"),
    "sweep.col.mean_ratio": ("平均核定比例", "Mean ratio"),
    "sweep.col.gini_awards": ("基尼系数", "Gini"),
    # errors
    "error.csrf": (
        "请求被拒绝：表单缺少有效的安全令牌，请返回刷新后重试。",
        "Request refused: the form lacks a valid security token; go back, reload and retry.",
    ),
    "error.not_found": ("找不到该页面或记录。", "No such page or record."),
    "error.generic": ("请求无法完成。", "The request could not be completed."),
}


def translate(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` (``zh`` or ``en``), its placeholders filled.

    Raises
    ------
    KeyError
        ``key`` is not in the catalogue and is not a value of a :data:`VALUE_NAMESPACES`
        namespace: a page asked for a message nobody wrote.
    """
    entry = MESSAGES.get(key)
    if entry is None:
        for prefix in VALUE_NAMESPACES:
            if key.startswith(prefix):
                return key[len(prefix) :]
        raise KeyError(key)
    text = entry[1] if lang == "en" else entry[0]
    return text.format(**values) if values else text


__all__ = ["MESSAGES", "VALUE_NAMESPACES", "translate"]
