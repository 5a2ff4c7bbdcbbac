"""Evaluation charts as PNG files (ROC, calibration, lift, feature importance)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def save_evaluation_plots(curves: dict[str, pd.DataFrame], importance: pd.DataFrame, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on servers and CI
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    specs = [
        ("roc", "fpr", "tpr", "False positive rate", "True positive rate", "ROC on the holdout cutoff"),
        ("calibration", "predicted", "observed", "Mean predicted probability", "Observed churn rate", "Calibration"),
        ("lift", "customers_share", "churners_captured", "Share of customers contacted", "Share of churners reached",
         "Cumulative gains"),
    ]
    for name, x, y, xlabel, ylabel, title in specs:
        fig, ax = plt.subplots(figsize=(5, 4.5))
        for model, part in curves[name].groupby("model", sort=False):
            ax.plot(part[x], part[y], marker="o" if name == "calibration" else None, label=model)
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        ax.legend()
        fig.tight_layout()
        paths.append(folder / f"{name}.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    top = importance.head(20).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(top["feature"], top["gain"])
    ax.set(title="Feature importance (gain)", xlabel="gain")
    fig.tight_layout()
    paths.append(folder / "feature_importance.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


def save_backtest_plot(per_date: pd.DataFrame, path: Path) -> Path:
    """ROC-AUC and top-10% lift of the model and each baseline at every as-of date."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, title in ((axes[0], "roc_auc", "ROC-AUC"), (axes[1], "lift_top10", "Lift in the top 10%")):
        for model, part in per_date.groupby("model", sort=False):
            ax.plot(pd.to_datetime(part["as_of"]), part[metric], marker="o", label=model)
        ax.set(title=f"{title} by as-of date", xlabel="as of")
        ax.tick_params(axis="x", rotation=30)
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
