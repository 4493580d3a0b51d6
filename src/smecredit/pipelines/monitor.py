"""Monitoring runs: load a model and two periods of features, monitor, write HTML and JSON, log to MLflow.

``run_monitor`` is what ``smecredit monitor`` runs. The result is logged to the model's MLflow run
(the training run of the version being monitored) as metrics ``monitor.<name>`` with the step
``YYYYMM`` of the current period's last snapshot, so the metric history of successive monthly runs
is a time series in the MLflow UI, plus the HTML and JSON under ``monitoring/``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, DataContractError, ModelNotFoundError
from smecredit.io import atomic_path
from smecredit.monitoring import MonitorSettings, metrics_of, monitor, render_monitor
from smecredit.pipelines.report import generated_at, load_report_data
from smecredit.registry import runs

log = logging.getLogger(__name__)

MONITOR_DIR = "monitoring"
FAIL_ON = ("red", "amber")


@dataclass(frozen=True)
class MonitorResult:
    """Outcome of :func:`run_monitor`."""

    result: dict
    html: Path
    json: Path
    run_id: str | None
    logged: bool

    @property
    def status(self) -> str:
        return self.result["status"]

    def fails(self, fail_on: str | None) -> bool:
        """Whether the run raised a flag at or above ``fail_on`` (``red`` or ``amber``)."""
        if fail_on is None:
            return False
        return self.status == "red" or (fail_on == "amber" and self.status == "amber")


def parse_period(text: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """``"2024-01-01:2024-12-31"`` (either side may be empty) → ``(start, end)``; ``None`` → ``None``."""
    if text is None or not str(text).strip():
        return None
    parts = str(text).split(":")
    if len(parts) != 2:
        raise ConfigError(f"a period is START:END (dates, either may be empty); got {text!r}")
    try:
        start, end = (pd.Timestamp(p) if p.strip() else None for p in parts)
    except ValueError as exc:
        raise ConfigError(f"a period is START:END with dates YYYY-MM-DD; got {text!r}") from exc
    if start is not None and end is not None and start > end:
        raise ConfigError(f"period {text!r} ends before it starts")
    return start, end


def select_period(frame: pd.DataFrame, period, label: str) -> pd.DataFrame:
    """Rows of ``frame`` whose snapshot falls in ``period`` (inclusive)."""
    if period is None:
        return frame
    if "snapshot_date" not in frame.columns:
        raise DataContractError(f"{label} data have no snapshot_date column to select a period from")
    t = pd.to_datetime(frame["snapshot_date"])
    m = np.ones(len(frame), dtype=bool)
    if period[0] is not None:
        m &= (t >= period[0]).to_numpy()
    if period[1] is not None:
        m &= (t <= period[1]).to_numpy()
    if not m.any():
        raise DataContractError(f"{label} data have no snapshot in the period {period[0]} … {period[1]} "
                                f"(snapshots {t.min().date()} … {t.max().date()})")
    return frame.loc[m].reset_index(drop=True)


def development_auc(model_uri: str, model) -> tuple[float | None, str]:
    """The model's out-of-time test AUC at development: ``validation.json`` of MODEL_DIR, else its MLflow run."""
    local = Path(model_uri)
    vfile = local / "validation.json"
    if "://" not in model_uri and vfile.is_file():
        try:
            val = json.loads(vfile.read_text(encoding="utf-8"))
            return float(val["metrics"]["auc"]["value"]), f"validation.json of {local.name} (test sample)"
        except (ValueError, KeyError, TypeError):
            log.warning("%s has no readable metrics.auc.value", vfile)
    run_id = model.metadata_.get("run_id")
    if run_id:
        value = runs.run_metric(run_id, "test_auc")
        if value is not None:
            return float(value), f"test_auc of MLflow run {run_id}"
    return None, ""


def development_auc_se(model_uri: str) -> float | None:
    """Standard error of the development AUC from its 95 % interval in ``validation.json`` (``None`` without one)."""
    vfile = Path(model_uri) / "validation.json"
    try:
        m = json.loads(vfile.read_text(encoding="utf-8"))["metrics"]["auc"]
        lo, hi, level = float(m["ci_low"]), float(m["ci_high"]), float(m.get("level", 0.95))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    from scipy.stats import norm

    se = (hi - lo) / (2 * norm.ppf(0.5 + level / 2))
    return se if se > 0 and np.isfinite(se) else None


def _step(result: dict) -> int:
    last = result["current"].get("last_snapshot")
    if last:
        t = pd.Timestamp(last)
        return t.year * 100 + t.month
    now = dt.datetime.now(tz=dt.UTC)
    return now.year * 100 + now.month


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (pd.Timestamp, dt.date)):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o):
    """NaN/inf → None so that the JSON is strict."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def run_monitor(model_uri: str, baseline: str | os.PathLike, current: str | os.PathLike, out: str | os.PathLike, *,
                json_out: str | os.PathLike | None = None, baseline_period: str | None = None,
                current_period: str | None = None, settings: MonitorSettings | None = None,
                log_to_mlflow: bool = True) -> MonitorResult:
    """Monitor ``model_uri`` on ``current`` against ``baseline``; write ``out`` (HTML) and its JSON.

    Parameters
    ----------
    model_uri : str
        MLflow model directory or URI (``models:/name@champion`` ...).
    baseline, current : path
        Features folders or single .parquet/.csv tables; ``baseline_period`` / ``current_period``
        (``START:END``) select snapshots of each.
    out : path
        HTML file (written atomically); the JSON goes to ``json_out`` (default: ``out`` with ``.json``).
    log_to_mlflow : bool
        Log metrics and files to the model's MLflow run when it is known.
    """
    from smecredit.registry import load_model

    model_uri = str(model_uri)
    out = Path(out)
    json_path = Path(json_out) if json_out is not None else out.with_suffix(".json")
    if json_path.resolve() == out.resolve():
        raise ConfigError(f"the JSON output must differ from the HTML output {out}")
    bp, cp = parse_period(baseline_period), parse_period(current_period)
    model = load_model(model_uri)
    bdata, cdata = load_report_data(baseline), load_report_data(current)
    base = select_period(bdata.frame, bp, "baseline")
    cur = select_period(cdata.frame, cp, "current")
    dev_auc, dev_src = development_auc(model_uri, model)
    result = monitor(model, base, cur, development_auc=dev_auc, development_source=dev_src,
                     development_se=development_auc_se(model_uri) if dev_src.startswith("validation.json") else None,
                     catalog=cdata.catalog if cdata.catalog is not None else bdata.catalog, settings=settings)
    meta = model.metadata_
    name, version = meta.get("registered_name"), meta.get("registered_version")
    result["model"].update({"uri": model_uri, "registered_name": name, "registered_version": version,
                            "run_id": meta.get("run_id")})
    result["generated_at"] = generated_at()
    title = f"{name} version {version}" if name else f"{model.kind} model {Path(model_uri).name or model_uri}"
    sources = {"baseline": f"{Path(str(baseline)).name}" + (f" {baseline_period}" if baseline_period else ""),
               "current": f"{Path(str(current)).name}" + (f" {current_period}" if current_period else "")}
    result = _clean(result)
    html = render_monitor(result, title=title, generated_at=result["generated_at"], sources=sources)
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8")
    run_id = meta.get("run_id")
    logged = False
    if log_to_mlflow and run_id:
        log_monitoring(run_id, result, out, json_path)
        logged = True
    elif log_to_mlflow:
        log.warning("model %s has no MLflow run id; the monitoring run was not logged", model_uri)
    log.info("monitoring %s: %s (%d flags)", title, result["status"], len(result["flags"]))
    return MonitorResult(result, out, json_path, run_id, logged)


def log_monitoring(run_id: str, result: dict, html: Path, json_path: Path) -> None:
    """Log the metrics (step ``YYYYMM``) and the HTML/JSON of a monitoring run to MLflow run ``run_id``."""
    step = _step(result)
    rank = {"n/a": 0, "green": 0, "amber": 1, "red": 2}
    metrics = {f"monitor.{k}": v for k, v in metrics_of(result).items()}
    metrics["monitor.status"] = float(rank[result["status"]])
    with tempfile.TemporaryDirectory(prefix="smecredit-monitor-") as tmp:
        tag = str(step)
        for src, name in ((html, f"monitor_{tag}.html"), (json_path, f"monitor_{tag}.json")):
            staged = Path(tmp) / name
            staged.write_bytes(Path(src).read_bytes())
        try:
            runs.log_to_run(run_id, metrics=metrics, step=step, folder=tmp, artifact_path=MONITOR_DIR,
                            tags={"smecredit.monitor_status": result["status"],
                                  "smecredit.monitor_period": result["current"].get("last_snapshot") or ""})
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(f"cannot log the monitoring run to MLflow run {run_id}: "
                                     f"{str(exc).split(': ', 1)[-1]}") from exc
    log.info("logged monitoring (step %s) to run %s", step, run_id)
