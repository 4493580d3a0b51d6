"""Risk-sharing schemes: the parties, the published presets and the schemes a bank defines.

A :class:`RiskShareStructure` gives each party (:data:`PARTIES`) a share of the loss, summing to 1,
checked against the bounds of the scheme it comes from. The money computed with a scheme (expected
loss, its split, 代偿 cash flows) is in :mod:`smecredit.decisions.risk_sharing`, which re-exports
every public name of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from smecredit.exceptions import PolicyError

#: Parties that can carry a share of the loss, in the fixed order used for ties and output.
PARTIES: tuple[str, ...] = (
    "bank",
    "originating_guarantor",
    "county_guarantor",
    "provincial_reguarantee",
    "national_fund",
    "insurer",
    "risk_compensation_fund",
)
PARTY_ZH = {
    "bank": "银行",
    "originating_guarantor": "融资担保机构（原担保）",
    "county_guarantor": "县级担保机构",
    "provincial_reguarantee": "省级再担保",
    "national_fund": "国家融资担保基金",
    "insurer": "保险公司",
    "risk_compensation_fund": "政府风险补偿资金",
}
#: The parties belonging to the government guarantee system (for the 2024 ≤ 80% bound).
GOVERNMENT_GUARANTEE_PARTIES = ("originating_guarantor", "county_guarantor", "provincial_reguarantee", "national_fund")

CENT = Decimal("0.01")


def _dec(x) -> Decimal:
    """Exact decimal of a number (floats through their shortest repr, so 0.03 is 0.03)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, Fraction):
        return Decimal(x.numerator) / Decimal(x.denominator)
    return Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)


def _frac(x) -> Fraction:
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


@dataclass(frozen=True)
class Bound:
    """A bound on one party's share (or on the sum of several parties' shares)."""

    parties: tuple[str, ...]
    low: Fraction = Fraction(0)
    high: Fraction = Fraction(1)
    text: str = ""


@dataclass(frozen=True)
class RiskShareStructure:
    """A validated loss-sharing structure: party → share, shares in [0, 1] summing exactly to 1.

    Parameters
    ----------
    name : str
        Scheme name (e.g. ``"national_2019"``).
    shares : mapping of str to number
        Share of the loss carried by each party (see :data:`PARTIES`); missing parties carry 0.
    bounds : tuple of Bound
        Scheme rules the shares must respect (e.g. bank ≥ 20%).
    source : str
        Where the scheme comes from.
    """

    name: str
    shares: Mapping[str, Fraction]
    bounds: tuple[Bound, ...] = field(default_factory=tuple)
    source: str = ""
    #: Largest exposure (yuan) the scheme may cover for one enterprise (None: no published cap).
    max_exposure: float | None = None
    #: 代偿率 cap of the scheme (compensatory payments / guarantees released), None when not published.
    compensation_ratio_cap: float | None = None

    def __post_init__(self) -> None:
        problems = []
        unknown = sorted(set(self.shares) - set(PARTIES))
        if unknown:
            problems.append(f"unknown part{'ies' if len(unknown) > 1 else 'y'} {unknown}; valid parties are {list(PARTIES)}")
        exact = {}
        for p, v in self.shares.items():
            try:
                f = _frac(v)
            except (TypeError, ValueError):
                problems.append(f"share of {p} must be a number, got {v!r}")
                continue
            if not 0 <= f <= 1:
                problems.append(f"share of {p} must be in [0, 1], got {float(f):g}")
            exact[p] = f
        total = sum(exact.values(), Fraction(0))
        if not problems and total != 1:
            problems.append(f"shares must sum to 1, got {float(total):.6g} ({', '.join(f'{p}={float(v):g}' for p, v in exact.items())})")
        if not problems:
            for b in self.bounds:
                s = sum((exact.get(p, Fraction(0)) for p in b.parties), Fraction(0))
                if not b.low <= s <= b.high:
                    what = " + ".join(b.parties)
                    problems.append(f"{what} share {float(s):.4g} outside [{float(b.low):.4g}, {float(b.high):.4g}]"
                                    + (f" ({b.text})" if b.text else ""))
        if problems:
            raise PolicyError(f"risk-sharing scheme {self.name!r} is invalid: " + "; ".join(problems))
        object.__setattr__(self, "shares", {p: exact.get(p, Fraction(0)) for p in PARTIES})

    def share(self, party: str) -> Fraction:
        """Exact share of ``party`` (0 when it does not take part)."""
        if party not in PARTIES:
            raise PolicyError(f"unknown party {party!r}; valid parties are {list(PARTIES)}")
        return self.shares[party]

    @property
    def guarantor_share(self) -> Fraction:
        """Share carried by the originating (and county) guarantor."""
        return self.shares["originating_guarantor"] + self.shares["county_guarantor"]


def _f(x: str) -> Fraction:
    return Fraction(x)


def _preset_2019_bounds() -> tuple[Bound, ...]:
    return (
        Bound(("bank",), low=_f("0.2"), text="国办发〔2019〕6号: bank at least 20%"),
        Bound(("national_fund",), low=_f("0.2"), high=_f("0.4"), text="national fund 20%, at most 40%"),
    )


def _provincial_at_least_fund(shares: Mapping[str, Fraction]) -> list[str]:
    if shares.get("provincial_reguarantee", 0) < shares.get("national_fund", 0):
        return ["provincial re-guarantee share must be at least the national fund's (国办发〔2019〕6号)"]
    return []


#: Published loss-sharing structures (domain notes §5.2). Bounds are those of the scheme.
PRESET_DEFINITIONS: dict[str, dict] = {
    "national_2019": {
        "shares": {"bank": "0.2", "national_fund": "0.2", "provincial_reguarantee": "0.2", "originating_guarantor": "0.4"},
        "bounds": _preset_2019_bounds(),
        "extra": (_provincial_at_least_fund,),
        "source": "国办发〔2019〕6号 and 国家融资担保基金 operating rules (2019): bank ≥ 20%, fund 20%, provincial ≥ fund",
        "max_exposure": 10_000_000, "compensation_ratio_cap": 0.04,
    },
    "tech_sme_2024": {
        "shares": {"bank": "0.2", "national_fund": "0.4", "provincial_reguarantee": "0.2", "originating_guarantor": "0.2"},
        "bounds": (
            Bound(("bank",), low=_f("0.2"), text="2024 tech-SME plan: bank at least 20%"),
            Bound(GOVERNMENT_GUARANTEE_PARTIES, high=_f("0.8"), text="government guarantee system at most 80%"),
            Bound(("national_fund",), high=_f("0.4"), text="national fund up to 40%"),
            Bound(("provincial_reguarantee",), low=_f("0.2"), text="provincial re-guarantee at least 20%"),
        ),
        "extra": (),
        "source": "支持科技创新专项担保计划 (财政部/科技部/工信部/金融监管总局, 2024-07)",
        "max_exposure": 30_000_000, "compensation_ratio_cap": 0.05,
    },
    "anhui_4321": {
        "shares": {"originating_guarantor": "0.4", "provincial_reguarantee": "0.3", "bank": "0.2", "risk_compensation_fund": "0.1"},
        "bounds": (
            Bound(("originating_guarantor",), low=_f("0.4"), high=_f("0.4"), text="Anhui 4321: city/county guarantor 40%"),
            Bound(("provincial_reguarantee",), low=_f("0.3"), high=_f("0.3"), text="provincial guarantee group 30%"),
            Bound(("bank",), low=_f("0.2"), high=_f("0.2"), text="bank 20%"),
            Bound(("risk_compensation_fund",), low=_f("0.1"), high=_f("0.1"), text="local government 10%"),
        ),
        "extra": (),
        "source": "Anhui 新型政银担 4:3:2:1 (2015–), single balances ≤ 2,000万",
        "max_exposure": 20_000_000, "compensation_ratio_cap": None,
    },
    "xuancheng_520": {
        "shares": {"national_fund": "0.2", "provincial_reguarantee": "0.2", "originating_guarantor": "0.2",
                   "county_guarantor": "0.2", "bank": "0.2"},
        "bounds": tuple(Bound((p,), low=_f("0.2"), high=_f("0.2"), text=f"Xuancheng 520: {p} 20%")
                        for p in ("national_fund", "provincial_reguarantee", "originating_guarantor", "county_guarantor", "bank")),
        "extra": (),
        "source": "Xuancheng 520 (2023): national fund, provincial, city guarantor, county guarantor, bank 20% each",
        # the national fund takes part: its single-firm focus (≤ 1,000万, 政府性融资担保发展管理办法 2025) [K]
        "max_exposure": 10_000_000, "compensation_ratio_cap": 0.04,
    },
    "shanghai_guarantee_insurance": {
        "shares": {"risk_compensation_fund": "0.25", "insurer": "0.45", "bank": "0.3"},
        "bounds": (
            Bound(("risk_compensation_fund",), low=_f("0.25"), high=_f("0.25"), text="government risk compensation 25%"),
            Bound(("insurer",), low=_f("0.45"), high=_f("0.45"), text="insurer 45%"),
            Bound(("bank",), low=_f("0.3"), high=_f("0.3"), text="bank 30%"),
        ),
        "extra": (),
        "source": "Shanghai 科技型中小企业履约保证保险 (2010): gov 25 / insurer 45 / bank 30",
        "max_exposure": 5_000_000, "compensation_ratio_cap": None,
    },
    "bank_only": {
        "shares": {"bank": "1"},
        "bounds": (),
        "extra": (),
        "source": "no risk sharing: the bank carries the whole loss",
        "max_exposure": None, "compensation_ratio_cap": None,
    },
}


def make_scheme(name: str, shares: Mapping[str, object], *, bounds: tuple[Bound, ...] = (),
                extra: tuple = (), source: str = "", max_exposure: float | None = None,
                compensation_ratio_cap: float | None = None) -> RiskShareStructure:
    """Build and validate a :class:`RiskShareStructure` (raises :class:`PolicyError`)."""
    s = RiskShareStructure(name, dict(shares), tuple(bounds), source, max_exposure, compensation_ratio_cap)
    problems = [msg for check in extra for msg in check(s.shares)]
    if problems:
        raise PolicyError(f"risk-sharing scheme {name!r} is invalid: " + "; ".join(problems))
    return s


def validate_against_preset(name: str, shares: Mapping[str, object], preset: str) -> RiskShareStructure:
    """Validate custom ``shares`` against the bounds of published scheme ``preset``.

    E.g. a 2019-rules structure with the bank at 10% is rejected (bank ≥ 20%).
    """
    if preset not in PRESET_DEFINITIONS:
        raise PolicyError(f"unknown risk-sharing preset {preset!r}; valid presets are {sorted(PRESET_DEFINITIONS)}")
    d = PRESET_DEFINITIONS[preset]
    return make_scheme(name, shares, bounds=d["bounds"], extra=d["extra"], source=f"custom under {preset} rules")


#: Floor every bank-defined scheme must respect: the bank keeps at least 20% of the loss
#: (国办发〔2019〕6号, 银担分险; all published schemes in :data:`PRESET_DEFINITIONS` respect it).
BANK_FLOOR = Bound(("bank",), low=Fraction(1, 5), text="国办发〔2019〕6号: the bank keeps at least 20% of the risk")
GOVERNMENT_FUND_PARTIES = ("national_fund", "provincial_reguarantee")
CUSTOM_KEYS = ("shares", "under", "max_exposure", "compensation_ratio_cap")


def custom_scheme(name: str, spec: Mapping[str, object]) -> RiskShareStructure:
    """A bank-defined scheme from the policy file, validated like the presets.

    ``spec`` is either a mapping party → share, or ``{shares: {...}, under: <preset>, max_exposure: yuan,
    compensation_ratio_cap: rate}``. Every custom scheme keeps the bank at 20% or more; a scheme
    ``under`` a preset (and one in which the national fund or a provincial re-guarantor takes part,
    under ``national_2019`` by default) must meet that preset's bounds, and may not cover exposures
    above the preset's single-firm cap or raise its 代偿率 cap.
    """
    if not isinstance(spec, Mapping):
        raise PolicyError(f"risk-sharing scheme {name!r} is invalid: expected a mapping, got {type(spec).__name__}")
    structured = "shares" in spec
    if structured:
        unknown = sorted(set(spec) - set(CUSTOM_KEYS))
        if unknown:
            raise PolicyError(f"risk-sharing scheme {name!r} is invalid: unknown key(s) {unknown}; "
                              f"valid keys are {list(CUSTOM_KEYS)}")
        shares = spec["shares"]
        if not isinstance(shares, Mapping):
            raise PolicyError(f"risk-sharing scheme {name!r} is invalid: shares must be a mapping party → share")
    else:
        shares = spec
    gov = any(_frac(shares.get(p, 0) or 0) > 0 for p in GOVERNMENT_FUND_PARTIES
              if isinstance(shares.get(p, 0), (int, float, str, Fraction)))
    under = spec.get("under") if structured else None
    if under is None and gov:
        under = "national_2019"
    if under is not None and under not in PRESET_DEFINITIONS:
        raise PolicyError(f"risk-sharing scheme {name!r} is invalid: under {under!r} is not a published scheme; "
                          f"valid presets are {sorted(PRESET_DEFINITIONS)}")
    d = PRESET_DEFINITIONS[under] if under else None
    cap = spec.get("max_exposure") if structured else None
    ratio = spec.get("compensation_ratio_cap") if structured else None
    problems = []
    for what, v, ceiling in (("max_exposure", cap, d and d["max_exposure"]),
                             ("compensation_ratio_cap", ratio, d and d["compensation_ratio_cap"])):
        if v is None:
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            problems.append(f"{what} must be a number > 0, got {v!r}")
        elif ceiling is not None and v > ceiling:
            problems.append(f"{what} {v:g} above the {under} scheme's {ceiling:g} ({d['source']})")
    if problems:
        raise PolicyError(f"risk-sharing scheme {name!r} is invalid: " + "; ".join(problems))
    bounds = (BANK_FLOOR, *(d["bounds"] if d else ()))
    return make_scheme(name, shares, bounds=bounds, extra=d["extra"] if d else (),
                       source=f"policy file (under {under} rules)" if under else "policy file",
                       max_exposure=cap if cap is not None else (d["max_exposure"] if d else None),
                       compensation_ratio_cap=ratio if ratio is not None else (d["compensation_ratio_cap"] if d else None))


def get_scheme(name: str, custom: Mapping[str, Mapping[str, object]] | None = None) -> RiskShareStructure:
    """Return the named preset (or a custom scheme from ``custom``), validated."""
    if custom and name in custom:
        return custom_scheme(name, custom[name])
    if name not in PRESET_DEFINITIONS:
        known = sorted(PRESET_DEFINITIONS) + sorted(custom or {})
        raise PolicyError(f"unknown risk-sharing scheme {name!r}; valid schemes are {known}")
    d = PRESET_DEFINITIONS[name]
    return make_scheme(name, {p: Fraction(v) for p, v in d["shares"].items()},
                       bounds=d["bounds"], extra=d["extra"], source=d["source"], max_exposure=d["max_exposure"],
                       compensation_ratio_cap=d["compensation_ratio_cap"])


def bilateral_scheme(guaranteed_share) -> RiskShareStructure:
    """Bank / guarantor split of a commercial or private guarantee covering ``guaranteed_share``."""
    g = _frac(guaranteed_share)
    if not 0 <= g <= 1:
        raise PolicyError(f"guaranteed_share must be in [0, 1], got {float(g):g}")
    return make_scheme(f"bilateral_{float(g):g}", {"bank": 1 - g, "originating_guarantor": g},
                       source="loan-level guaranteed share")
