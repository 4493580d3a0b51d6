"""Ongoing monitoring of a PD model (regulation Art. 40; SR 11-7, EBA GL/2017/16 ongoing monitoring).

:func:`monitor` compares a current period with a baseline (score PSI, CSI of every feature, grade
migration, realised vs predicted default rate per grade, realised vs development AUC, missing-data
drift per source, segments); :func:`render_monitor` writes the HTML page. The run that loads data,
writes files and logs to MLflow is :mod:`smecredit.pipelines.monitor`.
"""

from smecredit.monitoring.monitor import MonitorSettings, light, metrics_of, monitor, worst
from smecredit.monitoring.render import render_monitor

__all__ = ["MonitorSettings", "light", "metrics_of", "monitor", "render_monitor", "worst"]
