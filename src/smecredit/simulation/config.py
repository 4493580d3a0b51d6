"""The simulated city's configuration: one frozen pydantic model, every invalid field reported at once.

``SimConfig(**fields)`` (and ``SimConfig.model_validate(mapping)``) raises
:class:`smecredit.exceptions.ConfigError` (exit 2) listing every problem — unknown fields, wrong types,
values out of range and inconsistent downturn fields — one line per field. The defaults give the
realistic city documented in ``docs/simulator.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smecredit.data import reference as ref
from smecredit.exceptions import ConfigError



def _share(default: float) -> Any:
    return Field(default, ge=0.0, le=1.0)


class SimConfig(BaseModel):
    """Parameters of the simulated city (defaults give realistic figures; see docs/simulator.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_enterprises: int = Field(20_000, ge=1)
    months: int = 36
    seed: int = Field(0, ge=0)
    end: str = "2025-12-31"
    # latent health chain
    n_states: int = Field(41, ge=5, le=401)
    phi: float = Field(0.93, gt=0.0, lt=1.0)
    # hazard of a missed payment (monthly logit), then roll rates 30 -> 60 -> 90 -> default (logits at z = 0)
    a0: float = -6.75
    beta: float = Field(1.3, ge=0.0)
    gamma: float = Field(1.0, gt=0.0)
    u_sd: float = Field(0.5, ge=0.0)
    theta_step: float = Field(0.25, gt=0.0, le=1.0)
    roll_1: float = 0.2
    roll_2: float = 0.9
    roll_3: float = 1.6
    roll_health: float = Field(0.6, ge=0.0)  # roll rates rise as health falls
    strategic_roll: float = 4.0  # strategic defaulters roll on (logit shift of the roll rates)
    strategic_share: float = _share(0.04)
    leverage_share: float = _share(0.3)  # highly leveraged enterprises
    leverage_kink: float = Field(0.9, ge=0.0)  # hazard rises by this × (-health - kink_at) below -kink_at
    kink_at: float = 0.5
    spring_squeeze: float = 0.3  # hazard logit in the month before the Spring Festival
    fraud_share: float = _share(0.01)  # companies inflating invoices (虚开发票)
    inflation_share: float = _share(0.25)  # new applicants window-dressing sales in the months before applying
    extra_loan_rate: float = _share(0.06)  # monthly chance that a weak, current borrower borrows from another bank
    forbearance_share: float = _share(0.5)
    # evergreening (借新还旧): a share of missed payments hidden by a new loan for a while (mean months), after
    # which the spell ends in arrears (logit shift over the 1–30 roll rate) or, for recovered firms, a cure
    evergreen_share: float = _share(0.2)
    evergreen_months: float = Field(9.0, ge=1.0, le=36.0)
    evergreen_surface: float = 1.5
    # population dynamics unrelated to loans: births (share of the stock a year registering in the window)
    # and exits of enterprises without bank loans (share of all entities a year)
    birth_rate: float = Field(0.10, ge=0.0, le=1.0)
    exit_rate: float = Field(0.05, ge=0.0, le=0.5)
    micro_risk: float = 0.45  # static risk (logit) of micro enterprises over small ones
    burn_in: int = Field(12, ge=0, le=120)  # months simulated before the window: a delinquent stock at the start
    writeoff_months: tuple[int, int] = (2, 6)  # defaulted loans written off or disposed after this many months
    guarantee_cluster_share: float = _share(0.15)  # of companies in manufacturing, construction, trade, transport
    cluster_guarantee_share: float = _share(0.7)  # of cluster members' loans guaranteed inside the cluster
    contagion_steps: int = Field(6, ge=0, le=32)  # member's hazard jump when its anchor defaults, in theta steps
    # systematic factors
    cycle_phi: float = Field(0.85, ge=0.0, lt=1.0)
    cycle_sd: float = Field(0.06, ge=0.0)
    macro_shock: float = Field(-0.45, le=0.0)
    macro_len: int = Field(6, ge=1, le=60)
    # borrowing
    borrower_share: float = _share(0.62)  # kept for compatibility; underwriting uses applicant_share and approval_cutoff
    applicant_share: float = _share(0.70)
    approval_cutoff: float = 1.0  # approve when the bank's risk score is below this (when approval_rate is None)
    # or a risk appetite: approve the best-scored approval_rate of the applicants (the cut-off is that quantile
    # of the bank's score among the chunk's applications in the window), whatever the population's risk
    approval_rate: float | None = Field(0.78, gt=0.0, lt=1.0)
    bank_score_noise: float = Field(0.6, ge=0.0)
    new_borrower_share: float = _share(0.12)
    fixed_asset_share: float = _share(0.15)
    renewal_share: float = _share(0.45)
    weak_renewal_share: float = _share(0.35)  # share of weak (not delinquent) borrowers still renewed without repayment
    application_share: float = _share(0.04)
    # observability: dispersion of enterprise base levels and health loading of the tax ratio
    productivity_sd: float = Field(0.4, ge=0.0)
    energy_intensity_sd: float = Field(0.5, ge=0.0)
    tax_ratio_health: float = 0.0
    signal_loading: float = Field(1.0, ge=0.0)  # multiplies the health loading of sales, utilities and headcount
    # court signals (observations only, never the hazard; docs/simulator.md "Court signals"): lawsuits at
    # log-rate ``court_lawsuit_base − court_distress·h + court_static·(theta − 0.75)`` (× size), plus
    # ``court_arrears`` a month (× the bucket's weight) once the firm stops paying; a share of lawsuits become
    # enforcement cases, a share of those dishonest-debtor listings (shares at h = 0 and median theta,
    # rising with distress), removed for a share of the firms that recover
    court_lawsuit_base: float = Field(-7.4, le=0.0)
    court_distress: float = Field(2.0, ge=0.0, le=4.0)
    court_static: float = Field(1.5, ge=0.0, le=4.0)  # log-rate per unit of static risk theta
    court_arrears: float = Field(0.12, ge=0.0, le=0.4)
    court_enforcement_share: float = _share(0.06)
    court_listing_share: float = _share(0.1)
    court_removal_share: float = _share(0.6)
    # optional industry downturn (off by default): from month ``downturn_start`` (YYYY-MM) the distress
    # hazard logit of industry ``downturn_industry`` rises by ``downturn_severity``; the sources do not show it
    downturn_industry: str | None = None
    downturn_start: str | None = None
    downturn_severity: float = Field(0.0, ge=0.0, le=5.0)
    # ... hitting only an exposed share of the industry's enterprises (None: all of them). Exposure is an
    # unobserved trait (export dependence), more frequent among larger firms: a change in who is risky,
    # not only in how many, so a model trained before it loses discrimination
    downturn_exposed_share: float | None = Field(None, gt=0.0, le=1.0)

    @field_validator("months")
    @classmethod
    def _months_in_range(cls, v: int) -> int:
        if not 13 <= v <= 240:
            raise ValueError(f"must be between 13 and 240; got {v}")
        return v

    @field_validator("end")
    @classmethod
    def _end_is_a_past_month_end(cls, v: str) -> str:
        try:
            end = pd.Timestamp(v)
        except ValueError:
            raise ValueError(f"must be a date (YYYY-MM-DD); got {v!r}") from None
        if end != end + pd.offsets.MonthEnd(0):
            raise ValueError(f"must be the last day of a month; got {v}")
        if end > pd.Timestamp(dt.date.today()):
            raise ValueError(f"must not be in the future; got {v}")
        return v

    @field_validator("writeoff_months")
    @classmethod
    def _writeoff_ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 36:
            raise ValueError(f"must be (low, high) months with 1 <= low <= high <= 36; got {v}")
        return v

    @field_validator("downturn_industry")
    @classmethod
    def _known_industry(cls, v: str | None) -> str | None:
        if v is not None and v not in ref.INDUSTRIES:
            raise ValueError(f"must be one of {', '.join(ref.INDUSTRIES)}; got {v!r}")
        return v

    @field_validator("downturn_start")
    @classmethod
    def _a_month(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if len(v) != 7:
                    raise ValueError
                pd.Period(v, freq="M")
            except ValueError:
                raise ValueError(f"must be a month (YYYY-MM); got {v!r}") from None
        return v

    @model_validator(mode="wrap")
    @classmethod
    def _all_problems_at_once(cls, data: Any, handler: Any) -> Any:
        cross = _cross_field_problems(data) if isinstance(data, dict) else []
        try:
            cfg = handler(data)
        except ValidationError as exc:
            problems = [(".".join(str(x) for x in e["loc"]) or "(top level)", e["msg"].removeprefix("Value error, "))
                        for e in exc.errors()]
            raise ConfigError(_message(problems + [p for p in cross if p[0] not in {q[0] for q in problems}])) from None
        if cross:
            raise ConfigError(_message(cross))
        return cfg

    @classmethod
    def realistic(cls, **fields: Any) -> SimConfig:
        """The city with every issue-14 mechanism on: since session 6 this is the default, ``SimConfig(**fields)``.

        Kept so that code written against the earlier API (when evergreening, births and exits were off by
        default) still runs and gives the same city as ``SimConfig(**fields)``.
        """
        return cls(**fields)

    @property
    def downturn_on(self) -> bool:
        """Whether the optional industry downturn is configured (both its industry and start month)."""
        return self.downturn_industry is not None or self.downturn_start is not None


def _cross_field_problems(data: dict) -> list[tuple[str, str]]:
    """Problems between fields (the downturn's three fields go together)."""
    ind, start = data.get("downturn_industry"), data.get("downturn_start")
    sev = data.get("downturn_severity", 0.0)
    out = []
    if ind is not None or start is not None:
        if ind is None:
            out.append(("downturn_industry", "required when downturn_start is set"))
        if start is None:
            out.append(("downturn_start", "required when downturn_industry is set"))
        if isinstance(sev, (int, float)) and not isinstance(sev, bool) and not sev > 0:
            out.append(("downturn_severity", f"must be in (0, 5] when the downturn is on; got {sev!r}"))
    elif data.get("downturn_exposed_share") is not None:
        out.append(("downturn_exposed_share", "needs a downturn (downturn_industry and downturn_start)"))
    return out


def _message(problems: list[tuple[str, str]]) -> str:
    lines = [f"invalid simulator configuration: {len(problems)} problem(s)"]
    lines += [f"  - {loc}: {msg}" for loc, msg in problems]
    return "\n".join(lines)
