"""Progress display of the batch jobs: a bar (rows, rows/s, ETA) on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time

from smecredit.cli import console, err_console


def _eta(p) -> str:
    if p.rows_total is None or not p.rows_per_s:
        return "?"
    s = max(0.0, (p.rows_total - p.rows_done) / p.rows_per_s)
    return time.strftime("%H:%M:%S", time.gmtime(s))


def run_with_progress(job):
    """Run ``job(progress_callback)`` and print its summary; return its JobResult."""
    if console.is_terminal:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                      TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("rows", total=None, rate="")

            def update(p):
                bar.update(task, completed=p.rows_done, total=p.rows_total, rate=f"{p.rows_per_s:,.0f} rows/s")

            res = job(update)
    else:
        def update(p):
            total = "?" if p.rows_total is None else f"{p.rows_total}"
            parts = "?" if p.partitions_total is None else f"{p.partitions_total}"
            print(f"partition {p.partitions_done}/{parts}: {p.rows_done}/{total} rows, "
                  f"{p.rows_per_s:,.0f} rows/s, ETA {_eta(p)}", file=sys.stderr, flush=True)

        res = job(update)
    m = res.manifest
    if res.already_complete:
        console.print(f"nothing to do: the job in {res.out_dir} is already complete ({m['rows_in']} rows in, "
                      f"{m['rows_scored']} scored, {m['rows_rejected']} rejected)", highlight=False, soft_wrap=True)
    else:
        resumed = f" (resumed: {len(res.ran_partitions)} of {len(m['partitions'])} partitions run now)" \
            if len(res.ran_partitions) < len(m["partitions"]) else ""
        console.print(f"{m['rows_in']} rows in, {m['rows_scored']} scored, {m['rows_rejected']} rejected → "
                      f"{res.out_dir}/scores, manifest.json{resumed}", highlight=False, soft_wrap=True)
    if m["rows_rejected"]:
        err_console.print(f"warning: {m['rows_rejected']} row(s) rejected: see {res.out_dir}/rejects/ "
                          f"(exit code {res.exit_code})", highlight=False, soft_wrap=True)
    return res
