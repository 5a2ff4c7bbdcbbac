"""What churn prints for a person: tables and summaries of each command's results (rich). The commands
(cli.py) call these; nothing here computes anything."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_validation(summary: dict, ws) -> None:
    table = Table(title=f"Validation (pulled {summary['pulled_at']})")
    for col in ("table", "rows", "kept", "set aside", "rules broken", "ignored columns"):
        table.add_column(col)
    for name, t in summary["tables"].items():
        rules = ", ".join(f"{k}: {v}" for k, v in t["bad_rows_by_rule"].items()) or "-"
        table.add_row(name, f"{t['rows']:,}", f"{t['kept_rows']:,}", f"{t['bad_rows']:,}", rules,
                      ", ".join(t["ignored_columns"]) or "-")
    console.print(table)
    for note in summary.get("read_notes", []):
        console.print(f"Note: {note}", highlight=False)
    for name, t in summary["tables"].items():
        if t.get("warning"):
            console.print(f"[yellow]Warning[/]: table {name}: {t['warning']}", highlight=False)
    console.print(f"Set-aside rows with their reasons: {ws.quarantine}")


def metrics_table(title: str, m: dict) -> Table:
    from churn.model import METRICS, MODELS

    table = Table(title=title)
    for col in ("model", "ROC-AUC", "PR-AUC", "Brier", "log loss", "lift@10%", "ECE"):
        table.add_column(col, justify="right")
    for name in MODELS:
        if f"{name}_roc_auc" in m:
            table.add_row(name, *(f"{m[f'{name}_{k}']:.3f}" for k in METRICS))
    return table


def print_training(result: dict) -> None:
    trained = result["metrics"]
    fallback = trained["data"].get("fallback")
    if fallback:
        console.print(f"[yellow]No complete label window yet[/] ({fallback['reason']}). The scoring model is the "
                      f"BG/NBD baseline, which needs no labels, fitted on the purchase rhythm of the "
                      f"{fallback['customers']:,} customers active on {fallback['as_of']}; nothing could be measured, "
                      f"so there is no grade. Train again once a horizon of history has passed.", highlight=False)
    else:
        _print_measured(trained)
    if "registered" in result:
        r = result["registered"]
        console.print(f"Registered churn v{r['version']}{' (BG/NBD fallback)' if fallback else ''} as @{r['alias']}: "
                      f"{r['decision']['explanation']} (MLflow run {r['run_id']})", highlight=False)


def _print_measured(trained: dict) -> None:
    split = trained["data"].get("holdout_kind") == "customer_split"
    console.print(metrics_table("Holdout (a share of the customers: a customer split)" if split
                                else "Holdout (latest complete cutoff)", trained["metrics"]))
    if split:
        held = trained["data"]["test"]
        console.print(f"[yellow]Weaker evidence[/]: the history has too few complete windows for a later-time "
                      f"holdout, so the figures above come from {held['examples']:,} examples of customers held out "
                      f"of the fit at the same cutoffs ({', '.join(held['cutoffs'])}). A model can look better on customers it "
                      f"has not seen than on a later time it has not seen.",
                      highlight=False)
    g, c = trained["grade"], trained["calibration"]
    console.print(f"Grade {g['grade']}: ROC-AUC {g['auc_gain']:+.3f} vs {g['best_baseline_auc']}, top-10% lift "
                  f"{g['lift_gain']:+.1%} vs {g['best_baseline_lift']}. Calibration: mean predicted vs observed "
                  f"churn differ by {c['gap']:.3f} ({'ok' if c['ok'] else 'OVER'} the {c['max_gap']} limit).")
    if trained["search"]["points_tried"]:
        on = {"temporal": "later cutoffs", "customers": "held-out customers (too short a history for later cutoffs)"}
        console.print(f"Search: {trained['search']['points_tried']} of {trained['search']['grid_points']} grid points "
                      f"in the time budget, validated on {on.get(trained['search'].get('validation'), 'later cutoffs')}; "
                      f"chosen {trained['params']}")
    choice = trained.get("candidate")
    if choice and choice["candidate"] != "model":
        console.print(f"[yellow]A baseline scores the list[/]: {choice['why']}, so {choice['candidate']} is the "
                      f"model registered (it scores and explains every customer like the LightGBM model would).",
                      highlight=False)
    refit = trained["data"].get("refit")
    if refit:
        console.print(f"The model registered is this specification fitted again on every complete window: "
                      f"{len(refit['cutoffs'])} cutoffs up to {refit['cutoffs'][-1]}, {refit['examples']:,} examples "
                      f"(the holdout's included); the figures above are of the fit before.")


def print_scoring(summary: dict) -> None:
    console.print(
        f"Scored {summary['customers_scored']:,} active customers as of {summary['as_of']} with {summary['model']}: "
        f"{summary['customers_at_risk']:,} at risk, expected loss {summary['value_at_risk']:,.0f}. "
        f"Causes among those at risk: {summary['primary_causes_at_risk']}. "
        + (f"{summary['customers_lapsed']:,} more have lapsed (no order for twice their usual gap; expected loss "
           f"{summary['value_lapsed']:,.0f}): the win-back list. " if summary.get("customers_lapsed") else "")
        + f"List: {summary['out']}/retention_list.csv"
    )
    d = summary["decisions"]
    versus = d.get("versus_risk_ranking") or {}
    budget = "an unlimited budget" if d["budget"] is None else f"{d['budget']:,.0f}"
    console.print(
        f"Contact plan: {d['n_chosen']:,} customers, budget used {d['budget_used']:,.0f} of {budget}, "
        f"expected value retained {d['expected_value_retained']:,.0f}; {d['n_holdout']:,} more held out at random "
        f"(value {d['holdout_value']:,.0f} forgone to measure the actions)."
        + (f" The plan before the holdout retains {d['planned_value']:,.0f}; contacting the riskiest first with the "
           f"same budget: {versus['risk_ranking']['expected_value_retained']:,.0f}." if versus else "")
    )
    back = d.get("winback")
    if back:
        back_budget = "an unlimited budget" if back["budget"] is None else f"{back['budget']:,.0f}"
        console.print(f"Win-back plan: {back['n_chosen']:,} of {back['n_customers']:,} lapsed customers, budget used "
                      f"{back['budget_used']:,.0f} of {back_budget}, expected value retained "
                      f"{back['expected_value_retained']:,.0f}; {back['n_holdout']:,} more held out at random.")
    effects = summary.get("action_effects") or {}
    measured = {a: v for a, v in effects.items() if not v["source"].startswith("prior")}
    if measured:
        by_source: dict[str, list[str]] = {}
        for a, v in sorted(measured.items()):
            shown = f"{a} {v['relative_effect']:+.0%}" if v["relative_effect"] is not None else a
            by_source.setdefault(v["source"], []).append(shown)
        console.print("Action effects measured (share of the churn risk removed): "
                      + "; ".join(f"{src}: {', '.join(names)}" for src, names in by_source.items())
                      + f"; config priors for the other {len(effects) - len(measured)} actions.")
    set_aside = {t: n for t, n in summary["rows_set_aside"].items() if n}
    if set_aside:
        console.print(f"Rows set aside by validation: {set_aside} (reasons in {summary['quarantine']})")
    from churn.monitor import alarm_text

    drift = summary.get("drift")
    if drift and drift["alarms"]:
        console.print(f"[bold yellow]Drift alarm[/] against the training data: {alarm_text(drift)}.")
    elif drift:
        top = max(drift["psi"], key=drift["psi"].get)
        console.print(f"Drift against the training data: no alarm on {drift['n_columns']} columns (largest PSI "
                      f"{drift['max_psi']:.3f}, {top}).")


def print_demo(trained: dict, check: dict, scored: dict, out: str) -> None:
    """The demo's closing summary: model quality, cause check, the contact plan and where everything is."""
    print_training(trained)
    console.print(f"Loss cause named correctly for {check['accuracy']:.1%} of the {check['judged']:,} holdout "
                  f"churners with a known cause (per cause: "
                  + ", ".join(f"{k} {v:.0%}" for k, v in check["per_cause"].items())
                  + f"; the symptom rule: {check['symptom_rule']['accuracy']:.1%})")
    print_scoring(scored)
    reg = trained["registered"]
    console.print(
        f"\n[bold]Done.[/]\n"
        f"  Retention list : {out}/retention_list.csv (and .parquet)\n"
        f"  Report         : {out}/report.html, workbook {out}/retention_list.xlsx\n"
        f"  Model quality  : metrics/train_metrics.json, metrics/plots/*.png\n"
        f"  MLflow run     : {reg['run_id']} in {reg['tracking_uri']} (model churn v{reg['version']} @{reg['alias']})\n"
        f"  Open the UI    : .venv/bin/mlflow ui --backend-store-uri {reg['tracking_uri']}  ->  http://127.0.0.1:5000"
    )


def print_backtest(result: dict, out: str) -> None:
    """ROC-AUC by as-of date for every model, the pooled metrics and where the tables are."""
    import pandas as pd

    table = Table(title=f"Backtest, {result['horizon_days']}-day horizon: ROC-AUC by as-of date")
    frame = pd.DataFrame(result["dates"])
    wide = frame.pivot(index="as_of", columns="model", values="roc_auc")
    table.add_column("as of")
    for name in wide.columns:
        table.add_column(name, justify="right")
    for day, row in wide.iterrows():
        table.add_row(day, *(f"{v:.3f}" for v in row))
    console.print(table)
    console.print(metrics_table("Pooled over all dates", result["pooled"]))
    console.print(f"Table: {out}/backtest.csv and .json, plot: {out}/backtest.png, MLflow run {result['mlflow_run_id']}")


def print_effect(result: dict, confidence: float, horizon_days: int) -> None:
    """Contacted against held-out churn per action and cause, with intervals, and the evidence kept."""
    level = f"{confidence:.0%}"
    table = Table(title=f"Actions of {result['run']} ({result['source']}): {horizon_days}-day churn, "
                        "effect = held-out minus contacted churn rate")
    for col in ("action", "cause", "contacted", "held out", "churn: contacted / held out", "effect",
                f"{level} interval", "relative"):
        table.add_column(col, no_wrap=col in ("action", f"{level} interval"),
                         justify="left" if col in ("action", "cause") else "right")
    for r in result["measured"].itertuples(index=False):
        known = r.effect == r.effect
        table.add_row(r.action, r.cause, f"{r.n_treated:,}", f"{r.n_control:,}",
                      f"{pct(r.churn_treated)} / {pct(r.churn_control)}", f"{r.effect:+.1%}" if known else "-",
                      f"{r.ci_low:+.1%} .. {r.ci_high:+.1%}" if known else "-",
                      f"{r.relative_effect:+.0%}" if r.relative_effect == r.relative_effect else "-")
    console.print(table)
    priors = result["evidence"]["effects"]
    console.print(f"Evidence kept in {result['evidence_file']} (all measured runs pooled); the next contact plans use "
                  f"these relative effects instead of the priors: {priors or 'none yet (too few customers per arm)'}. "
                  f"MLflow run {result['mlflow_run_id']}")


def pct(x: float) -> str:
    return f"{x:.1%}" if x == x else "-"


# The line each `churn stage` command prints for its runner's result, one entry per stage (those with a
# table of their own, validate, train, backtest and publish, use the functions above).
STAGE_LINES = {
    "demo-data": lambda r: f"Sample history written to {r['path']}: "
                           + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items() if k != "injected"),
    "pull": lambda r: "Pulled " + ", ".join(f"{k} {v:,}" for k, v in r.items()),
    "features": lambda r: f"Features as of {r['scoring']['as_of']}: {r['training']['examples']:,} training examples "
                          f"over {len(r['training']['cutoffs'])} cutoffs, {r['scoring']['active_customers']:,} active "
                          f"customers to score",
    "value": lambda r: f"Customer value as of {r['as_of']} for {r['customers']:,} customers: forecast "
                       f"{r['forecast']}, {r['key_accounts']:,} key accounts",
    "effects": lambda r: f"Campaign rows with a complete horizon: {r['campaign_rows']:,}; measured relative effects "
                         f"replacing the priors: {r['priors'] or 'none'}",
    "register": lambda r: f"Registered churn v{r['version']} as @{r['alias']}: {r['decision']['explanation']} "
                          f"(MLflow run {r['run_id']})",
    "score": lambda r: f"Scored {r['customers_scored']:,} active customers as of {r['as_of']} with {r['model']}",
    "decide": lambda r: f"Contact plan: {r['decisions']['n_chosen']:,} customers; list: {r['out']}/retention_list.csv",
    "report": lambda r: f"Report ({r['language']}): {', '.join(r['files'])}",
    "promote": lambda r: f"churn v{r['version']} is now @champion (was v{r['previous_champion']}), "
                         f"by {r['promoted_by']}: {r['reason']}",
}


def print_stage(stage: str, result: dict) -> None:
    """The one line a stage command prints for its runner's result (`STAGE_LINES`)."""
    console.print(STAGE_LINES[stage](result), highlight=False)

