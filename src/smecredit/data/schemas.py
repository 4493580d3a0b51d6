"""The smecredit data model: one specification per raw table.

The specifications are plain data (:class:`TableSpec`, :class:`Column`). From them we build
the pandera schemas used by ``smecredit validate`` and the bilingual documentation in
``docs/data_model.md`` (regenerate it with ``python -m smecredit.data.schemas``).

Conventions that other tools rely on: every table is keyed by ``enterprise_id`` (an
18-character unified social credit code, GB 32100-2015); monthly tables have ``month_end``;
event tables have ``event_date`` and ``event_type``; ``loans`` has ``loan_id``,
``start_date``, ``maturity_date``, ``amount`` and ``product``; ``enterprises`` has ``name``.
Each table names the date column that makes a record known (``asof_column``): point-in-time
features use only records whose date is on or before the snapshot.

Why this module is longer than ~400 lines: about two thirds of it (250 lines) is the declarative table
list itself (one ``_register(TableSpec(...))`` per raw table, column by column). That list is the
bank-data contract, read and reviewed table by table next to ``docs/data_model.md``, which is
generated from it; splitting it across files would scatter one contract without separating any
concerns (the code around it is ~130 lines: the two dataclasses, the column helpers and the renderer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smecredit.data import reference as ref


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str" | "date" | "float" | "int" | "bool"
    en: str
    zh: str
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    unit: str = ""
    uscc: bool = False  # must be a valid unified social credit code
    pii: bool = False  # never appears in reports, logs or MLflow artifacts
    future_ok: bool = False  # a date that may lie after today (e.g. a contractual maturity)
    optional: bool = False  # the column may be absent from the file: it is then read as all missing (nullable)


@dataclass(frozen=True)
class TableSpec:
    name: str
    en: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    asof_column: str | None
    required: bool = True
    source: str = ""
    extra_dates: tuple[str, ...] = field(default_factory=tuple)
    #: Columns a file may omit (read as all missing when absent); not written by every producer.
    optional_columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Required then optional columns."""
        return self.columns + self.optional_columns

    def column(self, name: str) -> Column:
        for c in self.all_columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _eid() -> Column:
    return Column("enterprise_id", "str", "Unified social credit code (18 characters, GB 32100-2015)",
                  "统一社会信用代码（18位，GB 32100-2015）", uscc=True, pii=True)


def _month() -> Column:
    return Column("month_end", "date", "Last day of the month the record describes", "记录所属月份的月末日期")


def _cat(name, en, zh, values, nullable=False) -> Column:
    return Column(name, "str", en, zh, nullable=nullable, allowed=tuple(values))


def _amount(name, en, zh, nullable=False, unit="CNY") -> Column:
    return Column(name, "float", en, zh, nullable=nullable, min_value=0.0, unit=unit)


AVAILABLE_DATE = "available_date"

#: Periodic source tables that may carry the optional ``available_date`` column (publication lag): a record is
#: known from the later of its as-of date and its available date. The bank's own application tables, the loan
#: contracts, the registry and the related persons have none.
AVAILABLE_DATE_TABLES = ("tax_monthly", "tax_credit_annual", "utilities_monthly", "social_insurance_monthly",
                         "judicial_events", "admin_events", "ip_assets", "supply_chain", "loan_monthly",
                         "green_annual", "loan_events")


def _available() -> Column:
    return Column(AVAILABLE_DATE, "date", "Date the record became available to the bank (publication lag); empty: "
                  "known at its as-of date", "数据可得日期（发布滞后）；为空则按记录日期视为可得", nullable=True,
                  future_ok=True, optional=True)


TABLES: dict[str, TableSpec] = {}


def _register(spec: TableSpec) -> None:
    if spec.name in AVAILABLE_DATE_TABLES:
        spec = TableSpec(**{**spec.__dict__, "optional_columns": spec.optional_columns + (_available(),)})
    TABLES[spec.name] = spec


_register(TableSpec(
    "enterprises", "Enterprise registry", "企业登记信息", source="market supervision 市场监管",
    key=("enterprise_id",), asof_column="registration_date",
    columns=(
        _eid(),
        Column("name", "str", "Registered name", "企业名称", pii=True),
        _cat("county", "District or county of registration", "注册地区县", ref.COUNTIES),
        Column("mountain_county", "bool", "Registered in a mountain county (天台, 仙居, 三门)", "是否山区县"),
        Column("urban", "bool", "Urban district (rural otherwise)", "是否城区（否则为农村）"),
        _cat("industry", "Industry, GB/T 4754 section letter", "国民经济行业门类（GB/T 4754）", ref.INDUSTRIES),
        Column("registration_date", "date", "Date of registration", "成立日期"),
        _amount("registered_capital", "Registered capital", "注册资本"),
        _cat("legal_form", "Legal form", "组织形式", ref.LEGAL_FORMS),
        _cat("size_class", "Size class under the national SME standard", "企业规模（工信部联企业〔2011〕300号）",
             ref.SIZE_CLASSES),
        Column("employees", "int", "Staff at registration or last annual report", "从业人员数", min_value=0,
               unit="persons"),
        Column("tech_sme", "bool", "Recognised science-and-technology SME", "是否科技型中小企业"),
        Column("green", "bool", "Recognised green enterprise", "是否绿色企业"),
    ),
))

_register(TableSpec(
    "tax_monthly", "Monthly VAT invoicing and tax paid", "月度增值税开票与纳税", source="tax 税务",
    required=False,
    key=("enterprise_id", "month_end"), asof_column="month_end",
    columns=(
        _eid(), _month(),
        _amount("invoiced_sales", "Sales invoiced in the month (VAT invoices)", "当月增值税发票开票销售额"),
        _amount("tax_paid", "Tax paid in the month", "当月缴纳税款"),
    ),
))

_register(TableSpec(
    "tax_credit_annual", "Annual tax credit grade", "年度纳税信用等级", source="tax 税务",
    required=False,
    key=("enterprise_id", "year"), asof_column="published_date",
    columns=(
        _eid(),
        Column("year", "int", "Assessment year", "评价年度", min_value=1990, max_value=2100),
        Column("published_date", "date", "Date the grade was published (April of the next year)",
               "等级发布日期（次年4月）"),
        _cat("tax_grade", "Tax credit grade", "纳税信用等级", ref.TAX_GRADES),
    ),
))

_register(TableSpec(
    "utilities_monthly", "Monthly electricity, water and gas use", "月度水电气用量", source="utilities 水电气",
    required=False,
    key=("enterprise_id", "month_end"), asof_column="month_end",
    columns=(
        _eid(), _month(),
        _amount("electricity_kwh", "Electricity used", "用电量", nullable=True, unit="kWh"),
        _amount("water_m3", "Water used", "用水量", nullable=True, unit="m3"),
        _amount("gas_m3", "Gas used", "用气量", nullable=True, unit="m3"),
    ),
))

_register(TableSpec(
    "social_insurance_monthly", "Monthly social insurance", "月度社保缴纳", source="human resources and social security 人社",
    required=False,
    key=("enterprise_id", "month_end"), asof_column="month_end",
    columns=(
        _eid(), _month(),
        Column("insured_headcount", "int", "Employees insured", "参保人数", min_value=0, unit="persons"),
        Column("contribution_arrears", "bool", "Contributions in arrears", "是否欠缴社保费"),
    ),
))

_register(TableSpec(
    "judicial_events", "Court events", "司法事件", source="courts 法院",
    required=False,
    key=("enterprise_id", "event_date", "event_type", "case_id"), asof_column="event_date",
    columns=(
        _eid(),
        Column("case_id", "str", "Case identifier", "案号（脱敏）"),
        Column("event_date", "date", "Date of the event", "事件日期"),
        _cat("event_type", "Type of event", "事件类型", ref.JUDICIAL_EVENT_TYPES),
        _amount("amount", "Amount in dispute or enforced", "涉案或执行金额", nullable=True),
    ),
))

_register(TableSpec(
    "admin_events", "Administrative events", "行政事件", source="market supervision, environment 市场监管、生态环境",
    required=False,
    key=("enterprise_id", "event_date", "event_type", "case_id"), asof_column="event_date",
    columns=(
        _eid(),
        Column("case_id", "str", "Decision identifier", "决定书编号（脱敏）"),
        Column("event_date", "date", "Date of the event", "事件日期"),
        _cat("event_type", "Type of event", "事件类型", ref.ADMIN_EVENT_TYPES),
        _cat("severity", "Severity of a penalty (minor / major)", "处罚严重程度", ("minor", "major"), nullable=True),
        _amount("amount", "Penalty amount", "罚款金额", nullable=True),
    ),
))

_register(TableSpec(
    "ip_assets", "Patents and trademarks", "专利与商标", source="intellectual property 知识产权", required=False,
    key=("asset_id",), asof_column="grant_date", extra_dates=("pledge_date",),
    columns=(
        _eid(),
        Column("asset_id", "str", "Patent or trademark number", "专利号或商标注册号"),
        _cat("asset_type", "Type of asset", "资产类型", ref.IP_TYPES),
        Column("grant_date", "date", "Grant or registration date", "授权或注册日期"),
        Column("pledged", "bool", "Pledged as collateral (as of extraction)", "是否已质押"),
        Column("pledge_date", "date", "Date the pledge was registered", "质押登记日期", nullable=True),
        _amount("valuation", "Appraised value", "评估价值", nullable=True),
    ),
))

_register(TableSpec(
    "supply_chain", "Receivables and commercial bills with core enterprises", "与核心企业的应收账款与商业汇票",
    source="supply-chain platforms 供应链平台", required=False,
    key=("instrument_id",), asof_column="issue_date", extra_dates=("paid_date",),
    columns=(
        _eid(),
        Column("instrument_id", "str", "Receivable or bill identifier", "应收账款或票据编号"),
        _cat("instrument", "Receivable or commercial bill", "类型", ("receivable", "commercial_bill")),
        Column("counterparty", "str", "Core enterprise (pseudonymous id)", "核心企业（脱敏编号）"),
        _cat("counterparty_rating", "Rating of the core enterprise", "核心企业评级", ref.RATINGS_CORE),
        _amount("amount", "Face amount", "金额"),
        Column("issue_date", "date", "Issue date", "出具日期"),
        Column("due_date", "date", "Due date", "到期日期", future_ok=True),
        Column("paid_date", "date", "Date paid (empty while unpaid)", "实际付款日期（未付为空）", nullable=True),
    ),
))

_register(TableSpec(
    "loans", "Loans", "贷款", source="banks 银行",
    key=("loan_id",), asof_column="start_date",
    columns=(
        Column("loan_id", "str", "Loan identifier", "贷款编号"),
        _eid(),
        Column("lender", "str", "Lending bank", "贷款银行"),
        Column("start_date", "date", "Drawdown date", "发放日期"),
        Column("maturity_date", "date", "Contractual maturity", "到期日期", future_ok=True),
        Column("amount", "float", "Original principal", "贷款金额", min_value=0.0, unit="CNY"),
        _cat("product", "Product", "贷款品种", ref.PRODUCTS),
        _cat("collateral_type", "Main collateral or guarantee", "担保方式", ref.COLLATERAL_TYPES),
        _amount("collateral_value", "Appraised collateral value at drawdown", "发放时押品评估价值", nullable=True),
        _cat("guarantor_type", "Guarantor", "保证人类型", ref.GUARANTOR_TYPES),
        Column("guaranteed_share", "float", "Share of the loss covered by the guarantor", "担保分担比例",
               min_value=0.0, max_value=1.0),
        Column("guarantee_insurance", "bool", "Covered by loan guarantee insurance", "是否有贷款保证保险"),
        Column("renewed_without_repayment", "bool", "This loan renews an earlier one without repayment of principal",
               "是否为无还本续贷"),
        Column("renewed_from_loan_id", "str", "Loan renewed by this one", "被续贷的原贷款编号", nullable=True),
        _cat("risk_class_5", "5-category class at data extraction (features use loan_monthly)",
             "数据提取时的五级分类（特征使用loan_monthly）", ref.RISK_CLASSES),
    ),
    optional_columns=(
        Column("guarantor_enterprise_id", "str", "Enterprise guaranteeing the loan (mutual/joint guarantee 互保/联保), "
               "if the guarantor is an enterprise", "保证人企业统一社会信用代码（互保、联保）", nullable=True, uscc=True,
               pii=True, optional=True),
    ),
))

_register(TableSpec(
    "loan_monthly", "Monthly loan balances and delinquency", "贷款月度余额与逾期", source="banks 银行",
    key=("loan_id", "month_end"), asof_column="month_end",
    columns=(
        Column("loan_id", "str", "Loan identifier", "贷款编号"),
        _eid(), _month(),
        _amount("balance", "Outstanding principal at month end", "月末贷款余额"),
        Column("days_past_due", "int", "Days past due at month end", "月末逾期天数", min_value=0, unit="days"),
        _cat("risk_class_5", "5-category class at month end", "月末五级分类", ref.RISK_CLASSES),
        Column("interest_arrears", "bool", "Interest in arrears at month end", "是否欠息"),
    ),
))

_register(TableSpec(
    "green_annual", "Green and carbon data", "绿色与碳排放信息", source="environment 生态环境", required=False,
    key=("enterprise_id", "year"), asof_column="published_date",
    columns=(
        _eid(),
        Column("year", "int", "Year", "年度", min_value=1990, max_value=2100),
        Column("published_date", "date", "Date the annual figures were published", "发布日期"),
        Column("carbon_intensity", "float", "Carbon emission intensity", "碳排放强度", nullable=True, min_value=0.0,
               unit="tCO2 per 10k CNY revenue"),
        Column("green_credit_label", "bool", "Holds a green-credit label", "是否获得绿色信贷标识"),
        _cat("env_credit_grade", "Environmental credit grade", "企业环境信用等级", ref.ENV_GRADES, nullable=True),
    ),
))

_register(TableSpec(
    "related_persons", "Related persons", "关联自然人", source="market supervision, courts, credit bureau", required=False,
    key=("enterprise_id", "person_id", "role"), asof_column=None, extra_dates=("dishonest_since", "bad_record_since"),
    columns=(
        _eid(),
        Column("person_id", "str", "Pseudonymous person id", "自然人脱敏编号"),
        _cat("role", "Role", "角色", ref.PERSON_ROLES),
        Column("dishonest_debtor", "bool", "On the dishonest-debtor list (as of extraction)", "是否失信被执行人"),
        Column("dishonest_since", "date", "Date listed as dishonest debtor", "列入失信名单日期", nullable=True),
        Column("bad_credit_record", "bool", "Has a bad credit record (as of extraction)", "是否有不良信用记录"),
        Column("bad_record_since", "date", "Date of the first bad credit record", "首次不良记录日期", nullable=True),
    ),
))

_register(TableSpec(
    "loan_events", "Loan events", "贷款事件", source="banks 银行",
    required=False,
    key=("loan_id", "event_date", "event_type"), asof_column="event_date",
    columns=(
        _eid(),
        Column("loan_id", "str", "Loan identifier", "贷款编号"),
        Column("event_date", "date", "Date of the event", "事件日期"),
        _cat("event_type", "Type of event", "事件类型", ref.LOAN_EVENT_TYPES),
    ),
))

def _application_head() -> tuple[Column, ...]:
    """The columns a credit application starts with (new applications and their history alike)."""
    return (
        Column("application_id", "str", "Application identifier", "申请编号"),
        _eid(),
        Column("application_date", "date", "Date of application", "申请日期"),
        Column("requested_amount", "float", "Requested amount", "申请金额", min_value=0.0, unit="CNY"),
        _cat("product", "Product", "贷款品种", ref.PRODUCTS),
    )


_register(TableSpec(
    "loan_applications", "New loan applications", "新贷款申请", source="banks 银行", required=False,
    key=("application_id",), asof_column="application_date",
    columns=(
        *_application_head(),
        Column("term_months", "int", "Requested term", "申请期限", min_value=1, max_value=360, unit="months"),
        _cat("collateral_type", "Offered collateral or guarantee", "拟提供担保方式", ref.COLLATERAL_TYPES),
        _amount("collateral_value", "Appraised value of offered collateral", "拟提供押品评估价值", nullable=True),
    ),
))

_register(TableSpec(
    "application_history", "Past credit applications with the bank's decision", "历史贷款申请及审批结果",
    source="banks 银行", required=False,
    key=("application_id",), asof_column="application_date",
    columns=(
        *_application_head(),
        _cat("collateral_type", "Offered collateral or guarantee", "拟提供担保方式", ref.COLLATERAL_TYPES),
        _cat("decision", "Bank's decision", "审批结果", ("approved", "rejected")),
        Column("loan_id", "str", "Loan granted on approval (empty when rejected)", "批准后发放的贷款编号", nullable=True),
    ),
))

REQUIRED_TABLES = [name for name, spec in TABLES.items() if spec.required]
OPTIONAL_TABLES = [name for name, spec in TABLES.items() if not spec.required]
PII_COLUMNS = sorted({c.name for spec in TABLES.values() for c in spec.all_columns if c.pii})


def data_model_markdown() -> str:
    """Render the bilingual data-model documentation (docs/data_model.md)."""
    lines = [
        "# Data model / 数据模型",
        "",
        "Generated from `smecredit.data.schemas` (`python -m smecredit.data.schemas > docs/data_model.md`).",
        "Load a bank's own tables as one Parquet or CSV file per table, named `<table>.parquet` or `<table>.csv`,",
        "in one folder, and check them with `smecredit validate --raw DIR`.",
        "",
        "Every table is keyed by `enterprise_id`, an 18-character unified social credit code (统一社会信用代码) with a",
        "valid GB 32100-2015 check character. Dates are calendar dates (no time). Amounts are in CNY and never",
        "negative. The *as-of column* of a table is the date at which a record becomes known: point-in-time",
        "features use only records whose as-of date is on or before the snapshot; other dates of a record",
        "(e.g. `paid_date`, `pledge_date`, `dishonest_since`) are ignored when they fall after the snapshot.",
        "**Publication lags**: the periodic source tables (" + ", ".join(f"`{t}`" for t in AVAILABLE_DATE_TABLES) + ")",
        "may carry an optional `available_date` column, the date the record reached the bank (e.g. the tax bureau",
        "publishes a month's VAT data in the middle of the next month). When present, point-in-time features use",
        "only rows whose `available_date` is on or before the snapshot (as well as their as-of date); an empty",
        "`available_date`, or a file without the column, means the record is known at its as-of date. Labels",
        "(future defaults) and the population (loans outstanding at the snapshot, the bank's own books) do not",
        "depend on it.",
        "Columns marked PII never appear in reports, logs or MLflow artifacts (keyed pseudonyms are used).",
        "",
        "| table | 表 | required | key | as-of column | source |",
        "|---|---|---|---|---|---|",
    ]
    for spec in TABLES.values():
        lines.append(f"| `{spec.name}` | {spec.zh} | {'yes' if spec.required else 'optional'} | "
                     f"{', '.join(spec.key)} | {spec.asof_column or '—'} | {spec.source} |")
    for spec in TABLES.values():
        lines += ["", f"## `{spec.name}` — {spec.en} / {spec.zh}", "",
                  "| column | type | null | allowed / range | unit | description | 说明 |",
                  "|---|---|---|---|---|---|---|"]
        for c in spec.all_columns:
            if c.allowed:
                rng = ", ".join(f"`{v}`" for v in c.allowed)
            elif c.min_value is not None or c.max_value is not None:
                rng = f"[{'' if c.min_value is None else c.min_value:g}, {'' if c.max_value is None else c.max_value:g}]" \
                    if c.max_value is not None and c.min_value is not None else (f"≥ {c.min_value:g}" if c.min_value is not None else f"≤ {c.max_value:g}")
            elif c.uscc:
                rng = "GB 32100 check character"
            else:
                rng = ""
            if c.dtype == "date" and not c.future_ok:
                rng = (rng + "; " if rng else "") + "not in the future"
            flags = (" (PII)" if c.pii else "") + (" (optional column)" if c.optional else "")
            lines.append(f"| `{c.name}`{flags} | {c.dtype} | {'yes' if c.nullable else 'no'} | {rng} | {c.unit} | "
                         f"{c.en} | {c.zh} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(data_model_markdown(), end="")
