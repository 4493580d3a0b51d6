"""The input of the batch job: a Parquet file, a Parquet dataset folder or a CSV file, read in chunks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from smecredit.exceptions import DataContractError

_CSV_NULLS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "<NA>"]


@dataclass
class InputSource:
    """A Parquet file, a Parquet dataset folder or a CSV file, read in order in record batches."""

    path: Path
    kind: str  # "parquet" | "parquet-dataset" | "csv"
    files: list[Path]
    columns: list[str]
    rows: int | None  # None for CSV (unknown until read)
    schema: pa.Schema | None = None  # Parquet: the unified schema (hive partition keys as text)

    @classmethod
    def open(cls, path) -> InputSource:
        path = Path(path)
        if not path.exists():
            raise DataContractError(f"input not found: {path}")
        if path.is_dir():
            files = sorted(f for f in path.rglob("*.parquet")
                           if not any(p.startswith((".", "_")) for p in f.relative_to(path).parts))
            if not files:
                raise DataContractError(f"input folder {path} holds no .parquet file")
            kind = "parquet-dataset"
        elif path.suffix == ".parquet":
            files, kind = [path], "parquet"
        elif path.suffix == ".csv":
            files, kind = [path], "csv"
        else:
            raise DataContractError(f"unsupported input {path}: use a .parquet or .csv file or a Parquet folder")
        if kind == "csv":
            import pyarrow.csv as pcsv

            try:
                with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 16)) as r:
                    columns = list(r.schema.names)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataContractError(f"cannot read CSV {path}: {exc}") from exc
            return cls(path, kind, files, columns, None)
        try:
            dset = cls._dataset(path, kind, files)
            part = set(dset.partitioning.schema.names) if kind == "parquet-dataset" and dset.partitioning else set()
            schema = pa.schema([pa.field(f.name, pa.string()) if f.name in part else f for f in dset.schema])
            return cls(path, kind, files, list(dset.schema.names), int(dset.count_rows()), schema)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataContractError(f"cannot read Parquet input {path}: {exc}") from exc

    @staticmethod
    def _dataset(path, kind, files):
        import pyarrow.dataset as ds

        if kind == "parquet-dataset":
            return ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                              partition_base_dir=str(path))
        return ds.dataset([str(f) for f in files], format="parquet")

    def fingerprint(self) -> str:
        """SHA-256 over the relative names and bytes of the input file(s)."""
        h = hashlib.sha256()
        for f in self.files:
            h.update(str(f.relative_to(self.path) if self.kind == "parquet-dataset" else f.name).encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
        return h.hexdigest()

    def batches(self, columns: list[str], batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        if self.kind == "csv":
            import pyarrow.csv as pcsv

            convert = pcsv.ConvertOptions(column_types={c: pa.string() for c in self.columns},
                                          include_columns=columns, null_values=_CSV_NULLS,
                                          strings_can_be_null=True)
            try:
                with pcsv.open_csv(self.path, read_options=pcsv.ReadOptions(block_size=1 << 22),
                                   convert_options=convert) as reader:
                    yield from reader
            except pa.ArrowInvalid as exc:
                raise DataContractError(f"cannot read CSV {self.path}: {exc}") from exc
            return
        # file by file, row group by row group (a dataset scanner reads ahead without bound on a slow consumer)
        for f in self.files:
            keys = {}
            if self.kind == "parquet-dataset":
                for part in f.relative_to(self.path).parts[:-1]:
                    if "=" in part:
                        k, v = part.split("=", 1)
                        keys[k] = v
            pf = pq.ParquetFile(f, pre_buffer=False)  # pre-buffering keeps every row group read so far (pyarrow 25)
            own = [c for c in columns if c not in keys]
            for batch in pf.iter_batches(batch_size=batch_rows, columns=own, use_threads=False):
                if keys:
                    arrays = [batch.column(c) if c not in keys else pa.array([keys[c]] * batch.num_rows, pa.string())
                              for c in columns]
                    batch = pa.RecordBatch.from_arrays(arrays, names=columns)
                else:
                    batch = batch.select(columns)
                target = pa.schema([self.schema.field(c) for c in columns])
                yield batch if batch.schema.equals(target) else batch.cast(target)

    def chunks(self, columns: list[str], chunk_rows: int) -> Iterator[tuple[int, int, pa.Table]]:
        """``(k, first_source_row, table)`` of exactly ``chunk_rows`` rows (the last may be shorter)."""
        buf: list[pa.RecordBatch] = []
        n_buf, k, start = 0, 0, 0
        for batch in self.batches(columns, batch_rows=min(chunk_rows, 65_536)):
            buf.append(batch)
            n_buf += batch.num_rows
            while n_buf >= chunk_rows:
                table = pa.Table.from_batches(buf)
                yield k, start, table.slice(0, chunk_rows)
                rest = table.slice(chunk_rows)
                buf, n_buf = rest.to_batches(), rest.num_rows
                k, start = k + 1, start + chunk_rows
        if n_buf:
            yield k, start, pa.Table.from_batches(buf)
