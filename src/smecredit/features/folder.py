"""All file I/O of feature building: raw folders read chunk by chunk, the features folder written.

The feature computations themselves are pure functions of in-memory tables
(:mod:`smecredit.features.builder`); this module is the loader that feeds them from files too large
for memory (:func:`build_features_from_folder`, :func:`iter_features_from_folder`, and
:func:`featurise_ids`, the unit of work of a distributed build), and the writer of the features
folder (:func:`write_feature_dir`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.data.schemas import AVAILABLE_DATE, TABLES
from smecredit.exceptions import ConfigError, DataContractError, OutputError
from smecredit.features._panel import (MONTHLY_TABLES, PreparedRaw, anchor_month, month_index, month_label, prepare,
                                       publication_schedule)
from smecredit.features.builder import (check_population, finalise_table, parse_snapshots, resolve_config,
                                        snapshot_rows)
from smecredit.features.catalog import feature_catalog
from smecredit.features.config import FeatureConfig
from smecredit.features.network import GUARANTOR, NetworkData, linked_enterprises, network_data
from smecredit.io import atomic_path, check_writable, frame_fingerprint, table_read_error, work_dir, writing


def _read_rows(path: Path, ids: list[str] | None, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows of one raw table file, optionally only those of the enterprises ``ids``."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            filters = [("enterprise_id", "in", ids)] if ids is not None else None
            return pq.read_table(path, columns=columns, filters=filters).to_pandas()
        df = pd.read_csv(path, dtype=str, usecols=columns)
    except (OSError, ValueError) as exc:
        raise table_read_error(path, exc) from exc
    return df if ids is None else df[df["enterprise_id"].isin(ids)].reset_index(drop=True)


def _partition_parquet(path: Path, ids: np.ndarray, chunk_size: int, out: Path) -> tuple[list[Path], int]:
    """Split one Parquet table into one file per enterprise chunk in a single streaming pass.

    Returns the chunk files (one per chunk, possibly empty) and the number of rows whose
    ``enterprise_id`` is not in ``ids``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    n_chunks = (len(ids) + chunk_size - 1) // chunk_size
    value_set = pa.array(ids.tolist(), type=pa.string())
    try:
        pf = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every row group read so far
    except (OSError, ValueError) as exc:
        raise table_read_error(path, exc) from exc
    files = [out / f"{path.stem}.{k:05d}.parquet" for k in range(n_chunks)]
    writers: dict[int, pq.ParquetWriter] = {}
    unknown = 0
    try:
        for batch in pf.iter_batches(batch_size=1 << 20):
            eid = batch.column(batch.schema.get_field_index("enterprise_id")).cast(pa.string())
            pos = pc.index_in(eid, value_set=value_set)
            unknown += pos.null_count
            chunk = pc.fill_null(pos, -1).to_numpy(zero_copy_only=False) // chunk_size
            chunk[pc.is_null(pos).to_numpy(zero_copy_only=False)] = -1
            for k in np.unique(chunk[chunk >= 0]):
                part = batch.filter(pa.array(chunk == k))
                if k not in writers:
                    writers[k] = pq.ParquetWriter(files[k], part.schema)
                writers[k].write_batch(part)
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as exc:  # a corrupt row group, no enterprise_id...
        raise table_read_error(path, exc) from exc
    finally:
        for w in writers.values():
            w.close()
    empty = pf.schema_arrow.empty_table()
    for k in range(n_chunks):
        if k not in writers:
            pq.write_table(empty, files[k])
    return files, unknown


def build_features_from_folder(raw_dir: str | Path, snapshots, *, chunk_size: int, horizon: int = 12,
                               population="active_loan", config: FeatureConfig | None = None,
                               validate: bool = True,
                               progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, dict]:
    """:func:`build_features` on a raw folder too large for memory, reading ``chunk_size`` enterprises at a time.

    Every Parquet table is first split by enterprise chunk in one streaming pass into a temporary folder;
    then each chunk's rows are read from those files (CSV tables: filtered in memory), validated with
    :func:`smecredit.data.from_frames` and featurised with the month ranges of the whole data, so the
    result is identical to the in-memory build. Rows of enterprises absent from ``enterprises`` raise
    ``DataContractError``.

    Returns
    -------
    (DataFrame, dict)
        The feature table and ``{"tables": {name: rows}, "missing": [...], "fingerprint": sha256}``.
    """
    info: dict = {}
    frames = [f for _, f in iter_features_from_folder(raw_dir, snapshots, chunk_size=chunk_size, horizon=horizon,
                                                      population=population, config=config, validate=validate,
                                                      progress=progress, info=info, finalise=False)]
    return finalise_table(pd.concat(frames, ignore_index=True)), info


def folder_plan(raw_dir: str | Path, snapshots, *, horizon: int = 12, config: FeatureConfig | None = None) -> dict:
    """What every chunk of a raw folder needs: the table files, the sorted enterprise ids, the month ranges
    of the whole data, the checked snapshots and the feature configuration (a dict of plain values)."""
    from smecredit.data.validate import find_table_file

    folder = Path(raw_dir)
    if not folder.is_dir():
        raise DataContractError(f"raw folder not found: {folder}")
    files = {name: find_table_file(folder, name) for name in TABLES}
    for name in ("enterprises", "loans", "loan_monthly"):
        if files[name] is None:
            raise DataContractError(f"required table {name!r} missing in {folder} "
                                    f"(expected {name}.parquet or {name}.csv)")
    files = {k: v for k, v in files.items() if v is not None}
    ids = np.sort(_read_rows(files["enterprises"], None, ["enterprise_id"])["enterprise_id"].to_numpy(dtype=object))
    # month ranges of the whole data (snapshot checks, label observability, months inside the data)
    ranges: dict[str, tuple[int, int] | None] = {}
    publication: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    for table in MONTHLY_TABLES:
        if table in files:
            dated = _typed_rows(files[table], table, ["month_end", AVAILABLE_DATE])
            m = dated["month_end"]
            ranges[table] = None if m.empty else (int(month_index(m.min())[0]), int(month_index(m.max())[0]))
            publication[table] = publication_schedule(dated)
    known = [r for r in ranges.values() if r is not None]
    if not known:
        raise DataContractError(f"no monthly records in {folder}: cannot place snapshots in time")
    first, last = min(r[0] for r in known), max(r[1] for r in known)
    snaps = parse_snapshots(snapshots)
    bad = [s for s in snaps if not first <= anchor_month(s) <= last]
    if bad:
        raise ConfigError(
            f"snapshot(s) {', '.join(str(s.date()) for s in bad)} outside the data range: the monthly tables cover "
            f"{month_label(first)} to {month_label(last)}")
    cfg = resolve_config(config, horizon)
    return {"files": files, "ids": ids, "ranges": ranges, "snapshots": snaps, "config": cfg,
            "network": _folder_network(files), "publication": publication}


def _file_columns(path: Path) -> list[str]:
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        return list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError) as exc:
        raise table_read_error(path, exc) from exc


def _typed_rows(path: Path, table: str, columns: list[str], ids: list[str] | None = None) -> pd.DataFrame:
    """The ``columns`` present in a raw table file (rows of ``ids`` only when given), converted to model types
    (invalid values become missing here; the chunk's validation reports them)."""
    from smecredit.data.validate import ValidationReport, coerce_types

    present = [c for c in columns if c in _file_columns(path)]
    df = _read_rows(path, ids, present)
    return coerce_types(df, TABLES[table], ValidationReport("(network)"))


def _folder_network(files: dict[str, Path]) -> NetworkData:
    """The inputs of the guarantee-network family from the whole folder: every loan's guarantor, the persons
    shared by enterprises and the ``loan_monthly`` rows of the linked enterprises only (bounded memory)."""
    loans = _typed_rows(files["loans"], "loans", ["enterprise_id", "loan_id", "start_date", "maturity_date",
                                                   GUARANTOR])
    persons = (_typed_rows(files["related_persons"], "related_persons", ["enterprise_id", "person_id"])
               if "related_persons" in files else None)
    _, _, linked = linked_enterprises(loans, persons)
    lm_cols = ["enterprise_id", "month_end", "days_past_due", "risk_class_5", "interest_arrears", AVAILABLE_DATE]
    if linked:
        lm = _typed_rows(files["loan_monthly"], "loan_monthly", lm_cols, sorted(linked))
    else:
        lm = pd.DataFrame({c: pd.Series(dtype=object) for c in lm_cols})
    return network_data(loans, lm, persons)


def featurise_ids(plan: dict, chunk_ids, population="active_loan", *, validate: bool = True, k: int = 0,
                  n_chunks: int = 1) -> pd.DataFrame:
    """Features of the enterprises ``chunk_ids`` (read from the plan's files): the unit of work of a distributed
    build (e.g. one Spark group); typed and sorted as :func:`build_features`."""
    chunk_ids = sorted(map(str, chunk_ids))
    tables = {name: _read_rows(path, chunk_ids) for name, path in plan["files"].items()}
    counts = dict.fromkeys(tables, 0)
    hashes = {name: hashlib.sha256() for name in tables}
    frames = _featurise_chunk(tables, k, n_chunks, validate, plan["ranges"], plan["snapshots"], plan["config"],
                              population, counts, hashes, plan["network"], plan["publication"])
    return finalise_table(pd.concat(frames, ignore_index=True))


def iter_features_from_folder(raw_dir: str | Path, snapshots, *, chunk_size: int, horizon: int = 12,
                              population="active_loan", config: FeatureConfig | None = None,
                              validate: bool = True, progress: Callable[[int, int], None] | None = None,
                              skip: Callable[[int], bool] | None = None, info: dict | None = None,
                              finalise: bool = True) -> Iterable[tuple[int, pd.DataFrame | None]]:
    """Yield ``(k, features of enterprise chunk k)`` for a raw folder, chunk by chunk (bounded memory).

    The chunks hold ``chunk_size`` enterprises in sorted id order; with ``finalise`` each chunk's frame
    is typed and sorted as :func:`build_features` (so the concatenation of the chunks equals the
    whole table for one snapshot). ``skip(k)`` true yields ``(k, None)`` without featurising the
    chunk (a resumed job); ``info`` is filled as :func:`build_features_from_folder` returns it once the
    generator is exhausted.
    """

    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    check_population(population)
    plan = folder_plan(raw_dir, snapshots, horizon=horizon, config=config)
    files, ids, ranges, snaps, cfg = plan["files"], plan["ids"], plan["ranges"], plan["snapshots"], plan["config"]
    starts = list(range(0, len(ids), chunk_size))
    total, done = len(starts) * len(snaps), 0
    counts = dict.fromkeys(files, 0)
    hashes = {name: hashlib.sha256() for name in files}
    with work_dir("smecredit-chunks-") as tmp:
        parts: dict[str, list[Path]] = {}
        for name, path in files.items():
            if path.suffix != ".parquet":
                continue
            parts[name], unknown = _partition_parquet(path, ids, chunk_size, Path(tmp))
            if unknown:
                raise DataContractError(f"{name}.enterprise_id: {unknown} row(s) refer to enterprises absent from "
                                        f"the enterprises table")
        for k, lo in enumerate(starts):
            chunk_ids = list(ids[lo:lo + chunk_size])
            tables = {name: (pd.read_parquet(parts[name][k]) if name in parts else _read_rows(path, chunk_ids))
                      for name, path in files.items()}
            if skip is not None and skip(k):
                for name, df in tables.items():
                    counts[name] += len(df)
                    hashes[name].update(frame_fingerprint(df).encode())
                frame = None
            else:
                chunk = _featurise_chunk(tables, k, len(starts), validate, ranges, snaps, cfg, population,
                                         counts, hashes, plan["network"], plan["publication"])
                frame = pd.concat(chunk, ignore_index=True)
                if finalise:
                    frame = finalise_table(frame)
            del tables
            done += len(snaps)
            if progress is not None:
                progress(done, total)
            yield k, frame
    for name, path in files.items():
        if name in parts:
            continue  # unknown enterprises were counted while partitioning
        n_file = _read_rows(path, None, ["enterprise_id"]).shape[0]
        if n_file != counts[name]:
            raise DataContractError(f"{name}.enterprise_id: {n_file - counts[name]} row(s) refer to enterprises "
                                    f"absent from the enterprises table")
    fp = hashlib.sha256()
    for name in sorted(hashes):
        fp.update(name.encode())
        fp.update(hashes[name].hexdigest().encode())
    if info is not None:
        info.update({"tables": counts, "missing": sorted(n for n in TABLES if n not in files),
                     "fingerprint": fp.hexdigest(), "chunk_size": int(chunk_size), "n_chunks": len(starts)})


def _featurise_chunk(tables: dict[str, pd.DataFrame], k: int, n_chunks: int, validate: bool, ranges: dict,
                     snaps: list[pd.Timestamp], cfg: FeatureConfig, population, counts: dict,
                     hashes: dict, network: NetworkData | None = None,
                     publication: dict | None = None) -> list[pd.DataFrame]:
    from smecredit.data import from_frames

    for name, df in tables.items():
        counts[name] += len(df)
        hashes[name].update(frame_fingerprint(df).encode())
    try:
        raw = from_frames(tables, validate=validate)
    except DataContractError as exc:
        raise DataContractError(f"enterprise chunk {k + 1} of {n_chunks} (rows counted within the chunk; "
                                f"`smecredit validate` gives the rows of the files): "
                                f"{exc}") from exc
    # month ranges (label window, months inside the data), network inputs and publication schedules are those of
    # the whole data
    prep = PreparedRaw(raw, prepare(raw).ids, month_ranges=dict(ranges), network=network,
                       publication=None if publication is None else dict(publication))
    return [snapshot_rows(prep, snap, cfg, population) for snap in snaps]


def raw_fingerprint(raw: RawData | PreparedRaw) -> str:
    """SHA-256 over the fingerprints of every raw table (sorted by table name).

    An ``available_date`` column without any value is left out: a file without the optional column and one with
    it empty hold the same data (and keep the fingerprint they had before the column existed).
    """
    tables = prepare(raw).raw.tables
    h = hashlib.sha256()
    for name in sorted(tables):
        df = tables[name]
        if AVAILABLE_DATE in df.columns and df[AVAILABLE_DATE].isna().all():
            df = df.drop(columns=[AVAILABLE_DATE])
        h.update(name.encode())
        h.update(frame_fingerprint(df).encode())
    return h.hexdigest()


FEATURE_DIR_FILES = ("features.parquet", "catalog.csv", "manifest.json")


def write_feature_dir(features: pd.DataFrame, out: str | Path, *, manifest: dict) -> Path:
    """Write ``features.parquet``, ``catalog.csv`` and ``manifest.json`` into folder ``out`` as one unit.

    The three files are written into a staging folder next to ``out``, which is then renamed
    onto ``out``: a failure leaves the previous folder (or nothing) intact, never a new table
    beside an old manifest. An existing features folder is replaced; an existing folder holding
    anything else, or a file at ``out``, is refused (:class:`~smecredit.exceptions.OutputError`).
    """
    out = check_feature_out(out)
    with atomic_path(out, is_dir=True) as tmp:
        with writing(out):
            features.to_parquet(tmp / "features.parquet", index=False)
            feature_catalog().to_csv(tmp / "catalog.csv", index=False)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
    return out


def check_feature_out(out: str | Path) -> Path:
    """Check early that ``out`` can be written as a features folder (see :func:`write_feature_dir`)."""
    out = check_writable(out, is_dir=True)
    if out.is_dir():
        other = sorted(p.name for p in out.iterdir() if p.name not in FEATURE_DIR_FILES)
        if other:
            raise OutputError(f"cannot write features to {out}: the folder exists and holds other files "
                              f"({', '.join(other[:5])}); give a new or a features folder")
    return out
