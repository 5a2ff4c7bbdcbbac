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
