"""``smecredit report`` and ``smecredit promote``."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from smecredit.cli import app, console

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@app.command()
def report(
    model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS."),
    data: Path = typer.Option(..., "--data", help="Features folder or a CSV/Parquet table (with the target column)."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    compare: str = typer.Option(None, "--compare", help="A second model (e.g. the scorecard) for section 9."),
    reference: Path = typer.Option(None, "--reference",
                                   help="Training data for the PSI (default: rows in the model's training window)."),
    cutoff_pd: float = typer.Option(0.05, "--cutoff-pd", help="PD cut-off of the approval rates by segment."),
    sample_size: int = typer.Option(5000, "--sample-size", help="Rows shown in the beeswarm and dependence plots."),
    n_boot: int = typer.Option(500, "--n-boot", help="Bootstrap resamples of the confidence intervals "
                                                         "(500 = smecredit train's, so both give the same CIs)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples and bootstrap."),
    log_mlflow: bool = typer.Option(True, "--log/--no-log", help="Log the report to the model's MLflow run."),
    stress_raw: Path = typer.Option(None, "--stress-raw", help="Raw folder for the sensitivity and stress test."),
    stress_as_of: str = typer.Option(None, "--stress-as-of", help="Snapshot (YYYY-MM-DD) of the stress test."),
    stress_macro: int = typer.Option(0, "--stress-macro",
                                     help="Enterprises of the simulated base and macro-shock cities (0 = no macro stress)."),
) -> None:
    """Write the self-contained model-governance report (HTML) and log it to the model's MLflow run."""
    from smecredit.pipelines.report import run_report
    from smecredit.report import ReportSettings

    settings = ReportSettings(cutoff_pd=cutoff_pd, sample_size=sample_size, n_boot=n_boot, seed=seed)
    from smecredit.progress import Progress

    with Progress("report", total=9) as progress:  # a bar on a terminal, plain lines otherwise
        result = run_report(model, data, out, compare=compare, reference=reference, settings=settings,
                            log_to_mlflow=log_mlflow, stress_raw=stress_raw, stress_as_of=stress_as_of,
                            stress_macro=stress_macro,
                            progress=progress.stage)
    console.print(f"wrote {result.path} (sha256 {result.sha256})", highlight=False)
    if result.logged:
        console.print(f"logged as reports/governance_report.html to run {result.run_id}", highlight=False)


@app.command()
def stress(
    model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS."),
    raw: Path = typer.Option(..., "--raw", help="Raw data folder."),
    as_of: str = typer.Option(..., "--as-of", help="Snapshot date YYYY-MM-DD to stress."),
    out: Path = typer.Option(..., "--out", help="JSON file with the result of every scenario."),
    months: int = typer.Option(6, "--months", help="Months up to the snapshot the shocks apply to."),
    lgd: float = typer.Option(0.45, "--lgd", help="Loss given default of the expected loss."),
    macro_enterprises: int = typer.Option(0, "--macro-enterprises",
                                          help="Also run the macro-shock stress on two simulated cities of this many "
                                               "enterprises (0 = off)."),
    macro_shock: float = typer.Option(-0.9, "--macro-shock", help="Depth of the simulated macro shock (< 0)."),
    macro_seed: int = typer.Option(0, "--macro-seed", help="Seed of the two simulated cities."),
    macro_months: int = typer.Option(36, "--macro-months", help="Months simulated in each city (>= 24)."),
) -> None:
    """PD, grade distribution and expected loss under stressed inputs (sales -30 %, electricity -30 %, both),
    and optionally under a macro shock of the simulator (--macro-enterprises)."""
    import json

    from smecredit.data import load_raw
    from smecredit.io import atomic_path
    from smecredit.registry import load_model
    from smecredit.pipelines.stress import stress_test

    loaded = load_model(model)
    result = stress_test(loaded, load_raw(raw), as_of, months=months, lgd=lgd)
    if macro_enterprises:
        from smecredit.pipelines.macro_stress import macro_stress

        result["macro"] = macro_stress(loaded, n_enterprises=macro_enterprises, shock=macro_shock, seed=macro_seed,
                                       months=macro_months, lgd=lgd)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    for r in result["scenarios"]:
        console.print(f"{r['scenario']:<28} mean PD {r['mean_pd']:.4f}  grades 8-10 {r['share_grade_8_10']:.1%}  "
                      f"EL {r['el']:,.0f}", highlight=False)
    for r in result.get("macro", {}).get("scenarios", []):
        console.print(f"{r['scenario']:<28} mean PD {r['mean_pd']:.4f}  grades 8-10 {r['share_grade_8_10']:.1%}  "
                      f"EL {r['el']:,.0f}  (true mean PD {r['true_mean_pd']:.4f})", highlight=False)
    console.print(f"wrote {out}", highlight=False)


@app.command()
def promote(
    name: str = typer.Option(..., "--name", help="Registered model name."),
    version: str = typer.Option(..., "--version", help="Model version the decision is about."),
    alias: str = typer.Option("champion", "--alias", help="Alias moved to this version on approval."),
    decision: str = typer.Option(..., "--decision", help="approve, approve-with-conditions or reject."),
    reviewer: str = typer.Option(..., "--reviewer", help="Reviewer id; must differ from the model's developer."),
    note: str = typer.Option(..., "--note", help="Summary of the review (recorded as a tag)."),
    findings: Path = typer.Option(None, "--findings",
                                  help="YAML/JSON file: findings (id, title, severity, owner, due) and conditions."),
    condition: list[str] = typer.Option(None, "--condition", help="A condition of use (repeatable)."),
    revalidation_date: str = typer.Option(None, "--revalidation-date",
                                          help="Next validation date YYYY-MM-DD (required for an approval)."),
) -> None:
    """Record a validation decision on a model version; the alias moves only on approval.

    Refused with exit 5 without a governance report, when the reviewer is the model's developer, or for
    a plain approval with an open high-severity finding; exit 2 for a bad decision, findings file or date.
    """
    from smecredit.pipelines.report import promote as run_promote

    tags = run_promote(name, version, alias=alias, reviewer=reviewer, note=note, decision=decision,
                       findings=findings, conditions=condition or [], revalidation_date=revalidation_date)
    moved = tags["review.alias_moved"] == "true"
    where = f"is now @{alias}" if moved else f"was not moved to @{alias}"
    console.print(f"{name} version {version}: {tags['review.decision']} by {tags['review.reviewer']} at "
                  f"{tags['review.time']}; {where} (report sha256 {tags['review.report_sha256']}; findings "
                  f"{tags['review.findings']})", highlight=False)
