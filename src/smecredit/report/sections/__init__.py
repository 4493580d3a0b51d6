"""The sections of the governance report, one module each (plain data; :mod:`smecredit.report.builder`
assembles them in report order and :mod:`smecredit.report.render` renders them).

Sections 1 (identity) and 10 (limitations) are assembled by the builder; section 4's population
view, section 5's long-run calibration and the data-quality subsection live in
:mod:`smecredit.report.scope`, :mod:`smecredit.report.long_run` and :mod:`smecredit.report.data_quality`.
"""
