"""Expected loss and its split between the parties that share credit risk.

``EL = PD × LGD × EAD``. The loss on default is shared between the bank, the guarantors
(originating guarantor, county guarantor, provincial re-guarantee, the national financing
guarantee fund), an insurer and a government risk-compensation fund, with shares that sum
to 1. Published structures ship as named presets (:data:`PRESET_DEFINITIONS`) with the bounds of the
scheme they come from; a bank may add its own schemes in the policy file.

Money is handled exactly: amounts are :class:`decimal.Decimal` yuan rounded to the fen
(0.01), and a split allocates the rounding residual by the largest-remainder method (ties
broken by the fixed party order), so the parties' amounts always add up to the expected
loss to the fen.

Examples
--------
>>> s = get_scheme("anhui_4321")
>>> split_loss(expected_loss(0.03, 0.45, 1_000_000), s)["originating_guarantor"]
Decimal('5400.00')

The schemes themselves (parties, presets, bank-defined schemes) are in
:mod:`smecredit.decisions.risk_schemes`; every name there is re-exported here, so
``smecredit.decisions.risk_sharing.get_scheme`` and the rest keep working. This module holds the
money: expected loss, its split, the 代偿 cash flows on default, fees and compensation.
"""

from __future__ import annotations

import logging
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from fractions import Fraction  # noqa: F401 - re-exported (tests use rs.Fraction)

from smecredit.decisions.risk_schemes import (BANK_FLOOR, CENT, CUSTOM_KEYS, GOVERNMENT_FUND_PARTIES,
                                              GOVERNMENT_GUARANTEE_PARTIES, PARTIES, PARTY_ZH, PRESET_DEFINITIONS,
                                              Bound, RiskShareStructure, _dec, bilateral_scheme,
                                              custom_scheme, get_scheme, make_scheme, validate_against_preset)
from smecredit.exceptions import PolicyError

__all__ = ["BANK_FLOOR", "CENT", "CUSTOM_KEYS", "GOVERNMENT_FUND_PARTIES", "GOVERNMENT_GUARANTEE_PARTIES", "PARTIES",
           "PARTY_ZH", "PRESET_DEFINITIONS", "Bound", "RiskShareStructure", "bilateral_scheme", "break_even_fee",
           "compensation", "compensation_ratio_ok", "compensatory_payment", "custom_scheme", "default_cash_flows",
           "expected_loss", "front_payer", "get_scheme", "loss_on_default", "make_scheme", "round_down", "split_loss",
           "validate_against_preset"]

log = logging.getLogger(__name__)


def expected_loss(pd_, lgd, ead) -> Decimal:
    """Expected loss ``PD × LGD × EAD`` in yuan, exact, rounded half-even to the fen.

    Raises :class:`PolicyError` when PD or LGD is outside [0, 1] or EAD is negative.
    """
    p, l_, e = _dec(pd_), _dec(lgd), _dec(ead)
    if not (0 <= p <= 1):
        raise PolicyError(f"pd must be in [0, 1], got {pd_}")
    if not (0 <= l_ <= 1):
        raise PolicyError(f"lgd must be in [0, 1], got {lgd}")
    if e < 0:
        raise PolicyError(f"ead must be >= 0, got {ead}")
    return (p * l_ * e).quantize(CENT, rounding=ROUND_HALF_EVEN)


def split_loss(amount, scheme: RiskShareStructure) -> dict[str, Decimal]:
    """Split ``amount`` (yuan) between the parties of ``scheme``, summing exactly to it.

    Each party gets its exact share rounded down to the fen; the remaining fen go one by one
    to the parties with the largest remainders (ties in :data:`PARTIES` order).
    """
    total_cents = int((_dec(amount) / CENT).to_integral_value(rounding=ROUND_HALF_EVEN))
    if total_cents < 0:
        raise PolicyError(f"loss amount must be >= 0, got {amount}")
    exact = {p: scheme.shares[p] * total_cents for p in PARTIES}
    floors = {p: int(v.numerator // v.denominator) for p, v in exact.items()}
    residual = total_cents - sum(floors.values())
    order = sorted(PARTIES, key=lambda p: (-(exact[p] - floors[p]), PARTIES.index(p)))
    for p in order[:residual]:
        floors[p] += 1
    return {p: Decimal(floors[p]) * CENT for p in PARTIES}


def loss_on_default(lgd, ead) -> Decimal:
    """Loss given default in yuan (``LGD × EAD``), to the fen."""
    return (_dec(lgd) * _dec(ead)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def compensatory_payment(ead, share, accrued_interest=0) -> Decimal:
    """Compensation (代偿) of ``share`` of the exposure: ``share × (principal + accrued interest)``."""
    return (_dec(share) * (_dec(ead) + _dec(accrued_interest))).quantize(CENT, rounding=ROUND_HALF_EVEN)


def front_payer(scheme: RiskShareStructure) -> str | None:
    """The party that pays the bank on default: the originating guarantor, else the county guarantor,
    else the insurer, else the first other non-bank party; None when the bank carries everything."""
    for p in ("originating_guarantor", "county_guarantor", "insurer", *PARTIES):
        if p != "bank" and scheme.shares[p] > 0:
            return p
    return None


def default_cash_flows(ead, lgd, scheme: RiskShareStructure) -> dict[str, dict[str, Decimal]]:
    """Cash flows of each party when the borrower defaults with exposure ``ead`` and loss rate ``lgd``.

    One LGD basis (LGD already nets recoveries; no separate recovery rate is applied on top):

    - the front payer (:func:`front_payer`, the originating guarantor) pays the bank its compensation
      (代偿) ``(1 − s_bank) × EAD``: the bank keeps its own share of the exposure;
    - it claims from every other risk-sharing party (re-guarantors, national fund, compensation fund)
      ``s_p × EAD``;
    - recoveries from the borrower (追偿), ``(1 − LGD) × EAD``, are shared pro rata ``s_p``;
    - each party's net loss is ``s_p × LGD × EAD``.

    Returns party → ``{"pays", "receives", "recovery", "net_loss"}`` (yuan, to the fen) for every party;
    the bank's ``pays`` is the exposure it has lent (EAD). Net losses sum exactly to ``LGD × EAD``,
    recoveries to ``(1 − LGD) × EAD`` (largest-remainder rounding).
    """
    e = _dec(ead).quantize(CENT, rounding=ROUND_HALF_EVEN)
    lod = loss_on_default(lgd, e)
    net = split_loss(lod, scheme)
    part = split_loss(e, scheme)           # each party's share of the exposure, summing exactly to EAD
    rec = {p: part[p] - net[p] for p in PARTIES}
    front = front_payer(scheme)
    pays = {p: Decimal("0.00") for p in PARTIES}
    receives = {p: Decimal("0.00") for p in PARTIES}
    pays["bank"] = e
    if front is not None:
        receives["bank"] = pays[front] = e - part["bank"]
        for p in PARTIES:
            if p not in ("bank", front) and part[p] > 0:
                pays[p] = part[p]
                receives[front] += part[p]
    return {p: {"pays": pays[p], "receives": receives[p], "recovery": rec[p], "net_loss": net[p]} for p in PARTIES}


def break_even_fee(pd_, lgd, share) -> Decimal:
    """Break-even annual guarantee fee rate of a party carrying ``share``: ``PD × LGD × share``.

    On an LGD basis (LGD nets recoveries). Quoting a separate recovery rate r instead, it would be
    ``PD × (1 − r) × share`` — never both (domain notes §5.3: 0.03 × 0.45 × 0.40 = 0.54 % a year).
    """
    return _dec(pd_) * _dec(lgd) * _dec(share)


def compensation(compensatory_amount, rate, cap=None) -> Decimal:
    """Government risk compensation: ``rate × 代偿``, capped by the pool ``cap`` when given."""
    out = (_dec(rate) * _dec(compensatory_amount)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    if cap is not None:
        out = min(out, _dec(cap))
    return out


def compensation_ratio_ok(compensated, released, cap) -> bool:
    """代偿率 monitor: compensatory payments / guarantees released must not exceed ``cap`` (4%, 5% tech)."""
    released = _dec(released)
    if released <= 0:
        raise PolicyError("guarantees released must be > 0 to compute the compensation ratio")
    return _dec(compensated) / released <= _dec(cap)


def round_down(amount, step) -> Decimal:
    """Round ``amount`` down to a multiple of ``step`` (yuan)."""
    step = _dec(step)
    return (_dec(amount) / step).to_integral_value(rounding=ROUND_FLOOR) * step
