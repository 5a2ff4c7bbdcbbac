"""12-month customer value forecasts (BG/NBD x Gamma-Gamma) against the naive forecast, on a holdout.

Run by hand (not a test), from the repository root:

    .venv/bin/python benchmarks/value_forecast.py [--as-of 2026-10-01] [--horizon-days 365]
        [--retail ../shared/data/online_retail_ii.parquet] [--retail-as-of 2010-12-01]
        [--retail-horizon-days 180] [--no-retail]

1. The demo business (`generate_history(DemoConfig())`: 5,000 customers, injected bad rows),
   validated with `validate_history` (pulled at the as-of date, so nothing later is kept).
   `churn.score.validate_forecast` fits on the orders before `as_of - horizon`, forecasts the next
   horizon and compares with what each customer bought then (gross sales: positive rows; returns
   are not netted). Prints the fitted parameters, the summary (total forecast / actual, MAE,
   Spearman) for BG/NBD x Gamma-Gamma and for the naive "next horizon = trailing horizon", the
   decile calibration of both, and the key-account counts per rule for a few example rule sets
   (the demo has an `is_key_account` flag and segments).
2. UCI Online Retail II (one year, 2009-12-01 to 2010-12-09), mapped as: customer_id = "Customer ID"
   as an integer string, ts = InvoiceDate, amount = Quantity x Price, rows without a customer
   dropped (cancellations stay as negative rows; non-product stock codes are kept, unlike
   configs/sources/online_retail.yaml). As of 2010-12-01 with a 180-day horizon: fitted on
   2009-12-01 to 2010-06-03, compared over 2010-06-04 to 2010-11-30; the naive forecast is the
   180 days before the cutoff (2009-12-06 to 2010-06-03). The holdout runs into the gift
   retailer's Q4 peak that the fit window does not contain (BG/NBD assumes steady purchase
   rates), so a second holdout as of 2010-09-01 with 90 days (June to August) is run as a
   seasonality control.

Prints Markdown tables and timings. Both parts take a few seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from churn.config import DemoConfig, KeyAccountRules, ValidateConfig
from churn.data import generate_history, validate_history
from churn.score import key_accounts, validate_forecast

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RETAIL = ROOT / ".." / "shared" / "data" / "online_retail_ii.parquet"

DEMO_RULES = {
    "flag only (default)": KeyAccountRules(),
    "flag, top 20% of revenue": KeyAccountRules(top_revenue_share=0.2),
    "flag, top 20%, segment distributor": KeyAccountRules(top_revenue_share=0.2, segments=["distributor"]),
    "top 20% only (no flag)": KeyAccountRules(use_flag=False, top_revenue_share=0.2),
}
SEASONALITY_CONTROL = ("2010-09-01", 90)  # Online Retail: as of, horizon days
RETAIL_RULES = {
    "top 20% of revenue": KeyAccountRules(top_revenue_share=0.2),
    "top 50% of revenue": KeyAccountRules(top_revenue_share=0.5),
}


def md(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    formats = formats or {}
    cols = list(frame.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.to_dict("records"):  # keeps each column's type (iterrows makes ints floats)
        cells = []
        for c in cols:
            v = row[c]
            if pd.isna(v):
                cells.append("-")
            elif c in formats:
                cells.append(format(int(v) if formats[c].endswith("d") else v, formats[c]))
            elif isinstance(v, float | np.floating):
                cells.append(f"{v:,.3f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(name: str, orders: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> dict:
    t0 = time.perf_counter()
    result = validate_forecast(orders, as_of, horizon_days)
    seconds = time.perf_counter() - t0
    value = result["value"]
    bg, gg = value.attrs["bgnbd"], value.attrs["gamma_gamma"]
    repeat = value["frequency"] > 0
    print(f"\n## {name}: fitted before {result['cutoff'].date()}, compared over "
          f"[{result['cutoff'].date()}, {as_of.date()}) ({horizon_days} days)\n")
    print(f"- customers with a purchase before the cutoff: {result['n_customers']:,} "
          f"({(~repeat).sum():,} one-time buyers); validate_forecast took {seconds:.1f} s")
    print(f"- BG/NBD (weeks): r={bg.r:.4g} alpha={bg.alpha:.4g} a={bg.a:.4g} b={bg.b:.4g}; "
          f"Gamma-Gamma: p={gg.p:.4g} q={gg.q:.4g} v={gg.v:.4g}; spend rule {value.attrs['spend_rule']}, "
          f"BG/NBD penalizer {value.attrs['bgnbd_penalizer']:g}")
    # Gamma-Gamma assumes spend per purchase independent of purchase frequency.
    # Spend per purchase day of repeat buyers, as rfm_summary defines it (first day excluded).
    spend = value.loc[repeat, "expected_spend_per_purchase"]
    corr = np.corrcoef(value.loc[repeat, "frequency"], np.log(spend))[0, 1]
    print(f"- correlation of frequency and log expected spend per purchase day (repeat buyers): {corr:.2f}")
    print(f"- customers first buying in the holdout (not forecast, not compared): {result['new_customers']:,} "
          f"with {result['new_customer_revenue']:,.0f} of sales\n")
    summary = result["summary"].reset_index()
    print(md(summary, {"n": ",d", "forecast_total": ",.0f", "actual_total": ",.0f", "mae": ",.0f",
                      "ratio": ".3f", "mae_share": ".3f", "spearman": ".3f"}))
    d = result["deciles"].pivot(index="decile", columns="model", values=["n", "mean_forecast", "mean_actual"])
    table = pd.DataFrame({
        "decile": d.index,
        "n": d[("n", "bgnbd_gg")].to_numpy(),
        "bgnbd_gg forecast": d[("mean_forecast", "bgnbd_gg")].to_numpy(),
        "bgnbd_gg actual": d[("mean_actual", "bgnbd_gg")].to_numpy(),
        "naive forecast": d[("mean_forecast", "naive")].to_numpy(),
        "naive actual": d[("mean_actual", "naive")].to_numpy(),
    })
    print("\nMean per customer by decile of each model's own forecast (1 = lowest):\n")
    print(md(table, {c: ",.0f" for c in table.columns if c != "decile"}))
    return result


def key_account_counts(customers: pd.DataFrame | None, value: pd.DataFrame, rule_sets: dict) -> None:
    rows = []
    for name, rules in rule_sets.items():
        ka = key_accounts(customers, value, rules)
        counts = ka["key_account_rule"].value_counts()
        revenue = value.set_index("customer_id")["trailing_revenue_12m"].reindex(ka["customer_id"]).fillna(0)
        share = revenue[ka["is_key_account"].to_numpy()].sum() / revenue.sum()
        rows.append({"rules": name, "key accounts": int(ka["is_key_account"].sum()),
                     "by rule": ", ".join(f"{k}: {v}" for k, v in counts.items()) or "-",
                     "share of 12-month revenue": f"{share:.1%}"})
    print("\nKey accounts per rule set (first matching rule: flag, top revenue share, segment):\n")
    print(md(pd.DataFrame(rows)))


def demo(as_of: pd.Timestamp, horizon_days: int) -> None:
    t0 = time.perf_counter()
    history = generate_history(DemoConfig())
    checked = validate_history(history.tables, ValidateConfig(), as_of)
    tables = checked.tables
    print(f"# Demo business (DemoConfig(): 5,000 customers), as of {as_of.date()}\n")
    print(f"- orders kept {len(tables['orders']):,}, set aside "
          f"{checked.summary['tables']['orders']['bad_rows']:,}; generated and validated in "
          f"{time.perf_counter() - t0:.1f} s")
    result = report("Demo holdout", tables["orders"], as_of, horizon_days)

    from churn.score import forecast_customer_value

    t0 = time.perf_counter()
    now = forecast_customer_value(tables["orders"], as_of, horizon_days)
    print(f"\n## Forecast from {as_of.date()} (all data before it; {time.perf_counter() - t0:.1f} s)\n")
    totals = pd.DataFrame([{
        "customers": len(now),
        "trailing revenue 12m": now["trailing_revenue_12m"].sum(),
        "trailing returns 12m": now["trailing_returns_12m"].sum(),
        "trailing margin 12m": now["trailing_margin_12m"].sum(),
        "forecast revenue": now["forecast_revenue_12m"].sum(),
        "forecast margin": now["forecast_margin_12m"].sum(),
        "median margin rate": now["margin_rate"].median(),
    }])
    print(md(totals, {c: ",.0f" for c in totals.columns if c not in ("customers", "median margin rate")}
             | {"customers": ",d", "median margin rate": ".3f"}))
    print(f"\nmargin_rate_source: {now['margin_rate_source'].value_counts().to_dict()}")
    key_account_counts(tables["customers"], now, DEMO_RULES)
    truth = history.truth.set_index("customer_id")
    per = result["per_customer"].set_index("customer_id").join(truth["churned"])
    print("\nHoldout customers by true churn status (churned at any time in the sample), mean per customer:\n")
    by = per.groupby("churned")[["forecast", "naive", "actual"]].mean().reset_index()
    print(md(by, {"forecast": ",.0f", "naive": ",.0f", "actual": ",.0f"}))


def retail(path: Path, as_of: pd.Timestamp, horizon_days: int) -> None:
    t0 = time.perf_counter()
    raw = pd.read_parquet(path, columns=["Customer ID", "InvoiceDate", "Quantity", "Price"])
    raw = raw[raw["Customer ID"].notna()]
    orders = pd.DataFrame({
        "customer_id": raw["Customer ID"].astype("int64").astype("string"),
        "ts": pd.to_datetime(raw["InvoiceDate"]).astype("datetime64[us]"),
        "amount": raw["Quantity"].astype("float64") * raw["Price"].astype("float64"),
    }).reset_index(drop=True)
    print(f"\n# Online Retail II ({path.name}), as of {as_of.date()}\n")
    print(f"- {len(orders):,} lines with a customer ({(orders['amount'] < 0).sum():,} negative), "
          f"{orders['customer_id'].nunique():,} customers, {orders['ts'].min()} to {orders['ts'].max()}; "
          f"loaded in {time.perf_counter() - t0:.1f} s")
    result = report("Online Retail II holdout", orders, as_of, horizon_days)
    key_account_counts(None, result["value"], RETAIL_RULES)
    # Control for seasonality: a holdout before the Q4 peak (sales by month: ~0.5-0.7M from
    # January to August 2010, then 0.83M, 1.04M, 1.17M in September to November).
    report("Online Retail II holdout without the Q4 peak (seasonality control)", orders,
           pd.Timestamp(SEASONALITY_CONTROL[0]), SEASONALITY_CONTROL[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--as-of", default="2026-10-01")
    ap.add_argument("--horizon-days", type=int, default=365)
    ap.add_argument("--retail", type=Path, default=DEFAULT_RETAIL)
    ap.add_argument("--retail-as-of", default="2010-12-01")
    ap.add_argument("--retail-horizon-days", type=int, default=180)
    ap.add_argument("--no-retail", action="store_true")
    args = ap.parse_args()
    demo(pd.Timestamp(args.as_of), args.horizon_days)
    if not args.no_retail:
        if args.retail.exists():
            retail(args.retail, pd.Timestamp(args.retail_as_of), args.retail_horizon_days)
        else:
            print(f"\n(no {args.retail}: Online Retail II part skipped)")


if __name__ == "__main__":
    main()
