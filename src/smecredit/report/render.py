"""Render the governance report context to one self-contained HTML document.

The jinja2 template ``templates/governance_report.html`` ships as package data; autoescaping is
on, images are ``data:`` URIs, and the document references no external URL (no fonts, scripts
or style sheets), so it opens offline and prints with its own print CSS.
"""

from __future__ import annotations

import math

import jinja2

TEMPLATE = "governance_report.html"


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))


def fmt_pct(v, digits: int = 1) -> str:
    """``0.1234`` → ``12.3%``; ``None``/NaN → an en dash."""
    return f"{100 * v:.{digits}f}%" if _is_num(v) else "–"


def fmt_num(v, digits: int = 3) -> str:
    """A number with ``digits`` decimals (integers with thousands separators)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.{digits}f}" if _is_num(v) else "–"


def fmt_p(v) -> str:
    """A p-value: 4 decimals, ``< 0.0001`` below."""
    if not _is_num(v):
        return "–"
    return "< 0.0001" if v < 1e-4 else f"{v:.4f}"


def fmt_ci(d, digits: int = 3) -> str:
    """``value [low, high]`` of a bootstrap result dict."""
    if not isinstance(d, dict) or "value" not in d:
        return "–"
    return f"{d['value']:.{digits}f} [{d['ci_low']:.{digits}f}, {d['ci_high']:.{digits}f}]"


def environment() -> jinja2.Environment:
    """The jinja2 environment of the report templates (autoescaping on, strict undefined)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("smecredit.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=fmt_pct, num=fmt_num, pval=fmt_p, ci=fmt_ci)
    return env


def render_report(context: dict) -> str:
    """HTML text of the report."""
    return environment().get_template(TEMPLATE).render(**context)
