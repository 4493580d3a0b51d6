"""The scoring job reads its input row group by row group: memory stays flat however long the file is.

pyarrow 25 opens a ``ParquetFile`` with pre-buffering, which kept row groups already read: over 20 row groups of
100,000 rows × 140 columns the Arrow memory grew from 0.8 to 3.1 GB while reading chunk by chunk (flat at 0.66 GB
without it). The scoring job of 3M rows peaked at 2.29 GB with it and 2.04 GB without (direct run, one worker).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from smecredit.scoring.source import InputSource

ROWS, GROUPS, COLS = 20_000, 30, 20


def test_reading_a_long_input_keeps_the_arrow_memory_flat(tmp_path):
    path = tmp_path / "input.parquet"
    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(COLS)]
    schema = pa.schema([(c, pa.float64()) for c in names])
    with pq.ParquetWriter(path, schema) as w:
        for _ in range(GROUPS):
            w.write_table(pa.table({c: rng.normal(size=ROWS) for c in names}, schema=schema), row_group_size=ROWS)
    group_bytes = ROWS * COLS * 8
    src = InputSource.open(path)
    seen, after_first, peak = 0, None, 0
    for _, _, table in src.chunks(names, ROWS):
        seen += table.num_rows
        del table
        now = pa.total_allocated_bytes()
        after_first = now if after_first is None else after_first
        peak = max(peak, now)
    assert seen == ROWS * GROUPS
    # a reader that kept what it read would hold ~30 row groups (~96 MB) at the end; a streaming one a few
    assert peak - after_first < 4 * group_bytes, (peak - after_first) / group_bytes
