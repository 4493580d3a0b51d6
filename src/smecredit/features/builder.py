"""Building the feature table from raw tables in memory: a pure function of the data, no file I/O.

:func:`build_features` returns the feature *table*: one row per (``enterprise_id``,
``snapshot_date``) of the population, the meta columns :data:`META_COLUMNS` and every catalogue
feature (float64, or object for categorical features), rows sorted by snapshot then enterprise
id. :func:`build_feature_matrix` returns the same rows split as ``(X, meta)``: ``X`` holds exactly
the catalogue features (:func:`feature_names`), ``meta`` the ids, snapshot dates and labels, on the
same index (:func:`split_features` splits a table read back from a features folder).

Each family is a pure function ``(raw, snapshot, cfg) -> DataFrame`` indexed by enterprise id (see
``FAMILIES``). Reading raw folders chunk by chunk and writing the features folder live in
:mod:`smecredit.features.folder`; the scikit-learn transformer in :mod:`smecredit.features.transformer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.exceptions import ConfigError, DataContractError
from smecredit.features import (consistency, credit, events, green, ip, network, registry, related, social,
                                supply_chain, tax, utilities)
from smecredit.features._panel import MONTHLY_TABLES, PreparedRaw, anchor_month, month_label, prepare
from smecredit.features.catalog import feature_specs
from smecredit.features.config import FeatureConfig
from smecredit.features.labels import label_frame

log = logging.getLogger(__name__)

META_COLUMNS = ["enterprise_id", "snapshot_date", "bad", "observable"]
POPULATIONS = ("active_loan", "all")

FAMILIES: dict[str, Callable[[PreparedRaw, pd.Timestamp, FeatureConfig], pd.DataFrame]] = {
    "registry": registry.registry_features,
    "tax": tax.tax_features,
    "utilities": utilities.utilities_features,
    "consistency": consistency.consistency_features,
    "si": social.social_features,
    "judicial": events.judicial_features,
    "admin": events.admin_features,
    "ip": ip.ip_features,
    "sc": supply_chain.supply_chain_features,
    "credit": credit.credit_features,
    "green": green.green_features,
    "rp": related.related_features,
    "net": network.network_features,
}


def feature_names() -> list[str]:
    """Names of every feature column, in catalogue order."""
    return [s.name for s in feature_specs()]


def parse_snapshots(snapshots: str | Iterable | pd.Timestamp) -> list[pd.Timestamp]:
    """Sorted unique snapshot dates from dates or a comma-separated string; ConfigError if unparseable."""
    if isinstance(snapshots, str):
        items = [s.strip() for s in snapshots.split(",") if s.strip()]
    elif isinstance(snapshots, (pd.Timestamp, np.datetime64)) or hasattr(snapshots, "year"):
        items = [snapshots]
    else:
        items = list(snapshots)
    if not items:
        raise ConfigError("snapshots: give at least one snapshot date (e.g. 2024-06-30)")
    out = []
    for item in items:
        try:
            ts = pd.Timestamp(item)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"snapshots: cannot read {item!r} as a date (use YYYY-MM-DD)") from exc
        if ts is pd.NaT or pd.isna(ts):
            raise ConfigError(f"snapshots: {item!r} is not a date")
        out.append(ts.normalize())
    return sorted(set(out))


def every_snapshots(raw: RawData | PreparedRaw, every: str, *, min_history: int = 12) -> list[pd.Timestamp]:
    """Month ends every ``every`` (``"6M"``, ``"3M"``, ``"12M"``) from ``min_history`` months into the data
    to its last month (counting back from the last month)."""
    text = str(every).strip().upper()
    if not (text.endswith("M") and text[:-1].isdigit() and 1 <= int(text[:-1]) <= 60):
        raise ConfigError(f"every must look like '6M' (1M to 60M); got {every!r}")
    step = int(text[:-1])
    first, last = prepare(raw).data_months()
    months = list(range(last, first + min_history - 2, -step))[::-1]
    if not months:
        raise ConfigError(f"every={every}: the data cover {month_label(first)} to {month_label(last)}, fewer than "
                          f"{min_history} months; no snapshot has enough history")
    return [pd.Timestamp(str(np.datetime64(m, "M"))) + pd.offsets.MonthEnd(0) for m in months]


def check_snapshots(raw: PreparedRaw, snapshots: list[pd.Timestamp]) -> None:
    """ConfigError for snapshots whose anchor month lies outside the monthly data."""
    first, last = raw.data_months()
    bad = [s for s in snapshots if not first <= anchor_month(s) <= last]
    if bad:
        raise ConfigError(
            f"snapshot(s) {', '.join(str(s.date()) for s in bad)} outside the data range: the monthly tables cover "
            f"{month_label(first)} to {month_label(last)}; a snapshot must fall between the end of the first and "
            f"the end of the last month of data")


def _population_mask(raw: PreparedRaw, labels: pd.DataFrame, snapshot: pd.Timestamp,
                     population) -> np.ndarray:
    registered = registry.registered_by(raw, snapshot)
    if isinstance(population, str):
        if population == "active_loan":
            return registered & labels["active_loan"].to_numpy() & ~labels["defaulted_now"].to_numpy()
        if population == "all":
            return registered
        raise ConfigError(f"population must be one of {POPULATIONS} or a list of enterprise ids; got {population!r}")
    wanted = pd.Index(list(population)).unique()
    pos = pd.Index(raw.ids).get_indexer(wanted)
    if (pos < 0).any():
        raise DataContractError(f"population: {(pos < 0).sum()} enterprise id(s) are not in the enterprises table")
    mask = np.zeros(raw.n, dtype=bool)
    mask[pos] = True
    return mask & registered


def snapshot_rows(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig, population) -> pd.DataFrame:
    """Meta columns and features of the population at one snapshot (untyped, unsorted)."""
    labels = label_frame(raw, snapshot, cfg)  # labels and population from the whole data (the future, own books)
    mask = _population_mask(raw, labels, snapshot, population)
    known = raw.known_at(snapshot)  # features: only records published by the snapshot (publication lags)
    parts = [fn(known, snapshot, cfg).iloc[mask] for fn in FAMILIES.values()]
    feats = pd.concat(parts, axis=1)
    meta = pd.DataFrame({
        "enterprise_id": raw.ids[mask],
        "snapshot_date": np.full(int(mask.sum()), snapshot.to_datetime64().astype("datetime64[ns]")),
        "bad": labels["bad"].to_numpy()[mask],
        "observable": labels["observable"].to_numpy()[mask],
    })
    feats.index = meta.index
    return pd.concat([meta, feats], axis=1)


def _chunks(raw: PreparedRaw, chunk_size: int | None) -> Iterable[PreparedRaw]:
    if chunk_size is None or raw.n <= chunk_size:
        yield raw
        return
    for lo in range(0, raw.n, chunk_size):
        hi = min(lo + chunk_size, raw.n)
        tables = {}
        for name, df in raw.raw.tables.items():
            codes = raw.codes(name)
            tables[name] = df.iloc[np.flatnonzero((codes >= lo) & (codes < hi))].reset_index(drop=True)
        # month ranges (label window, months inside the data), network inputs and publication schedules are those
        # of the whole data
        ranges = {t: raw.month_range(t) for t in MONTHLY_TABLES}
        yield PreparedRaw(RawData(tables, raw.raw.folder, list(raw.raw.missing)), raw.ids[lo:hi], month_ranges=ranges,
                          network=network.network_of(raw),
                          publication={t: raw.publication_of(t) for t in MONTHLY_TABLES})


def resolve_config(config: FeatureConfig | None, horizon: int) -> FeatureConfig:
    """``config`` (default :class:`FeatureConfig`) with the label horizon ``horizon``; ConfigError if invalid."""
    if config is not None and not isinstance(config, FeatureConfig):
        raise ConfigError(f"config must be a smecredit.features.FeatureConfig; got {type(config).__name__}")
    return (config or FeatureConfig()).with_horizon(horizon)


def check_population(population) -> None:
    """ConfigError for a population name that is not one of :data:`POPULATIONS`."""
    if isinstance(population, str) and population not in POPULATIONS:
        raise ConfigError(f"population must be one of {POPULATIONS} or a list of enterprise ids; got {population!r}")


def finalise_table(out: pd.DataFrame) -> pd.DataFrame:
    """Type and sort the concatenated rows of :func:`snapshot_rows` into the feature table (module docstring)."""
    names = feature_names()
    cat = {s.name for s in feature_specs() if s.dtype == "categorical"}
    cols = {}
    for c in META_COLUMNS + names:
        s = out[c]
        if c in ("enterprise_id",) or c in cat:
            s = s.astype(object).where(s.notna(), None)
        elif c == "observable":
            s = s.astype(bool)
        elif c != "snapshot_date":
            s = s.astype(np.float64)
        cols[c] = s
    res = pd.DataFrame(cols)
    res = res.sort_values(["snapshot_date", "enterprise_id"], kind="mergesort").reset_index(drop=True)
    return res


def build_features(raw: RawData | PreparedRaw, snapshots, *, horizon: int = 12, population="active_loan",
                   config: FeatureConfig | None = None, chunk_size: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Point-in-time features and default labels at one or more snapshots.

    Parameters
    ----------
    raw : RawData
        Raw tables from :func:`smecredit.data.load_raw` or :func:`smecredit.data.from_frames`.
    snapshots : str, date or list of dates
        Snapshot dates (a comma-separated string is accepted). Each must fall inside the monthly data.
    horizon : int, default 12
        Outcome window of the label in months.
    population : {"active_loan", "all"} or iterable of enterprise ids
        Rows to produce at each snapshot (see :mod:`smecredit.features.labels`).
    config : FeatureConfig, optional
        Further parameters; its ``horizon`` is replaced by ``horizon``.
    chunk_size : int, optional
        Process enterprises in chunks of this many (bounded memory; identical result).
    progress : callable, optional
        Called as ``progress(done, total)`` after each (chunk, snapshot) step.

    Returns
    -------
    DataFrame
        :data:`META_COLUMNS` then the features of the catalogue, sorted by snapshot and enterprise.
    """
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
        raise ConfigError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    cfg = resolve_config(config, horizon)
    check_population(population)
    prep = prepare(raw)
    snaps = parse_snapshots(snapshots)
    check_snapshots(prep, snaps)
    chunks = list(_chunks(prep, chunk_size))
    total, done = len(chunks) * len(snaps), 0
    frames = []
    for chunk in chunks:
        for snap in snaps:
            frames.append(snapshot_rows(chunk, snap, cfg, population))
            done += 1
            if progress is not None:
                progress(done, total)
            log.debug("features at %s: chunk of %d enterprises done", snap.date(), chunk.n)
    out = finalise_table(pd.concat(frames, ignore_index=True))
    log.info("built %d feature rows x %d features at %d snapshot(s)", len(out), out.shape[1] - 4, len(snaps))
    return out


def split_features(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a feature table into ``(X, meta)``: ``X`` has exactly the catalogue features in catalogue order,
    ``meta`` the columns :data:`META_COLUMNS` (ids, snapshot dates, label, observability), on the same index.

    Raises DataContractError naming the missing columns when ``table`` is not a complete feature table.
    """
    names = feature_names()
    missing = [c for c in META_COLUMNS + names if c not in table.columns]
    if missing:
        raise DataContractError(f"feature table: missing column(s) {missing[:10]}"
                                f"{f' and {len(missing) - 10} more' if len(missing) > 10 else ''}")
    return table[names], table[META_COLUMNS]


def build_feature_matrix(raw: RawData | PreparedRaw, snapshots, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`build_features` split as ``(X, meta)`` (see :func:`split_features`); same keyword arguments.

    >>> X, meta = build_feature_matrix(load_raw("city"), "2024-12-31")    # doctest: +SKIP
    >>> y = meta["bad"][meta["observable"]]                                # doctest: +SKIP
    """
    return split_features(build_features(raw, snapshots, **kwargs))


# The file I/O and the transformer moved to smecredit.features.folder / .transformer; the old import path
# keeps working (lazily, without an import cycle) for code written against it.
_MOVED = {"build_features_from_folder": "folder", "iter_features_from_folder": "folder", "folder_plan": "folder",
          "featurise_ids": "folder", "raw_fingerprint": "folder", "write_feature_dir": "folder",
          "check_feature_out": "folder", "FEATURE_DIR_FILES": "folder", "FeatureBuilder": "transformer"}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"smecredit.features.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
