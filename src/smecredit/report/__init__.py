"""The model-governance report: one self-contained HTML file per model version.

:func:`build_report` computes the sections, :func:`render_report` renders them; the
orchestration (loading, writing, logging to MLflow) is :mod:`smecredit.pipelines.report`.
"""

from smecredit.report.builder import ReportData, ReportSettings, build_report
from smecredit.report.render import render_report

__all__ = ["ReportData", "ReportSettings", "build_report", "render_report"]
