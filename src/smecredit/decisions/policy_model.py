"""The pydantic model of the decision policy (frozen, unknown keys rejected, every problem reported at once).

Loading a YAML file into it is :func:`smecredit.decisions.policy.load_policy`; the regulatory floor a
file may not lower is :mod:`smecredit.decisions.policy_floor`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from smecredit.data.reference import COLLATERAL_TYPES, LEGAL_FORMS, PRODUCTS, SIZE_CLASSES
from smecredit.decisions import risk_sharing as rs
from smecredit.exceptions import PolicyError

RULE_IDS = tuple(f"R{i:02d}" for i in range(1, 18))
GRADES = tuple(str(i) for i in range(1, 11))


def _known(values, valid, what: str, plural: str):
    """Reject codes outside ``valid``, naming them and the valid ones."""
    bad = [v for v in values if v not in valid]
    if bad:
        raise ValueError(f"unknown {what} {bad}; valid {plural} are {list(valid)}")
    return values

class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _problems(pairs: list[tuple[bool, str]]) -> None:
    msgs = [m for bad, m in pairs if bad]
    if msgs:
        raise ValueError("; ".join(msgs))


_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def _pair_problems(pairs, values) -> list[str]:
    """Messages of the ordering constraints ``(a, op, b, message)`` that ``values`` break.

    Pairs whose values are absent or not numbers are skipped (their own field errors report them).
    """
    out = []
    for a, op, b, msg in pairs:
        va, vb = values.get(a), values.get(b)
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool) \
                and not isinstance(vb, bool) and not _OPS[op](va, vb):
            out.append(msg.format(a=va, b=vb))
    return out


class _Ordered(BaseModel):
    """Checks ordering constraints between fields (``_PAIRS``) even when other fields are invalid,
    so that every problem of a section is reported at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _PAIRS: ClassVar[tuple] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _all_at_once(cls, data, handler):
        try:
            return handler(data)
        except ValidationError as exc:
            extra = _pair_problems(cls._PAIRS, data) if isinstance(data, dict) else []
            if not extra:
                raise
            details = [{"type": e["type"], "loc": e["loc"], "input": e["input"], **({"ctx": e["ctx"]} if "ctx" in e else {})}
                       for e in exc.errors()]
            details += [{"type": PydanticCustomError("ordering", m), "loc": (), "input": data} for m in extra]
            raise ValidationError.from_exception_data(exc.title, details) from None

    @model_validator(mode="after")
    def _ordered(self):
        _problems([(True, m) for m in _pair_problems(self._PAIRS, self.__dict__)])
        return self


class RuleMeta(_Frozen):
    """Documentation of one renewal rule: is it regulation or bank policy, and where it comes from."""

    basis: Literal["regulation", "bank_policy"]
    severity: Literal["hard", "soft", "output", "monitor"]
    source: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    title_zh: str = Field(min_length=1)




class RenewalPolicy(_Ordered):
    """Thresholds of the renewal-without-repayment rules R01–R17 (see the default policy file)."""

    _PAIRS: ClassVar[tuple] = (
        ("window_start_days", "<", "window_end_days",
         "window_start_days ({a}) must be before window_end_days ({b})"),
        ("window_end_days", "<=", "max_window_days",
         "window_end_days ({a}) must not exceed max_window_days ({b}), the review horizon the policy allows"),
        ("approve_pd_max", "<", "refer_pd_max",
         "refer band below approve band: approve_pd_max ({a}) must be < refer_pd_max ({b})"),
        ("approve_grade_max", "<=", "refer_grade_max",
         "refer band below approve band: approve_grade_max ({a}) must be <= refer_grade_max ({b})"),
        ("max_sales_decline", "<", "hard_sales_decline",
         "max_sales_decline ({a}) must be < hard_sales_decline ({b})"),
        ("reduce_amount_above_decline", "<=", "max_sales_decline",
         "reduce_amount_above_decline ({a}) must be <= max_sales_decline ({b})"),
    )

    eligible_products: tuple[str, ...] = Field(min_length=1)
    eligible_size_classes: tuple[str, ...] = Field(min_length=1)
    medium_maturity_cutoff: dt.date
    window_start_days: int = Field(ge=0, le=3650)
    window_end_days: int = Field(ge=1, le=3650)
    max_window_days: int = Field(ge=1, le=3650)
    require_application: bool
    review_lead_days: int = Field(ge=0, le=365)
    min_utilisation: float = Field(ge=0, le=1)
    max_sales_decline: float = Field(gt=0, lt=1)
    hard_sales_decline: float = Field(gt=0, le=1)
    max_electricity_decline: float = Field(gt=0, lt=1)
    max_headcount_decline: float = Field(gt=0, lt=1)
    headcount_required_for: tuple[str, ...] = ()
    alternative_evidence_forms: tuple[str, ...] = ()
    reduce_amount_above_decline: float = Field(ge=0, lt=1)
    min_history_months: int = Field(ge=1, le=12)
    max_data_age_days: int = Field(ge=28, le=366)
    penalty_lookback_months: int = Field(ge=1, le=120)
    overdue_lookback_months: int = Field(ge=12, le=120)
    max_consecutive_overdue_months: int = Field(ge=1, le=24)
    max_cumulative_overdue_months: int = Field(ge=1, le=60)
    enforcement_lookback_months: int = Field(ge=1, le=120)
    approve_pd_max: float = Field(gt=0, lt=1)
    refer_pd_max: float = Field(gt=0, lt=1)
    approve_grade_max: int = Field(ge=1, le=10)
    refer_grade_max: int = Field(ge=1, le=10)
    max_term_months: int = Field(ge=1, le=360)
    max_amount: float = Field(gt=0)
    amount_cap_action: Literal["condition", "refer"]
    restructuring_signs_fail: int = Field(ge=1, le=4)
    collateral_decline_tolerance: float = Field(ge=0, lt=1)
    min_collateral_coverage: float = Field(gt=0, le=10)
    max_consecutive_renewals: int = Field(ge=1, le=100)
    monitoring_interval_months: int = Field(ge=1, le=24)
    restructuring_lookback_months: int = Field(ge=1, le=120)
    reduced_amount_rounding: float = Field(gt=0)
    max_limit_reduction: float = Field(default=0.20, ge=0, le=1)

    @field_validator("eligible_products")
    @classmethod
    def _products(cls, v):
        return _known(v, PRODUCTS, "product(s)", "products")

    @field_validator("headcount_required_for", "alternative_evidence_forms")
    @classmethod
    def _forms(cls, v):
        return _known(v, LEGAL_FORMS, "legal form(s)", "forms")

    @field_validator("eligible_size_classes")
    @classmethod
    def _sizes(cls, v):
        return _known(v, SIZE_CLASSES, "size class(es)", "classes")


class PriceTier(_Frozen):
    tier: str = Field(min_length=1)
    max_grade: int = Field(ge=1, le=10)
    spread_bp: float = Field(ge=0, le=5000)


class LendingPolicy(_Ordered):
    """Thresholds of new-loan decisions: PD/grade bands, credit limit and price tiers."""

    _PAIRS: ClassVar[tuple] = (
        ("approve_pd_max", "<", "refer_pd_max",
         "refer band below approve band: approve_pd_max ({a}) must be < refer_pd_max ({b})"),
        ("approve_grade_max", "<=", "refer_grade_max",
         "refer band below approve band: approve_grade_max ({a}) must be <= refer_grade_max ({b})"),
        ("min_limit", "<", "max_limit", "min_limit ({a}) must be < max_limit ({b})"),
        ("min_term_months", "<=", "max_term_months", "min_term_months ({a}) must be <= max_term_months ({b})"),
    )

    approve_pd_max: float = Field(gt=0, lt=1)
    refer_pd_max: float = Field(gt=0, lt=1)
    approve_grade_max: int = Field(ge=1, le=10)
    refer_grade_max: int = Field(ge=1, le=10)
    revenue_multiple_by_grade: dict[str, float]
    advance_rate: dict[str, float]
    unsecured_cap: float = Field(ge=0)
    guarantee_cap: float = Field(ge=0)
    max_limit: float = Field(gt=0)
    max_group_exposure: float = Field(gt=0)
    max_guarantor_exposure: float = Field(gt=0)
    max_industry_share: float = Field(gt=0, le=1)
    max_county_share: float = Field(gt=0, le=1)
    concentration_min_book: float = Field(ge=0)
    own_lender: str | None = None
    min_limit: float = Field(ge=0)
    limit_rounding: float = Field(gt=0)
    electricity_haircut_above: float = Field(ge=0, lt=1)
    alternative_evidence_forms: tuple[str, ...] = ()
    fixed_quota_tax_rate: float = Field(gt=0, le=0.2)
    alternative_evidence_limit: float = Field(ge=0)
    min_history_months: int = Field(ge=1, le=12)
    penalty_lookback_months: int = Field(ge=1, le=120)
    min_term_months: int = Field(default=1, ge=1, le=360)
    max_term_months: int = Field(default=60, ge=1, le=360)
    price_tiers: tuple[PriceTier, ...] = Field(min_length=1)

    @field_validator("alternative_evidence_forms")
    @classmethod
    def _alt_forms(cls, v):
        return _known(v, LEGAL_FORMS, "legal form(s)", "forms")

    @model_validator(mode="after")
    def _consistent(self):
        m = self.revenue_multiple_by_grade
        grades = [int(g) for g in m if g in GRADES]
        tiers = [t.max_grade for t in self.price_tiers]
        _problems([
            (set(m) != set(GRADES), f"revenue_multiple_by_grade must have exactly the grades {list(GRADES)}, got {sorted(m)}"),
            (any(not 0 <= v <= 5 for v in m.values()), "revenue_multiple_by_grade values must be in [0, 5]"),
            (len(grades) == 10 and any(m[str(g)] < m[str(g + 1)] for g in range(1, 10)),
             "revenue_multiple_by_grade must not increase from grade 1 to grade 10"),
            (bool(set(self.advance_rate) - set(COLLATERAL_TYPES)),
             f"advance_rate has unknown collateral type(s) {sorted(set(self.advance_rate) - set(COLLATERAL_TYPES))}; "
             f"valid types are {list(COLLATERAL_TYPES)}"),
            (any(not 0 <= v <= 1 for v in self.advance_rate.values()), "advance_rate values must be in [0, 1]"),
            (tiers != sorted(tiers) or len(set(tiers)) != len(tiers), "price_tiers must have strictly increasing max_grade"),
            (bool(tiers) and tiers[-1] < self.refer_grade_max,
             f"price_tiers must cover grades up to refer_grade_max ({self.refer_grade_max}); last tier ends at {tiers[-1] if tiers else None}"),
        ])
        return self


class ExpectedLossPolicy(_Frozen):
    """LGD by collateral type and the risk-sharing schemes used for expected loss."""

    lgd: dict[str, float]
    #: Guarantees by the owner, a family member or a related enterprise share the borrower's default
    #: risk: they move no loss off the bank and at most lower the LGD, by this relative amount.
    own_guarantee_lgd_relief: float = Field(ge=0, le=0.5)
    policy_guarantor_scheme: str
    tech_sme_scheme: str
    insurance_scheme: str
    application_guarantor_type: Literal["policy_guarantor", "commercial_guarantor", "related_enterprise", "individual"]
    custom_schemes: dict[str, dict] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_recovery_rate(cls, data):
        if isinstance(data, dict) and "recovery_rate" in data:
            raise ValueError("recovery_rate is not used: LGD already nets recoveries, so applying a recovery "
                             "rate on top double-counts them (domain notes §5.3); remove it and set lgd")
        return data

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        missing = sorted(set(COLLATERAL_TYPES) - set(self.lgd))
        unknown = sorted(set(self.lgd) - set(COLLATERAL_TYPES))
        if missing:
            problems.append(f"lgd is missing collateral type(s) {missing}")
        if unknown:
            problems.append(f"lgd has unknown collateral type(s) {unknown}; valid types are {list(COLLATERAL_TYPES)}")
        problems += [f"lgd of {k} must be in (0, 1], got {v}" for k, v in self.lgd.items() if not 0 < v <= 1]
        clash = sorted(set(self.custom_schemes) & set(rs.PRESET_DEFINITIONS))
        if clash:
            problems.append(f"custom_schemes must not redefine presets {clash}")
        for name, spec in self.custom_schemes.items():
            try:
                rs.custom_scheme(name, spec)
            except PolicyError as exc:
                problems.append(str(exc))
        for field in ("policy_guarantor_scheme", "tech_sme_scheme", "insurance_scheme"):
            name = getattr(self, field)
            if name not in rs.PRESET_DEFINITIONS and name not in self.custom_schemes:
                problems.append(f"{field}: unknown scheme {name!r}; valid schemes are "
                                f"{sorted(rs.PRESET_DEFINITIONS) + sorted(self.custom_schemes)}")
        _problems([(True, p) for p in problems])
        return self

    def scheme(self, name: str) -> rs.RiskShareStructure:
        return rs.get_scheme(name, self.custom_schemes)


class Policy(_Frozen):
    """A complete decision policy (see ``config/default_policy.yaml`` for every field)."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    rules: dict[str, RuleMeta]
    renewal: RenewalPolicy
    lending: LendingPolicy
    expected_loss: ExpectedLossPolicy

    @field_validator("rules")
    @classmethod
    def _all_rules(cls, v):
        missing = [r for r in RULE_IDS if r not in v]
        unknown = sorted(set(v) - set(RULE_IDS))
        msgs = []
        if missing:
            msgs.append(f"missing rule(s) {missing}")
        if unknown:
            msgs.append(f"unknown rule(s) {unknown}; rules are {RULE_IDS[0]}..{RULE_IDS[-1]}")
        if msgs:
            raise ValueError("; ".join(msgs))
        return v

    @property
    def sha256(self) -> str:
        """SHA-256 of the file the policy was loaded from, else of its canonical JSON dump."""
        return self._sha or canonical_sha256(self)

    _sha: str = PrivateAttr(default="")

    def with_sha(self, sha: str) -> Policy:
        """A copy of this policy that reports ``sha`` (the file's SHA-256) as :attr:`sha256`."""
        p = self.model_copy()
        p._sha = sha
        return p


def canonical_sha256(policy: Policy) -> str:
    """SHA-256 of the canonical (sorted-key JSON) dump of ``policy``."""
    dump = json.dumps(policy.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(dump.encode("utf-8")).hexdigest()
