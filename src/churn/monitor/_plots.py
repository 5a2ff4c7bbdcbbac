"""The realised-performance plot `churn monitor` writes beside its table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def save_realised_plot(table: pd.DataFrame, auc_margin: float, path: Path) -> Path:
    """Realised ROC-AUC and PR-AUC per scoring run against the ROC-AUC the model was promoted with (and the
    alert line `auc_margin` below it); predicted against realised churn rate (calibration)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    when = pd.to_datetime(table["as_of"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    ax.plot(when, table["roc_auc"], marker="o", label="realised ROC-AUC")
    ax.plot(when, table["pr_auc"], marker="s", label="realised PR-AUC")
    promised = table["promised_roc_auc"].astype(float)
    if promised.notna().any():
        ax.step(when, promised, where="post", linestyle="--", color="grey", label="promoted with (holdout ROC-AUC)")
        ax.step(when, promised - auc_margin, where="post", linestyle=":", color="red", label="alert below")
    alerts = table["alert"].astype(bool)
    if alerts.any():
        ax.scatter(when[alerts], table.loc[alerts, "roc_auc"], color="red", zorder=3, s=60, label="alert")
    ax.set(title="What the model achieved, by scoring run", xlabel="scoring run (as of)", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(when, table["mean_predicted"], marker="o", label="predicted churn rate")
    ax.plot(when, table["churn_rate"], marker="o", label="realised churn rate")
    top = float(max(table["mean_predicted"].max(), table["churn_rate"].max()))
    ax.set(title="Calibration: predicted against realised churn rate", xlabel="scoring run (as of)",
           ylim=(0, top * 1.3 if top > 0 else 1))  # from zero: a gap of 0.3 points should look like one
    ax.legend(fontsize=8)
    for ax in axes:
        ax.set_xticks(when, table["as_of"].astype(str))
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
