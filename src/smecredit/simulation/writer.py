"""The driver: a city in fixed chunks of enterprises, each chunk's tables, written atomically as Parquet.

``simulate`` generates the scenario and the exact PD tables once, then each chunk of ``CHUNK``
enterprises with its own seeded random stream (so the bytes never depend on the machine), and streams
every table through one Parquet writer per table into a temporary folder that replaces ``out`` at the
end (complete or not at all).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smecredit.data.schemas import TABLES
from smecredit.exceptions import ConfigError
from smecredit.io import atomic_path
from smecredit.simulation._rows import month_ends
from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms, make_firms
from smecredit.simulation.latent import (
    HORIZONS,
    TYPE_LEV,
    TYPE_STRATEGIC,
    downturn_roll_shift,
    downturn_rows,
    health_grid,
    pd_tables,
    scenario,
    systematic_path,
    theta_grid,
)
from smecredit.simulation.loans import make_loans
from smecredit.simulation.paths import latent_paths
from smecredit.simulation.population import apply_exits
from smecredit.simulation.publication import COLUMN as AVAILABLE, add_available_dates
from smecredit.simulation.records import (
    events,
    green_annual,
    latent_bucket,
    ip_assets,
    loan_applications,
    related_persons,
    supply_chain,
)
from smecredit.simulation.sources import monthly_sources, window_dressing

log = logging.getLogger(__name__)

CHUNK = 25_000  # enterprises per chunk; fixed so that output bytes never depend on the machine
TRUTH_DIR = "_truth"


def simulate_chunk(cfg: SimConfig, firms: Firms, rng: np.random.Generator, z: np.ndarray, P: np.ndarray,
                   pd_tab: dict[int, np.ndarray], s_path: np.ndarray, forb_path: np.ndarray,
                   window_start: pd.Timestamp, chunk_index: int, s_haz: np.ndarray | None = None,
                   roll_shift: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
    """Every table of one chunk (the order of the random draws is part of the output's identity)."""
    months = month_ends(window_start, cfg.months)
    p = latent_paths(cfg, firms, rng, z, P, pd_tab, s_path, forb_path, s_haz,
                     rng_e=np.random.default_rng([cfg.seed, chunk_index, 202]), roll_shift=roll_shift)
    out, sales = monthly_sources(cfg, firms, rng, p, months)
    out["judicial_events"], out["admin_events"] = events(
        cfg, firms, rng, p.h, months, p.default_m, chunk_index, latent_bucket(p.bucket, p.evergreen))
    loans, loan_monthly, loan_events, defaults, lgd, app_hist = make_loans(
        cfg, firms, rng, p.h, p.x, months, p.bucket, p.default_m, p.forborne, chunk_index, p.anchor, p.cluster, p.evergreen)
    out["loans"], out["loan_monthly"], out["loan_events"] = loans, loan_monthly, loan_events
    out["application_history"] = app_hist
    window_dressing(cfg, rng, out["tax_monthly"], app_hist, months)
    out["ip_assets"] = ip_assets(firms, rng, months, chunk_index)
    out["supply_chain"] = supply_chain(firms, rng, sales, months, p.closed, chunk_index)
    out["green_annual"] = green_annual(firms, rng, p.h, months, p.closed)
    out["related_persons"] = related_persons(firms, rng, months, chunk_index, p.cluster, p.group)
    out["loan_applications"] = loan_applications(cfg, firms, rng, months, p.bucket, chunk_index)
    # publication lags from a stream of their own (the other columns keep their bytes)
    add_available_dates(out, firms, p.h, months, np.random.default_rng([cfg.seed, chunk_index, 101]))

    # --- ground truth --------------------------------------------------------------------
    pd_true, pd_h, anchor, cluster = p.pd_h[12], p.pd_h, p.anchor, p.cluster
    ii, tt = np.nonzero(~np.isnan(pd_true))
    out["_truth/pd_true"] = pd.DataFrame({"enterprise_id": firms.eid[ii], "month_end": months[tt],
                                          "pd_12m": pd_true[ii, tt]})
    out["_truth/pd_term"] = pd.DataFrame({"enterprise_id": firms.eid[ii], "month_end": months[tt],
                                          **{f"pd_{hz}m": pd_h[hz][ii, tt] for hz in sorted(pd_h)}})
    out["_truth/defaults"] = defaults
    out["_truth/firm_types"] = pd.DataFrame({
        "enterprise_id": firms.eid, "theta": firms.theta, "high_leverage": TYPE_LEV[firms.ftype] > 0,
        "strategic_defaulter": TYPE_STRATEGIC[firms.ftype] > 0, "guarantee_cluster": np.where(
            cluster >= 0, chunk_index * CHUNK + cluster, -1).astype(np.int64),
        "anchor_enterprise_id": np.where(anchor >= 0, firms.eid[np.maximum(anchor, 0)], None).astype(object),
        "group_controller": p.group, "invoice_fraud": firms.fraud})
    if cfg.downturn_on and cfg.downturn_exposed_share is not None:
        out["_truth/firm_types"]["downturn_exposed"] = firms.hz_row != firms.ind_idx
    out["_truth/lgd"] = lgd
    # exits unrelated to loans (their own stream): records of enterprises without loans stop
    apply_exits(cfg, out, firms, months, np.random.default_rng([cfg.seed, chunk_index, 404]))
    return out


def _arrow_table(df: pd.DataFrame, name: str) -> pa.Table:
    """Convert with a fixed Arrow schema per table so every chunk writes identical types."""
    if name.startswith(TRUTH_DIR):
        types = {"enterprise_id": pa.string(), "month_end": pa.timestamp("ns"), "pd_12m": pa.float64(),
                 "default_month": pa.timestamp("ns"), "loan_id": pa.string(), "collateral_type": pa.string(),
                 "guarantor_type": pa.string(), "ead": pa.float64(), "recovery_rate": pa.float64(),
                 "recovery_month": pa.timestamp("ns"), "lgd": pa.float64(), "theta": pa.float64(),
                 "high_leverage": pa.bool_(), "strategic_defaulter": pa.bool_(), "guarantee_cluster": pa.int64(),
                 "anchor_enterprise_id": pa.string(), "group_controller": pa.bool_(),
                 "invoice_fraud": pa.bool_(), "exit_month": pa.timestamp("ns"), "downturn_exposed": pa.bool_()}
        types.update({c: pa.float64() for c in df.columns if c.startswith("pd_")})
        return pa.Table.from_pandas(df, schema=pa.schema([(c, types[c]) for c in df.columns]), preserve_index=False)
    spec = TABLES[name]
    arrow = {"str": pa.string(), "date": pa.timestamp("ns"), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    # required columns, then the optional ones the simulator writes (loans: the guarantor enterprise, 互保/联保)
    written = [c for c in spec.all_columns if c in spec.columns or c.name in df.columns]
    fields = [(c.name, arrow[c.dtype]) for c in written]
    cols = {}
    if AVAILABLE in df.columns and AVAILABLE not in {c.name for c in written}:
        # the publication date, optional in the data model (written even where the schema does not list it yet)
        fields.append((AVAILABLE, pa.timestamp("ns")))
        cols[AVAILABLE] = pd.to_datetime(df[AVAILABLE]).astype("datetime64[ns]")
    for c in written:
        s = df[c.name]
        if c.dtype == "date":
            s = pd.to_datetime(s).astype("datetime64[ns]")
        elif c.dtype == "str":
            s = s.astype(object).where(pd.notna(s), None)
        cols[c.name] = s
    cols = {f: cols[f] for f, _ in fields}
    return pa.Table.from_pandas(pd.DataFrame(cols), schema=pa.schema(fields), preserve_index=False)




_ARGS = ("n_enterprises", "months", "seed", "end")


def resolve_config(config: SimConfig | dict | None = None, **given: object) -> SimConfig:
    """The city's configuration from ``config`` and/or the explicit arguments (``None`` = not given).

    Without ``config`` the arguments build one (unset ones take SimConfig's defaults). With ``config``
    an argument that is given must agree with it: a conflict is refused (ConfigError, exit 2) instead of
    one of the two being silently ignored.
    """
    given = {k: v for k, v in given.items() if v is not None}
    if config is None:
        return SimConfig(**given)
    cfg = config if isinstance(config, SimConfig) else SimConfig.model_validate(dict(config))
    clash = [f"{k}={v!r} (config: {getattr(cfg, k)!r})" for k, v in given.items() if v != getattr(cfg, k)]
    if clash:
        raise ConfigError("simulate: the arguments conflict with the configuration given: " + ", ".join(clash)
                          + "; give each setting once (in the configuration or as an argument)")
    return cfg


def simulate(n_enterprises: int | None = None, months: int | None = None, seed: int | None = None,
             out: str | Path = "city", *, end: str | None = None, config: SimConfig | dict | None = None,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """Simulate a city and write all tables (Parquet) and the ground truth to ``out``.

    ``simulate(n, months, seed, out)`` uses the default city (``SimConfig``; defaults 20,000 enterprises,
    36 months, seed 0, ending 2025-12-31); ``simulate(out=..., config=SimConfig(...))`` a configured one.
    Arguments given together with ``config`` must agree with it, otherwise ConfigError (exit 2).
    The folder is written atomically: it appears complete or not at all. Same arguments give
    byte-identical files.
    """
    cfg = resolve_config(config, n_enterprises=n_enterprises, months=months, seed=seed, end=end)
    out = Path(out)
    end_ts = pd.Timestamp(cfg.end)
    window_start = (end_ts.to_period("M") - (cfg.months - 1)).to_timestamp(how="start")
    root = np.random.default_rng([cfg.seed, 7_919])
    s_cyc, s_macro = systematic_path(cfg, cfg.months + max(HORIZONS), root)
    s_path, forb_path, s_haz = scenario(cfg, s_cyc, s_macro, window_start)
    z, P = health_grid(cfg.n_states, cfg.phi)
    thetas = theta_grid(cfg.theta_step)
    roll_shift = downturn_roll_shift(cfg, window_start, s_haz.shape[1], s_haz.shape[0])
    pd_tab = pd_tables(cfg, z, P, thetas, s_haz, forb_path, cfg.months, roll_shift=roll_shift)
    a_mult = int(root.integers(1, 31**8 // 31)) * 31 + int(root.integers(1, 31))  # coprime with 31
    b_add = int(root.integers(0, 31**8))

    def id_map(serial: np.ndarray) -> np.ndarray:
        return np.array([(a_mult * int(s) + b_add) % 31**8 for s in serial], dtype=object)

    n_chunks = -(-cfg.n_enterprises // CHUNK)
    with atomic_path(out, is_dir=True) as tmp:
        (tmp / TRUTH_DIR).mkdir()
        writers: dict[str, pq.ParquetWriter] = {}
        try:
            for c in range(n_chunks):
                n = min(CHUNK, cfg.n_enterprises - c * CHUNK)
                rng = np.random.default_rng([cfg.seed, c])
                firms = make_firms(cfg, n, c * CHUNK, window_start, rng, id_map,
                                   rng_b=np.random.default_rng([cfg.seed, c, 303]))
                firms.hz_row = downturn_rows(cfg, firms.ind_idx, firms.revenue, firms.theta,
                                             np.random.default_rng([cfg.seed, c, 505]))
                tables = simulate_chunk(cfg, firms, rng, z, P, pd_tab, s_path, forb_path, window_start, c, s_haz,
                                        roll_shift)
                for name, df in tables.items():
                    tab = _arrow_table(df, name)
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(tmp / f"{name}.parquet", tab.schema, compression="zstd")
                    writers[name].write_table(tab, row_group_size=1_000_000)
                if progress:
                    progress(c + 1, n_chunks)
        finally:
            for w in writers.values():
                w.close()
        # the downturn's fields are written only when it is on, approval_rate only when set (a city without
        # them keeps its bytes)
        config = {k: v for k, v in cfg.model_dump().items()
                  if (cfg.downturn_on or not k.startswith("downturn_")) and not (k == "approval_rate" and v is None)}
        meta = {"config": config, "window_start": str(window_start.date()), "window_end": cfg.end,
                "pd_12m": "exact backward recursion over the discrete health chain (see docs/simulator.md)",
                "default": "more than 90 days past due on any loan (the 61-90 bucket rolling on)",
                "pd_term": f"exact PDs for horizons {list(HORIZONS)} months, same recursion"}
        (tmp / TRUTH_DIR / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    return out
