"""Decision runs: load raw data, build features as of DATE, score with a registered model, decide.

The decision engines (:mod:`smecredit.decisions`) are pure; this module does the I/O around them:
it loads the raw folder, computes point-in-time features for the enterprises concerned, scores
them with :func:`smecredit.registry.load_model`, decides, writes the output atomically and
optionally appends the rows to the audit store.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.data import load_raw
from smecredit.data.loaders import RawData
from smecredit.decisions.audit import append_decisions, check_store
from smecredit.decisions.common import REASON_COLUMNS, as_date
from smecredit.decisions.loan import check_applications, decide_loans
from smecredit.decisions.policy import Policy, load_policy
from smecredit.decisions.portfolio import ROW_COLUMN, SOURCE_COLUMN, party_totals, portfolio_exposures, summarise
from smecredit.decisions.renewal import decide_renewals, select_candidates
from smecredit.exceptions import ConfigError, DataContractError, sheet_rows
from smecredit.io import atomic_path, check_table_output, read_table, write_table, write_table_into

log = logging.getLogger(__name__)


def model_identity(model, uri) -> tuple[str, str]:
    """(model_name, model_version) recorded in decision rows: the registry's when known, else the
    model kind and folder name with the MLflow run id."""
    md = getattr(model, "metadata_", {}) or {}
    name = md.get("registered_name") or f"{getattr(model, 'kind', 'model')}:{Path(str(uri)).name}"
    version = md.get("registered_version") or (f"run {md['run_id']}" if md.get("run_id") else "unregistered")
    return str(name), str(version)


def score_enterprises(raw: RawData, model_uri, as_of, enterprise_ids) -> tuple[pd.DataFrame, str, str]:
    """Score ``enterprise_ids`` as of ``as_of`` with the model at ``model_uri``.

    Returns (scores with ``enterprise_id, pd, grade, reason_1..3``, model_name, model_version).
    """
    from smecredit.features import build_features
    from smecredit.registry import load_model

    model = load_model(model_uri)
    name, version = model_identity(model, model_uri)
    known = set(raw["enterprises"]["enterprise_id"])
    ids = sorted(set(enterprise_ids) & known)  # unknown enterprises are not scored: their rows are referred
    cols = ["enterprise_id", "pd", "grade", *REASON_COLUMNS]
    if not ids:
        return pd.DataFrame(columns=cols), name, version
    feats = build_features(raw, [as_date(as_of)], population=ids)
    pred = model.predict(feats)
    for c in REASON_COLUMNS:
        if c not in pred.columns:
            pred[c] = None
    log.info("scored %d enterprises as of %s with %s %s", len(pred), as_date(as_of).date(), name, version)
    return pred[cols].reset_index(drop=True), name, version


def _policy(policy: Policy | str | os.PathLike | None) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def check_as_of(raw: RawData, as_of) -> None:
    """:class:`ConfigError` when ``as_of`` lies outside the months the raw monthly tables cover
    (the same refusal for ``decide loan`` and ``decide renewal``, whatever the candidates)."""
    from smecredit.features._panel import prepare
    from smecredit.features.builder import check_snapshots

    try:
        check_snapshots(prepare(raw), [as_date(as_of)])
    except ConfigError as exc:
        raise ConfigError(f"as_of {as_date(as_of).date()} cannot be decided on: {exc}") from None


def run_renewal_review(model_uri, raw_dir, as_of, *, policy=None, out=None, audit=None,
                       window: tuple[int, int] | None = None) -> pd.DataFrame:
    """Advance review of loans maturing in the policy's window (or ``window`` days, within the policy's
    horizon); write ``out`` and append to ``audit``."""
    _check_outputs(out, audit)
    pol = _policy(policy)
    raw = load_raw(raw_dir)
    check_as_of(raw, as_of)
    cand = select_candidates(raw, as_of, pol, window=window)
    scores, name, version = score_enterprises(raw, model_uri, as_of, cand["enterprise_id"])
    dec = decide_renewals(raw, scores, pol, as_of, model_name=name, model_version=version, candidates=cand)
    _write(dec, out, audit)
    return dec


def run_loan_decisions(model_uri, raw_dir, applications, as_of, *, policy=None, out=None, audit=None) -> pd.DataFrame:
    """Decide the applications in the file ``applications``; write ``out`` and append to ``audit``."""
    _check_outputs(out, audit)
    pol = _policy(policy)
    raw = load_raw(raw_dir)
    check_as_of(raw, as_of)
    apps = check_applications(read_table(applications), pol)
    unknown = ~apps["enterprise_id"].isin(raw["enterprises"]["enterprise_id"]).to_numpy()
    if unknown.any():
        log.warning("applications: %d enterprise_id(s) not in the enterprises table at %s (application_id %s); "
                    "these applications are referred (L01 missing registry record), the others decided",
                    int(unknown.sum()), sheet_rows(unknown),
                    ", ".join(map(str, apps.loc[unknown, "application_id"][:10])))
    scores, name, version = score_enterprises(raw, model_uri, as_of, apps["enterprise_id"])
    dec = decide_loans(raw, apps, scores, pol, as_of, model_name=name, model_version=version)
    _write(dec, out, audit)
    return dec


def run_portfolio(decisions_paths, *, policy=None, out=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Expected loss of the booked exposures of one or more decisions files: (exposures, by segment, by party)."""
    if out is not None:
        check_table_output(out)
    pol = _policy(policy)
    paths = [decisions_paths] if isinstance(decisions_paths, (str, os.PathLike)) else list(decisions_paths)
    seen: dict[Path, str] = {}
    for p in paths:
        key = Path(p).resolve()
        if key in seen:
            raise DataContractError(f"decisions file {p} is passed twice (also as {seen[key]}): its exposures would "
                                    "be counted twice; pass each file once")
        seen[key] = str(p)
    frames = []
    for p in paths:
        f = read_table(p)
        frames.append(f.assign(**{SOURCE_COLUMN: f"file {Path(p).name}", ROW_COLUMN: np.arange(len(f))}))
    dec = pd.concat(frames, ignore_index=True)
    exp = portfolio_exposures(dec, pol)
    summary = summarise(exp)
    if out is not None:
        write_table(summary, out)
    return exp, summary, party_totals(exp)


def _check_outputs(out, audit) -> None:
    """Refuse an unwritable ``--out`` or ``--audit`` before any work (clear error, nothing written)."""
    if out is not None:
        check_table_output(out)
    if audit is not None:
        check_store(audit)


def _write(dec: pd.DataFrame, out, audit) -> None:
    """Write the decisions and their audit record as one unit: the audit part first, durably.

    The output is written and flushed to a temporary file, then the audit part is appended
    (fsync'ed, with its chain link); only then is the output renamed into place. Any failure
    before that point leaves neither the output nor (except a completed audit append) anything
    else: a decision file never exists without its audit record.
    """
    if out is None:
        if audit is not None:
            append_decisions(dec, audit)
        return
    out = Path(out)
    with atomic_path(out) as tmp:
        write_table_into(dec, tmp, out)
        if audit is not None:
            append_decisions(dec, audit)
