"""A scoring run's summary in words: the lines the CLI prints and a served run's Prefect log shows, and the
markdown artifact each run publishes (counts, alarms, links to the list and the report)."""

from __future__ import annotations

from churn.vocab import alarm_text


def scoring_lines(summary: dict) -> list[str]:
    """The run in plain sentences (no markup), the first one "Scored N active customers as of ..."."""
    lines = [
        f"Scored {summary['customers_scored']:,} active customers as of {summary['as_of']} with {summary['model']}: "
        f"{summary['customers_at_risk']:,} at risk, expected loss {summary['value_at_risk']:,.0f}. "
        f"Causes among those at risk: {summary['primary_causes_at_risk']}. "
        + (f"{summary['customers_lapsed']:,} more have lapsed (no order for twice their usual gap; expected loss "
           f"{summary['value_lapsed']:,.0f}): the win-back list. " if summary.get("customers_lapsed") else "")
        + f"List: {summary['out']}/retention_list.csv"
    ]
    d = summary["decisions"]
    versus = d.get("versus_risk_ranking") or {}
    budget = "an unlimited budget" if d["budget"] is None else f"{d['budget']:,.0f}"
    lines.append(
        f"Contact plan: {d['n_chosen']:,} customers, budget used {d['budget_used']:,.0f} of {budget}, "
        f"expected value retained {d['expected_value_retained']:,.0f}; {d['n_holdout']:,} more held out at random "
        f"(value {d['holdout_value']:,.0f} forgone to measure the actions)."
        + (f" The plan before the holdout retains {d['planned_value']:,.0f}; contacting the riskiest first with the "
           f"same budget: {versus['risk_ranking']['expected_value_retained']:,.0f}." if versus else ""))
    back = d.get("winback")
    if back:
        back_budget = "an unlimited budget" if back["budget"] is None else f"{back['budget']:,.0f}"
        lines.append(f"Win-back plan: {back['n_chosen']:,} of {back['n_customers']:,} lapsed customers, budget used "
                     f"{back['budget_used']:,.0f} of {back_budget}, expected value retained "
                     f"{back['expected_value_retained']:,.0f}; {back['n_holdout']:,} more held out at random.")
    effects = summary.get("action_effects") or {}
    measured = {a: v for a, v in effects.items() if not v["source"].startswith("prior")}
    if measured:
        by_source: dict[str, list[str]] = {}
        for a, v in sorted(measured.items()):
            shown = f"{a} {v['relative_effect']:+.0%}" if v["relative_effect"] is not None else a
            by_source.setdefault(v["source"], []).append(shown)
        lines.append("Action effects measured (share of the churn risk removed): "
                     + "; ".join(f"{src}: {', '.join(names)}" for src, names in by_source.items())
                     + f"; config priors for the other {len(effects) - len(measured)} actions.")
    lifecycle = summary.get("lifecycle")
    if lifecycle:
        line = "Lifecycle stages: " + ", ".join(f"{s} {n:,}" for s, n in lifecycle["stages"].items()) + "."
        moves = sorted(((b, n, k) for b, row in lifecycle["flows"].items() for n, k in row.items()),
                       key=lambda m: -m[2])
        if lifecycle.get("since"):
            line += (f" Since the run of {lifecycle['since']}: "
                     + (", ".join(f"{b} -> {n} {k:,}" for b, n, k in moves[:6]) if moves else "no customer moved")
                     + (f" (and {len(moves) - 6} smaller moves)" if len(moves) > 6 else "") + ".")
        lines.append(line)
    strange = (summary.get("uplift") or {}).get("not_in_playbook")
    if strange:
        lines.append(f"Past campaigns' action(s) {', '.join(strange)} are not playbook actions: what they achieved is "
                     f"not used. Map them to the playbook's names under source.tables.campaigns.values.action.")
    set_aside = {t: n for t, n in summary["rows_set_aside"].items() if n}
    if set_aside:
        lines.append(f"Rows set aside by validation: {set_aside} (reasons in {summary['quarantine']})")
    drift = summary.get("drift")
    if drift and drift["alarms"]:
        lines.append(f"Drift alarm against the training data: {alarm_text(drift)}.")
    elif drift:
        top = max(drift["psi"], key=drift["psi"].get)
        lines.append(f"Drift against the training data: no alarm on {drift['n_columns']} columns (largest PSI "
                     f"{drift['max_psi']:.3f}, {top}).")
    realised = realised_line(summary.get("realised"))
    if realised:
        lines.append(realised)
    return lines


def realised_line(realised: dict | None) -> str | None:
    """What the model achieved on past runs whose horizon has passed, in one sentence (None: not monitored)."""
    if not realised:
        return None
    if not realised["runs"]:
        due = f"; the first is due on {realised['next_due']}" if realised.get("next_due") else ""
        return f"Realised performance: no earlier run's horizon has passed yet ({realised['archived']} archived{due})."
    latest = realised["latest"]
    promised = (f" (promoted with {latest['promised_roc_auc']:.3f})" if latest.get("promised_roc_auc") is not None
                else "")
    text = (f"Realised performance of {realised['runs']} earlier run(s): the run of {latest['as_of']} reached ROC-AUC "
            f"{latest['roc_auc']:.3f}{promised}, {latest['churners']:,} of {latest['customers']:,} customers left.")
    if realised["alerts"]:
        text += (f" ALERT: realised ROC-AUC fell more than {realised['auc_margin']:.2f} below the promoted figure on "
                 f"{', '.join(a['as_of'] for a in realised['alerts'])}: retrain and compare.")
    return text


def scoring_markdown(summary: dict) -> str:
    """The run's markdown artifact: counts, plan, alarms, and where the list and the report are (the run
    summary's "files")."""
    d = summary["decisions"]
    drift = summary.get("drift") or {}
    realised = summary.get("realised") or {}
    alarms = []
    if drift.get("alarms"):
        alarms.append(f"**Drift alarm** against the training data: {alarm_text(drift)}")
    if realised.get("alerts"):
        alarms.append(f"**Realised-performance alert** on {', '.join(a['as_of'] for a in realised['alerts'])}: "
                      f"retrain and compare")
    rows = [("Customers scored", f"{summary['customers_scored']:,}"),
            ("At risk", f"{summary['customers_at_risk']:,}"),
            ("Expected loss of those at risk", f"{summary['value_at_risk']:,.0f}"),
            ("Lapsed (win-back list)", f"{summary.get('customers_lapsed') or 0:,}"),
            ("Contacts planned", f"{d['n_chosen']:,}"),
            ("Held out at random", f"{d['n_holdout']:,}"),
            ("Budget used", f"{d['budget_used']:,.0f}" + (f" of {d['budget']:,.0f}" if d["budget"] is not None else "")),
            ("Expected value retained", f"{d['expected_value_retained']:,.0f}"),
            ("Rows set aside by validation", f"{sum(summary['rows_set_aside'].values()):,}")]
    lines = [f"# Churn scoring run of {summary['as_of']}", "", f"Model: {summary['model']}", "",
             "| | |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows), "", "## Alarms", ""]
    lines += [f"- {a}" for a in alarms] or ["- none"]
    realised_text = realised_line(summary.get("realised"))
    if realised_text:
        lines += ["", "## Realised performance", "", realised_text]
    lines += ["", "## Files", "", *(f"- {name}: `{path}`" for name, path in summary.get("files", {}).items())]
    return "\n".join(lines) + "\n"
