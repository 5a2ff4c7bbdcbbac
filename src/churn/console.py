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


def _short(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def print_mapping(result: dict) -> None:
    """`churn map`'s proposal: each export's table and columns with confidence and sample values, the exports
    it leaves out, the required columns it could not find and what to do."""
    proposal = result["proposal"]
    table = Table(title=f"Proposed mapping of {result['folder']}")
    for col in ("table", "column", "<- export column", "confidence", "why", "sample values (or words)"):
        table.add_column(col, overflow="fold")
    for export in proposal.used():
        files = result["files"].get(export.export, [export.export])
        shown = export.export + (f" ({len(files)} files)" if len(files) > 1 else "")
        table.add_section()
        table.add_row(f"[bold]{export.table}[/]", "", f"[bold]{shown}[/]", "", export.why, "")
        for c in export.columns:
            source = f"(every row: {c.constant!r})" if c.source is None else c.source
            if c.column == "customer_id" and export.customer_by == "name":
                source += " (by name)"
            samples = ", ".join(_short(v) for v in c.samples[:2])
            if c.values:
                words = [f"{k}->{v}" for k, v in c.values.items()]
                samples = ", ".join(words[:3]) + (f" (+{len(words) - 3})" if len(words) > 3 else "")
            if c.unmapped_values:
                samples += f"; [yellow]kept as they are: {', '.join(c.unmapped_values[:5])}[/]"
            colour = "green" if c.confidence >= 0.9 else "yellow"
            table.add_row("", c.column, source, f"[{colour}]{c.confidence:.2f}[/]", c.why, samples)
    console.print(table)
    for export in proposal.ignored():
        console.print(f"Ignored: {export.export}: {export.why}.", highlight=False)
    tables = {e.table for e in proposal.used()}
    if not tables & {"orders", "customers"}:
        console.print("[red]Not found[/]: neither orders nor customers. churn learns who leaves from orders: add the "
                      "orders export (sales orders, invoices) to the folder, or name it in the config under "
                      "source.tables.orders.table.", highlight=False)
    for name, missing in proposal.missing().items():
        for column in missing:
            console.print(f"[red]Not found[/]: {name}.{column} (required). Add it under source.tables.{name}.columns "
                          f"in the config: `{column}: <the export's column holding the {column.replace('_', ' ')}>`; "
                          f"`churn validate` stops until it is there.", highlight=False)
    if result["out"]:
        console.print(f"Mapping written to {result['out']}. " + (
            f"Review it, then: churn validate --config {result['out']}" if proposal.complete() else
            "Complete it as said above, then: churn validate --config " + result["out"]), highlight=False)
    else:
        console.print("Nothing written: add --out FILE to write the mapping as a config.", highlight=False)


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
    if held_out := calibration_line(trained["data"]):
        console.print(held_out, highlight=False)
    if trained["search"]["points_tried"]:
        on = {"temporal": "later cutoffs", "customers": "held-out customers (too short a history for later cutoffs)"}
        console.print(f"Search: {trained['search']['points_tried']} of {trained['search']['grid_points']} grid points "
                      f"in the time budget, validated on {on.get(trained['search'].get('validation'), 'later cutoffs')}"
                      + (f", each fold fitted on a share of its customers ({trained['search']['fit_examples']:,} "
                         f"examples at most)" if trained["search"].get("sampled") else "")
                      + f"; chosen {trained['params']}")
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
    causes = trained.get("causes")
    if causes:
        console.print(cause_method_line(causes), highlight=False)


def calibration_line(data: dict) -> str | None:
    """How a large fit was calibrated (on customers held out of it); None for the usual out-of-fold fits."""
    calibrated = data.get("calibration") or {}
    if calibrated.get("on") != "held_out_customers":
        return None
    return (f"Calibrated on {calibrated['examples']:,} examples of {calibrated['share']:.0%} of the customers, held "
            f"out of the fit ({calibrated['fit_examples']:,} examples): past train.calibration_held_out_past examples, "
            f"instead of out-of-fold fits.")


def cause_method_line(causes: dict) -> str:
    """How the list's loss causes are named, and why: learnt from recorded reasons or the evidence method."""
    verdict = causes["holdout"]
    complained = causes.get("complaints")  # (absent when explain.from_complaints is off)
    also = (f"with what {complained['customers']:,} lost customers complained about"
            if complained and complained.get("used") else "")
    without = f" No cause model from complaints: {complained['why']}." if complained and not also else ""
    if verdict["chosen"] == "known_causes":
        weights = [w for w in ("the evidence method" if verdict.get("with_evidence") else "", also) if w]
        weighed = f", weighed with {' and '.join(weights)}" if weights else ""
        return (f"Loss causes: learnt from the recorded reasons of {causes['customers']:,} lost customers{weighed} "
                f"({verdict['why']}).{without}")
    method = f"the evidence method, weighed {also}" if also else "the evidence method"
    if causes.get("judged", {}).get("used"):
        return f"Loss causes: {method} ({verdict['why']}).{without}"
    return f"Loss causes: {method} (no cause model: {causes.get('why', verdict['why'])}).{without}"


def print_scoring(summary: dict) -> None:
    """The run's summary lines (the same a served run's Prefect log shows); alarms and alerts in colour."""
    from churn.report import scoring_lines

    for line in scoring_lines(summary):
        if line.startswith("Drift alarm") or "ALERT" in line:
            console.print(f"[bold yellow]{line}[/]", highlight=False)
        else:
            console.print(line)


def print_demo(trained: dict, check: dict, scored: dict, out: str) -> None:
    """The demo's closing summary: model quality, cause check, the contact plan and where everything is."""
    print_training(trained)
    console.print(f"Loss cause named correctly for {check['accuracy']:.1%} of the {check['judged']:,} holdout "
                  f"churners with a known cause (per cause: "
                  + ", ".join(f"{k} {v:.0%}" for k, v in check["per_cause"].items())
                  + f"; the symptom rule: {check['symptom_rule']['accuracy']:.1%})")
    needs = check["needs"]
    console.print(f"Need profile agrees with the true need for {needs['accuracy']:.1%} of the {needs['customers']:,} "
                  "scored customers (precision/recall: " + ", ".join(
                      f"{k} {v['precision']:.0%}/{v['recall']:.0%}" for k, v in needs["per_need"].items()
                      if v["precision"] is not None and v["recall"] is not None) + ")")
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


def print_weekly_drift(runs: list[dict]) -> None:
    """`churn demo --weeks`: each weekly run's drift alarms against the training data."""
    table = Table(title="Weekly scoring runs: drift against the training data")
    for col in ("as of", "customers", "at risk", "largest PSI", "alarms"):
        table.add_column(col, justify="left" if col in ("as of", "alarms") else "right", no_wrap=col == "as of")
    for r in runs:
        drift = r.get("drift") or {}
        table.add_row(r["as_of"], f"{r['customers_scored']:,}", f"{r['customers_at_risk']:,}",
                      f"{drift.get('max_psi', 0):.2f}", ", ".join(drift.get("alarms", [])) or "none")
    console.print(table)


def print_monitor(result: dict) -> None:
    """What the model achieved on past scoring runs whose horizon has passed, and the alerts."""
    from churn.monitor import alert_text
    from churn.report import realised_line

    if not result["runs"]:
        console.print(f"{realised_line(result)} Runs: {result['runs_dir']}")
        return
    table = Table(title=f"Realised performance of {result['runs']} scoring run(s), {result['horizon_days']}-day churn")
    for col in ("as of", "scored", "left", "ROC-AUC (promoted)", "PR-AUC", "Brier", "churn: predicted / real",
                "lift top 10%", "left: contacted / held out"):
        table.add_column(col, justify="left" if col == "as of" else "right", no_wrap=col == "as of")

    def num(v, fmt="{:.3f}"):
        return fmt.format(v) if v is not None else "-"

    for r in result["rows"]:
        table.add_row(r["as_of"] + (" [bold red]alert[/]" if r["alert"] else ""), f"{r['customers']:,}",
                      f"{r['churners']:,}", f"{num(r['roc_auc'])} ({num(r['promised_roc_auc'])})", num(r["pr_auc"]),
                      num(r["brier"]), f"{pct(r['mean_predicted'])} / {pct(r['churn_rate'])}",
                      num(r["lift_top10"], "{:.1f}x"),
                      f"{pct(r['contacted_churn'])} / {pct(r['held_out_churn'])}")
    console.print(table)
    mix = (result.get("latest") or {}).get("cause_mix") or {}
    if mix:
        console.print(f"Those who left after the run of {result['latest']['as_of']}, by the cause it named: "
                      + ", ".join(f"{c} {n:,}" for c, n in sorted(mix.items(), key=lambda kv: -kv[1])))
    if result["alerts"]:
        console.print(f"[bold red]Alert:[/] {alert_text(result['alerts'], result['auc_margin'])}.")
    else:
        console.print(f"No alert: every run's realised ROC-AUC is within {result['auc_margin']:.2f} of the holdout "
                      f"figure its model was promoted with (where recorded).")
    if result["waiting"]:
        console.print(f"{result['waiting']} more run(s) wait for their horizon (next due {result['next_due']}).")
    console.print(f"MLflow run {result['mlflow_run_id']}")


def pct(x: float | None) -> str:
    return f"{x:.1%}" if x is not None and x == x else "-"


def _explained_note(causes: dict | None) -> str:
    """What the score left unexplained (past `explain.all_up_to`), for its line; nothing when it explained all."""
    if not causes or causes["explained"] >= causes["customers"]:
        return ""
    return (f"; causes named for {causes['explained']:,} (at risk, lapsed and a sample of "
            f"{causes['population']['customers']:,}), the others' when the contact plan reaches them")


# The line each `churn stage` command prints for its runner's result, one entry per stage (those with a
# table of their own, validate, train, backtest and publish, use the functions above).
STAGE_LINES = {
    "demo-data": lambda r: f"Sample history written to {r['path']}: "
                           + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items() if k not in ("injected", "shifted_orders")),
    "demo-export": lambda r: f"Sample business written as export files to {r['path']}: "
                             + ", ".join(f"{k} ({v:,} rows)" for k, v in r["files"].items()),
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
    "score": lambda r: f"Scored {r['customers_scored']:,} active customers as of {r['as_of']} with {r['model']}"
                       + _explained_note(r.get("causes")),
    "decide": lambda r: f"Contact plan: {r['decisions']['n_chosen']:,} customers; list: {r['out']}/retention_list.csv",
    "report": lambda r: f"Report ({r['language']}): {', '.join(r['files'])}",
    "promote": lambda r: f"churn v{r['version']} is now @champion (was v{r['previous_champion']}), "
                         f"by {r['promoted_by']}: {r['reason']}",
}


def print_stage(stage: str, result: dict) -> None:
    """The one line a stage command prints for its runner's result (`STAGE_LINES`)."""
    console.print(STAGE_LINES[stage](result), highlight=False)

