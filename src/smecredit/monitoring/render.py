"""Render a monitoring result (:func:`smecredit.monitoring.monitor`) as one self-contained HTML page.

Autoescaping is on, figures are embedded ``data:`` PNGs and the page references no external URL.
"""

from __future__ import annotations

import jinja2
import pandas as pd

from smecredit.report import plots
from smecredit.report.render import fmt_num, fmt_p, fmt_pct

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Model monitoring: {{ title }}</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}
.green{background:#dff0d8}.amber{background:#fcf0c8}.red{background:#f4c7c3}.n\\/a{background:#eee}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:bold}
img{max-width:100%}
</style></head><body>
<h1>Model monitoring: {{ title }}</h1>
<p>Overall status: <span class="badge {{ r.status }}">{{ r.status }}</span>
 &nbsp; generated {{ generated_at }}; model {{ r.model.kind }} ({{ r.model.n_features }} features, target {{ r.model.target }}).</p>
<table><tr><th class="l">period</th><th>rows</th><th>enterprises</th><th>snapshots</th><th>mean PD</th><th>matured rows</th><th>realised default rate</th></tr>
{% for name in ["baseline", "current"] %}{% set p = r[name] %}
<tr><td class="l">{{ name }}{% if sources[name] %} ({{ sources[name] }}){% endif %}</td><td>{{ p.n_rows|num }}</td><td>{{ p.n_enterprises|num }}</td>
<td>{{ p.first_snapshot or "–" }} … {{ p.last_snapshot or "–" }}</td><td>{{ p.mean_pd|pct(2) }}</td><td>{{ p.n_matured|num }}</td><td>{{ p.default_rate|pct(2) }}</td></tr>{% endfor %}
</table>

<h2>Checks</h2>
<table><tr><th class="l">check</th><th class="l">status</th></tr>
{% for k, v in r.checks.items() %}<tr><td class="l">{{ k }}</td><td class="l {{ v }}">{{ v }}</td></tr>{% endfor %}</table>
<p>Thresholds: PSI/CSI amber from {{ s.psi_amber }}, red from {{ s.psi_red }}; calibration amber when the one-sided
Jeffreys p &lt; {{ s.calibration_p_amber }}, red &lt; {{ s.calibration_p_red }} (Bonferroni over the grades judged; a grade with fewer than 5 defaults and 5 expected defaults is not judged); AUC drop amber from {{ s.auc_drop_amber }} with one-sided DeLong p &lt; {{ s.auc_p_amber }},
red from {{ s.auc_drop_red }} with p &lt; {{ s.auc_p_red }}, judged only with at least {{ s.auc_min_defaults }} defaults; source coverage change amber from {{ s.coverage_amber|pct(0) }}, red from {{ s.coverage_red|pct(0) }}.
PSI thresholds are industry practice, not regulation.</p>
{% if r.flags %}<h3>Flags</h3><table><tr><th class="l">status</th><th class="l">check</th><th class="l">item</th><th>value</th><th class="l">detail</th></tr>
{% for f in r.flags %}<tr><td class="l {{ f.status }}">{{ f.status }}</td><td class="l">{{ f.check }}</td><td class="l">{{ f.item }}</td><td>{{ f.value|num(4) }}</td><td class="l">{{ f.detail or "" }}</td></tr>{% endfor %}</table>
{% else %}<p>No amber or red flag.</p>{% endif %}

<h2>1. Population stability</h2>
<p>Score PSI {{ r.stability.score_psi|num(4) }} <span class="badge {{ r.stability.score_status }}">{{ r.stability.score_status }}</span>;
grade PSI {{ r.stability.grade_psi|num(4) }} <span class="badge {{ r.stability.grade_status }}">{{ r.stability.grade_status }}</span> (bins from the baseline).</p>
<table><tr><th class="l">score bin</th><th>baseline share</th><th>current share</th><th>PSI</th></tr>
{% for b in r.stability.score_table %}<tr><td class="l">{{ b.bin }}</td><td>{{ b.ref_share|pct }}</td><td>{{ b.act_share|pct }}</td><td>{{ b.psi|num(4) }}</td></tr>{% endfor %}</table>
<h3>Characteristic stability (CSI) of every feature</h3>
<img alt="CSI of the features" src="{{ csi_plot }}">
<table><tr><th class="l">feature</th><th>CSI</th><th class="l">status</th><th>missing (baseline)</th><th>missing (current)</th></tr>
{% for f in r.stability.csi %}<tr><td class="l">{{ f.feature }}</td><td>{{ f.csi|num(4) }}</td><td class="l {{ f.status }}">{{ f.status }}</td><td>{{ f.base_missing|pct }}</td><td>{{ f.current_missing|pct }}</td></tr>{% endfor %}</table>

<h2>2. Grade migration</h2>
{% if r.migration.available %}
<p>{{ r.migration.n_pairs|num }} enterprises in both periods (latest baseline snapshot → latest current snapshot):
{{ r.migration.stable|pct }} same grade, {{ r.migration.within_one|pct }} within one grade, {{ r.migration.upgrades|pct }} upgraded,
{{ r.migration.downgrades|pct }} downgraded.</p>
<img alt="migration matrix" src="{{ migration_plot }}">
<table><tr><th class="l">from \\ to</th>{% for g in r.migration.grades %}<th>{{ g }}</th>{% endfor %}</tr>
{% for row in r.migration.counts %}<tr><th class="l">{{ r.migration.grades[loop.index0] }}</th>{% for c in row %}<td>{{ c|num }}</td>{% endfor %}</tr>{% endfor %}</table>
{% else %}<p>Not available: {{ r.migration.note }}.</p>{% endif %}

<h2>3. Calibration on matured outcomes</h2>
{% if r.calibration.available %}
<p>{{ r.calibration.n|num }} current rows with a matured outcome, {{ r.calibration.defaults|num }} defaults.
One-sided tests that the realised default rate is not above the mean PD of the grade; Jeffreys 95 % interval;
the status uses the Jeffreys p-value multiplied by the {{ r.calibration.n_grades_tested }} grades tested (Bonferroni).</p>
{% if calibration_plot %}<img alt="calibration by grade" src="{{ calibration_plot }}">{% endif %}
<table><tr><th class="l">grade</th><th>rows</th><th>defaults</th><th>mean PD</th><th>default rate</th><th>Jeffreys 95 %</th><th>binomial p</th><th>Jeffreys p</th><th class="l">status</th></tr>
{% for g in r.calibration.rows %}<tr><td class="l">{{ g.grade }}</td><td>{{ g.n|num }}</td><td>{{ g.defaults|num }}</td><td>{{ g.pd_mean|pct(2) }}</td><td>{{ g.default_rate|pct(2) }}</td>
<td>[{{ g.jeffreys_low|pct(2) }}, {{ g.jeffreys_high|pct(2) }}]</td><td>{{ g.binomial_p|pval }}</td><td>{{ g.jeffreys_p|pval }}</td><td class="l {{ g.status }}">{{ g.status }}</td></tr>{% endfor %}</table>
{% else %}<p>Not available: {{ r.calibration.note }}.</p>{% endif %}

<h2>4. Discrimination on matured outcomes</h2>
{% set d = r.discrimination %}
{% if d.available %}
<p>Realised AUC {{ d.realised_auc.value|num(4) }} [{{ d.realised_auc.ci_low|num(4) }}, {{ d.realised_auc.ci_high|num(4) }}]
on {{ d.n|num }} rows ({{ d.defaults|num }} defaults) against a development AUC of {{ d.development_auc|num(4) }}
({{ d.development_source }}): drop {{ d.auc_drop|num(4) }}{% if d.delong and d.delong.p_value is not none %}, one-sided DeLong p = {{ d.delong.p_value|num(4) }}{% endif %}{% if d.gate %} ({{ d.gate.gate }}{% if d.gate.significant == false %}; not significant{% endif %}){% endif %} <span class="badge {{ d.status }}">{{ d.status }}</span>.</p>
{% else %}<p>Not available: {{ d.note }}. Development AUC {{ d.development_auc|num(4) }}.</p>{% endif %}

<h2>5. Missing-data drift per source</h2>
{% if r.missing.available %}
<table><tr><th class="l">source family</th><th class="l">source</th><th>coverage (baseline)</th><th>coverage (current)</th><th>change</th><th class="l">status</th></tr>
{% for m in r.missing.rows %}<tr><td class="l">{{ m.family }}</td><td class="l">{{ m.source }}</td><td>{{ m.base_coverage|pct }}</td><td>{{ m.current_coverage|pct }}</td><td>{{ m.change|pct }}</td><td class="l {{ m.status }}">{{ m.status }}</td></tr>{% endfor %}</table>
{% else %}<p>Not available: {{ r.missing.note }}.</p>{% endif %}

<h2>6. Segments</h2>
{% if r.segments.available %}
<p>Approval rate at PD ≤ {{ r.segments.cutoff_pd|pct(1) }}: baseline {{ r.segments.base_approval|pct }}, current {{ r.segments.current_approval|pct }}.</p>
{% for t in r.segments.tables %}<h3>{{ t.label }}</h3>
<table><tr><th class="l">value</th><th>share (baseline)</th><th>share (current)</th><th>mean PD (baseline)</th><th>mean PD (current)</th><th>approval (baseline)</th><th>approval (current)</th><th>default rate (current, matured)</th><th>AUC (current)</th></tr>
{% for v in t.rows %}<tr><td class="l">{{ v.value }}</td><td>{{ v.base_share|pct }}</td><td>{{ v.current_share|pct }}</td><td>{{ v.base_mean_pd|pct(2) }}</td><td>{{ v.current_mean_pd|pct(2) }}</td>
<td>{{ v.base_approval|pct }}</td><td>{{ v.current_approval|pct }}</td><td>{{ v.current_default_rate|pct(2) }}</td><td>{{ v.current_auc|num(3) }}</td></tr>{% endfor %}</table>{% endfor %}
{% else %}<p>The data have no segment columns.</p>{% endif %}
</body></html>
"""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(pct=fmt_pct, num=fmt_num, pval=fmt_p)
    return env


def render_monitor(result: dict, *, title: str, generated_at: str, sources: dict | None = None) -> str:
    """HTML text of a monitoring result."""
    csi = pd.DataFrame(result["stability"]["csi"]).head(25)
    csi_plot = plots.bar_plot(csi["feature"], csi["csi"], title="CSI (largest 25 features)", xlabel="CSI",
                              horizontal=True, height=0.3 * len(csi) + 1.2,
                              lines={"amber": result["settings"]["psi_amber"], "red": result["settings"]["psi_red"]})
    mig = result["migration"]
    migration_plot = None
    if mig.get("available"):
        counts = pd.DataFrame(mig["counts"], index=mig["grades"], columns=mig["grades"])
        counts = counts.loc[counts.sum(axis=1) > 0]
        shares = counts.div(counts.sum(axis=1), axis=0)
        migration_plot = plots.heatmap_plot(shares, title="Grade migration (row shares)",
                                            xlabel="grade in the current period", ylabel="grade in the baseline")
    cal = result["calibration"]
    calibration_plot = None
    if cal.get("available"):
        g = pd.DataFrame([r for r in cal["rows"] if r["grade"] != "all"])
        if len(g):
            calibration_plot = plots.calibration_plot(g)
    return _environment().from_string(TEMPLATE).render(
        r=result, s=result["settings"], title=title, generated_at=generated_at, sources=sources or {},
        csi_plot=csi_plot, migration_plot=migration_plot, calibration_plot=calibration_plot)
