"""Helpers the tests import: random typed histories, the project's paths and config, canonical folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "configs" / "params.yaml")
DEMO_AS_OF = str(yaml.safe_load(Path(CONFIG).read_text(encoding="utf-8"))["demo"]["end"])  # the demo's as-of date

START, END = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-01-01")


def make_history(n_customers: int = 120, seed: int = 0, start=START, end=END) -> dict[str, pd.DataFrame]:
    """A random typed history (as validation returns it): some customers stop buying mid-way."""
    rng = np.random.default_rng(seed)
    days = (end - start).days
    ids = [f"{i:05d}" for i in range(n_customers)]
    customers = pd.DataFrame({
        "customer_id": pd.array(ids, dtype="string"),
        "segment": pd.array(rng.choice(["hospital", "pharmacy", "clinic"], n_customers), dtype="string"),
        "region": pd.array(rng.choice(["North", "South"], n_customers), dtype="string"),
        "owner": pd.array(rng.choice(["AM-1", "AM-2", "AM-3"], n_customers), dtype="string"),
        "signup_date": start - pd.to_timedelta(rng.integers(0, 400, n_customers), unit="D"),
        "is_key_account": rng.random(n_customers) < 0.1,
    })
    stop = np.where(rng.random(n_customers) < 0.35, rng.integers(120, days, n_customers), days + 1)
    rows = {"orders": [], "interactions": [], "tickets": [], "surveys": []}
    for i, cid in enumerate(ids):
        n = rng.poisson(days / rng.uniform(8, 40))
        t = np.sort(rng.uniform(0, min(stop[i], days), n))
        for k, d in enumerate(t):
            amount = float(np.round(rng.lognormal(5, 1), 2)) * (-0.3 if rng.random() < 0.05 else 1)
            rows["orders"].append((cid, start + pd.Timedelta(days=float(d)), amount,
                                   f"O{i}-{k // 2}" if rng.random() < 0.9 else None,
                                   float(np.sign(amount) * rng.integers(1, 10)),
                                   float(np.round(rng.uniform(0, 0.2), 3)) if rng.random() < 0.9 else None,
                                   rng.choice(["a", "b"]), amount * 0.3 if rng.random() < 0.8 else None))
        for d in rng.uniform(0, days, rng.poisson(days / 30)):
            rows["interactions"].append((cid, start + pd.Timedelta(days=float(d)),
                                         rng.choice(["visit", "call", "email", "meeting"]),
                                         rng.choice(["outbound", "inbound"], p=[0.8, 0.2])))
        for d in rng.uniform(0, days, rng.poisson(4)):
            opened = start + pd.Timedelta(days=float(d))
            resolved = opened + pd.Timedelta(days=float(rng.uniform(0, 40))) if rng.random() < 0.85 else pd.NaT
            rows["tickets"].append((cid, opened, rng.choice(["quality", "service", "delivery", "price", "billing", "other"]),
                                    bool(rng.random() < 0.7), resolved))
        for d in rng.uniform(0, days, rng.poisson(6)):
            s = np.round(rng.uniform(0, 10, 4), 1)
            rows["surveys"].append((cid, start + pd.Timedelta(days=float(d)), s[0],
                                    s[1] if rng.random() < 0.8 else np.nan, s[2], s[3]))
    cols = {
        "orders": ["customer_id", "ts", "amount", "order_id", "quantity", "discount", "product", "margin"],
        "interactions": ["customer_id", "ts", "channel", "direction"],
        "tickets": ["customer_id", "ts", "category", "is_complaint", "resolved_ts"],
        "surveys": ["customer_id", "ts", "score", "quality_score", "service_score", "price_score"],
    }
    tables = {"customers": customers}
    for name, data in rows.items():
        df = pd.DataFrame(data, columns=cols[name])
        for c in df.columns:
            if c == "ts" or c == "resolved_ts":
                df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
            elif df[c].dtype == object and c != "is_complaint":
                df[c] = df[c].astype("string")
        tables[name] = df.sort_values("ts", ignore_index=True)
    tables["customers"]["signup_date"] = tables["customers"]["signup_date"].astype("datetime64[us]")
    return tables


def write_canonical_folder(tables: dict[str, pd.DataFrame], folder, fmt: str = "csv") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return str(folder)


PLANTED = ("price", "service", "quality", "engagement", "none")  # "none": a silent churner


def planted_history(n: int = 1500, seed: int = 3) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    rng = np.random.default_rng(seed)
    days = (END - START).days
    ids = [f"P{i:05d}" for i in range(n)]
    churn = rng.random(n) < 0.4
    stop = np.where(churn, rng.integers(250, days, n), days + 1)
    cause = np.where(churn, rng.choice(PLANTED, n, p=[0.225, 0.225, 0.225, 0.225, 0.1]), "none")
    spoken = rng.random(n) < 0.5  # half of the causal churners also complain about it
    rows = {t: [] for t in ("orders", "interactions", "tickets", "surveys")}

    def at(d: float) -> pd.Timestamp:
        return START + pd.Timedelta(days=float(d))

    for i, cid in enumerate(ids):
        end, c = min(stop[i], days), cause[i]
        onset = stop[i] - 120
        for d in np.sort(rng.uniform(0, end, rng.poisson(end / rng.uniform(6, 14)))):
            amount = float(np.round(rng.lognormal(6, 0.5), 2))
            late = d >= onset
            discount = 0.0 if c == "price" and late else float(np.round(rng.uniform(0.08, 0.15), 3))
            rows["orders"].append((cid, at(d), amount, f"O{i}-{len(rows['orders'])}", discount, amount * 0.3))
            if c == "quality" and late and rng.random() < 0.4:
                rows["orders"].append((cid, at(d + 3), -amount * 0.5, f"R{i}-{len(rows['orders'])}", discount,
                                       -amount * 0.15))
        # contact and surveys go on after a customer stops buying (reps keep calling), except where fading
        # contact is the cause
        contact_end = onset if c == "engagement" else days
        for d in rng.uniform(0, contact_end, rng.poisson(contact_end / 15)):
            rows["interactions"].append((cid, at(d), rng.choice(["visit", "call"]), "outbound"))
        for d in rng.uniform(0, contact_end, rng.poisson(contact_end / 60)):
            rows["interactions"].append((cid, at(d), "call", "inbound"))
        for d in rng.uniform(0, end, rng.poisson(end / 240)):  # everyone's background tickets
            rows["tickets"].append((cid, at(d), "other", bool(rng.random() < 0.3), at(d + rng.uniform(1, 5))))
        category = {"price": "price", "service": "service", "quality": "quality"}.get(c)
        if category and spoken[i]:
            for d in rng.uniform(onset, end, 2):
                rows["tickets"].append((cid, at(d), category, True, pd.NaT if c == "service" else at(d + 5)))
        for d in np.arange(rng.uniform(0, 45), contact_end, 45):  # a survey every six weeks
            s = np.clip(rng.normal(8, 0.7, 4), 0, 10).round(0)
            if d >= onset and c in ("price", "service", "quality"):
                s[1 + ("quality", "service", "price").index(c)] = rng.integers(1, 4)
            rows["surveys"].append((cid, at(d), *s))
    cols = {"orders": ["customer_id", "ts", "amount", "order_id", "discount", "margin"],
            "interactions": ["customer_id", "ts", "channel", "direction"],
            "tickets": ["customer_id", "ts", "category", "is_complaint", "resolved_ts"],
            "surveys": ["customer_id", "ts", "score", "quality_score", "service_score", "price_score"]}
    tables = {name: pd.DataFrame(data, columns=cols[name]) for name, data in rows.items()}
    tables["customers"] = pd.DataFrame({"customer_id": ids, "segment": rng.choice(["hospital", "pharmacy"], n)})
    truth = pd.DataFrame({"customer_id": ids, "cause": np.where(churn, cause, "none")})
    return tables, truth


def recorded_reasons(tables: dict[str, pd.DataFrame], truth: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """An exit survey 30 days after each planted churner's last order: 90% name the planted cause, the rest
    another; silent churners say "other"."""
    rng = np.random.default_rng(seed)
    last = tables["orders"].groupby("customer_id")["ts"].max()
    lost = truth[truth["cause"] != "none"].set_index("customer_id")["cause"]
    lost = lost[lost.index.isin(last.index)]
    said = np.where(rng.random(len(lost)) < 0.9, lost.to_numpy(),
                    rng.choice(list(PLANTED[:4]), len(lost)))
    return pd.DataFrame({"customer_id": lost.index, "ts": last[lost.index].to_numpy() + pd.Timedelta(days=30),
                         "cause": said}).query("ts < @END")


def write_database(url: str, tables: dict[str, pd.DataFrame]) -> str:
    """Write `tables` into the database at `url` (SQLite or PostgreSQL), one table each; returns the URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name, df in tables.items():
                df.to_sql(name, conn, index=False)
    finally:
        engine.dispose()
    return url
