"""The managers' report: the retention list as one self-contained HTML page and as an Excel workbook.

Pure functions: a retention list (`churn.vocab.LIST_COLUMNS`, plus optional customer `name`,
`contact_name`, `email`, `phone`) and the scoring run's summary in, text or a workbook out.
The only I/O is `write_excel` saving to the path or buffer it is given.

- `frame`: the list as the report shows it (masking of personal details, column order, formatting).
- `localize`: every word of the report in English and Simplified Chinese (`LANGUAGES`).
- `html.render_html(listing, summary, language, mask_personal)`: one HTML file with inline CSS, JS
  and SVG charts (`templates/`) and no external resource, so it opens from a mail attachment.
- `excel.write_excel(listing, target, language, mask_personal)`: the full list and one sheet per owner.
- `runlog`: a scoring run's summary in sentences (the CLI, Prefect's log) and as a markdown artifact.
- `satisfaction`: survey scores and complaints over time and by segment and owner, open complaints of customers
  at risk, churn by complaints in the history (a section of the page, sheets of the workbook).
- `policy`: the differentiated service policy (action per segment, need profile and cause; win-back).
- `changes`: what changed since the previous run (new at risk, no longer at risk, recovered, lost) and the
  figures of each archived run for the trend.

Imports only `churn.vocab`.
"""

from churn.report._changes import (
    CHANGES,
    NOT_LISTED,
    RUN_COLUMNS,
    TREND_RUNS,
    change_counts,
    changes_since,
    customer_states,
    lifecycle_flows,
    run_figures,
    runs_before,
)
from churn.report._excel import PROBABILITY_FILLS, sheet_name, write_excel
from churn.report._frame import prepare_list
from churn.report._html import render_html
from churn.report._policy import policy_table
from churn.report._runlog import realised_line, scoring_lines, scoring_markdown
from churn.report._satisfaction import (
    CHURN_LINK_COLUMNS,
    OPEN_COLUMNS,
    SATISFACTION_COLUMNS,
    satisfaction_analysis,
    satisfaction_tables,
)
from churn.report._structure import DIMENSIONS as STRUCTURE_DIMENSIONS
from churn.report._structure import MOVE_COLUMNS, STRUCTURE_COLUMNS, customer_structure, pareto_curve
from churn.report.localize import LANGUAGES, list_reasons, model_kind_note, render_reasons

__all__ = ["CHANGES", "NOT_LISTED", "RUN_COLUMNS", "TREND_RUNS", "change_counts", "changes_since", "customer_states",
           "lifecycle_flows", "run_figures", "CHURN_LINK_COLUMNS", "OPEN_COLUMNS", "SATISFACTION_COLUMNS",
           "satisfaction_analysis", "satisfaction_tables", "policy_table", "MOVE_COLUMNS", "STRUCTURE_COLUMNS",
           "STRUCTURE_DIMENSIONS", "customer_structure", "pareto_curve",
           "runs_before", "LANGUAGES", "PROBABILITY_FILLS", "prepare_list",
           "list_reasons", "model_kind_note", "realised_line", "render_html", "render_reasons", "scoring_lines",
           "scoring_markdown", "sheet_name", "write_excel"]
