"""``smecredit decide loan``, ``smecredit decide renewal`` and ``smecredit portfolio``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from smecredit.cli import app, console

decide_app = typer.Typer(help="Credit decisions: new loans and renewals without repayment (无还本续贷).",
                         no_args_is_help=True)
app.add_typer(decide_app, name="decide")

_MODEL = typer.Option(..., "--model", help="MLflow model folder or URI (models:/name@alias, runs:/...).")
_RAW = typer.Option(..., "--raw", help="Raw data folder (one Parquet/CSV file per table).")
_ASOF = typer.Option(..., "--as-of", help="Decision date, e.g. 2025-12-31 (only data dated on or before it are used).")
_POLICY = typer.Option(None, "--policy", help="Policy YAML (default: the shipped default policy).")
_OUT = typer.Option(..., "--out", help="Output file (.parquet or .csv), written atomically.")
_AUDIT = typer.Option(None, "--audit", help="Audit store folder: the decisions are appended as a new part file.")


def _counts(dec, title: str) -> None:
    t = Table(title=title)
    t.add_column("decision")
    t.add_column("count", justify="right")
    t.add_column("EAD ¥", justify="right")
    t.add_column("EL ¥", justify="right")
    for d, g in dec.groupby("decision", sort=True):
        t.add_row(str(d), str(len(g)), f"{g['ead'].sum():,.0f}", f"{g['el'].sum():,.0f}")
    console.print(t)


def _audit_line(audit) -> None:
    if audit is None:
        return
    from smecredit.decisions.audit import chain_head

    head = chain_head(audit) or {}
    console.print(f"audit record {head.get('part')} appended to {audit} (chain head mac {head.get('mac', '')}); keep "
                  "this mac with the run's records", highlight=False, soft_wrap=True)


@decide_app.command("loan")
def decide_loan(model: str = _MODEL, raw: Path = _RAW,
                applications: Path = typer.Option(..., "--applications", help="Applications file (.parquet/.csv)."),
                as_of: str = _ASOF, policy: Path | None = _POLICY, out: Path = _OUT, audit: Path | None = _AUDIT) -> None:
    """Approve / refer / decline new-loan applications with a credit limit, price tier and every reason."""
    from smecredit.pipelines.decide import run_loan_decisions

    dec = run_loan_decisions(model, raw, applications, as_of, policy=policy, out=out, audit=audit)
    if len(dec):
        _counts(dec, f"Loan decisions as of {as_of}")
    console.print(f"{len(dec)} decisions written to {out}", highlight=False)
    _audit_line(audit)


@decide_app.command("renewal")
def decide_renewal(model: str = _MODEL, raw: Path = _RAW, as_of: str = _ASOF, policy: Path | None = _POLICY,
                   out: Path = _OUT, audit: Path | None = _AUDIT,
                   within_days: int | None = typer.Option(
                       None, "--within-days", help="Review the loans maturing from today to N days ahead "
                       "(N up to the policy's max_window_days) instead of the policy's window.")) -> None:
    """Advance review of loans maturing in the policy's window: renew / renew with conditions / refer / repay."""
    from smecredit.pipelines.decide import run_renewal_review

    dec = run_renewal_review(model, raw, as_of, policy=policy, out=out, audit=audit,
                             window=None if within_days is None else (0, within_days))
    if len(dec):
        _counts(dec, f"Renewal review as of {as_of}")
    console.print(f"{len(dec)} loans reviewed, written to {out}", highlight=False)
    _audit_line(audit)


@app.command("portfolio")
def portfolio(decisions: list[Path] = typer.Option(..., "--decisions",
                                                  help="Output of `smecredit decide` (.parquet/.csv); repeat to combine files."),
              policy: Path | None = _POLICY,
              out: Path | None = typer.Option(None, "--out", help="Write the segment summary here (.parquet/.csv)."),
              ) -> None:
    """Expected loss (PD × LGD × EAD) of booked exposures, by segment and by risk-sharing party."""
    from smecredit.pipelines.decide import run_portfolio

    exp, summary, parties = run_portfolio(decisions, policy=policy, out=out)
    t = Table(title=f"Expected loss of {len(exp)} booked exposures")
    for c in ("segment", "exposures", "EAD ¥", "EL ¥", "EL rate"):
        t.add_column(c, justify="left" if c == "segment" else "right")
    for r in summary.itertuples():
        label = "portfolio" if r.segment_type == "portfolio" else f"{r.segment_type}={r.segment}"
        rate = "" if r.el_rate != r.el_rate else f"{r.el_rate:.2%}"
        t.add_row(label, str(r.exposures), f"{r.ead:,.0f}", f"{r.el:,.2f}", rate)
    console.print(t)
    p = Table(title="Expected loss by party / 各方分担")
    for c in ("party", "EL ¥", "share"):
        p.add_column(c, justify="left" if c == "party" else "right")
    for r in parties.itertuples():
        p.add_row(f"{r.party} {r.party_zh}", f"{r.el:,.2f}", f"{r.share:.1%}")
    console.print(p)
    from smecredit.decisions.policy import load_policy
    from smecredit.decisions.portfolio import compensation_ratio_by_scheme

    comp = compensation_ratio_by_scheme(exp, load_policy(policy))
    if len(comp):
        c = Table(title="Expected compensation ratio by scheme / 各方案预期代偿率")
        for col in ("scheme", "exposures", "guaranteed ¥", "expected 代偿 ¥", "ratio", "cap"):
            c.add_column(col, justify="left" if col == "scheme" else "right")
        for r in comp.itertuples():
            cap = "" if r.cap is None or r.cap != r.cap else f"{r.cap:.0%}" + ("" if r.within_cap else " exceeded")
            c.add_row(r.scheme, str(r.exposures), f"{r.guaranteed_amount:,.0f}", f"{r.expected_compensation:,.0f}",
                      f"{r.compensation_ratio:.2%}", cap)
        console.print(c)
    if out is not None:
        console.print(f"segment summary written to {out}", highlight=False)
