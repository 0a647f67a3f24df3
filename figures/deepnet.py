"""Deep-network validation runs (Barrett & Dherin; Karakida et al.; Varga et al.), from cached results.

Plots the JSON summaries that `dln-theory deepnet compare ... --out results/deepnet` writes
(``results/deepnet/run_validation.sh`` runs all of them; CPU, tens of minutes). Each file is a
column: test accuracy (mean ± std over seeds) and ‖∇L‖² at the end of training per run label.
Nothing is trained here. Without cached results the figure is a placeholder naming the command,
and the check passes with "no deep-net results cached".

Check (where results exist): every row has at least one seed with finite test accuracy; the
message reports, per file, the best row and the rank correlation over rows between ‖∇L‖² and
test accuracy (Barrett & Dherin: smaller ‖∇E‖² goes with better test accuracy) as information.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dln_theory import plotting

COMMAND = "bash results/deepnet/run_validation.sh   (or: dln-theory deepnet compare ... --out results/deepnet)"


@dataclass(frozen=True)
class Config:
    results_dir: str = "results/deepnet"  # relative to the current working directory
    max_files: int = 3


FULL = Config()
QUICK = Config()


def _load(path):
    data = json.loads(Path(path).read_text())
    rows = []
    for row in data.get("rows", []):
        seeds = row.get("per_seed", [])
        acc = np.array([s.get("test_acc", np.nan) for s in seeds], dtype=float)
        g2 = np.array([s.get("grad_norm2", np.nan) for s in seeds], dtype=float)
        rows.append({"label": row.get("label", row.get("method", "?")), "acc": acc, "grad_norm2": g2})
    return {"name": Path(path).stem, "settings": data.get("settings", {}), "rows": rows}


def compute(config: Config, cache_dir=None) -> dict:
    folder = Path(config.results_dir)
    files = sorted(folder.glob("*.json"))[: config.max_files] if folder.is_dir() else []
    loaded, errors = [], []
    for f in files:
        try:
            loaded.append(_load(f))
        except (ValueError, KeyError, TypeError) as err:
            errors.append(f"{f.name}: {err}")
    return {"config": config, "folder": str(folder), "files": loaded, "errors": errors}


def plot(results):
    files = [f for f in results["files"] if f["rows"]]
    if not files:
        fig, ax = plotting.figure(aspect=0.45)
        plotting.placeholder(ax, f"No deep-net results cached in {results['config'].results_dir}/.\n"
                                 f"Produce them with\n{COMMAND}")
        return fig
    fig, axes = plotting.figure(nrows=2, ncols=len(files), aspect=0.9, width=min(7.0, 2.6 * len(files) + 0.8),
                                squeeze=False)
    axes = np.asarray(axes).reshape(2, len(files))
    for j, f in enumerate(files):
        labels = [r["label"] for r in f["rows"]]
        x = np.arange(len(labels))
        acc = [r["acc"] for r in f["rows"]]
        g2 = [r["grad_norm2"] for r in f["rows"]]
        for ax, values, c in ((axes[0, j], acc, plotting.color(0)), (axes[1, j], g2, plotting.color(1))):
            mean = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values])
            std = np.array([np.nanstd(v) if np.isfinite(v).any() else np.nan for v in values])
            ax.errorbar(x, mean, yerr=std, color=c, marker="o", ms=3, ls="none", capsize=2)
            for xi, v in zip(x, values):
                ax.plot(np.full(v.shape, xi) + 0.12, v, ls="none", marker=".", ms=2, color="0.5")
            ax.set_xticks(x)
        axes[0, j].set_xticklabels([])
        axes[1, j].set_xticklabels(labels, rotation=60, ha="right", fontsize=5.5)
        axes[1, j].set_yscale("log")
        s = f["settings"]
        axes[0, j].set_title(f"{f['name']}\n{s.get('model', '')} on {s.get('data', '')}, n={s.get('n_train', '?')}",
                             fontsize=6.5)
    axes[0, 0].set_ylabel("test accuracy")
    axes[1, 0].set_ylabel(r"$\|\nabla L\|^2$ at the end")
    return fig


def _spearman(a, b):
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return np.nan
    ra, rb = np.argsort(np.argsort(a[ok])), np.argsort(np.argsort(b[ok]))
    return float(np.corrcoef(ra, rb)[0, 1])


def check(results):
    files = [f for f in results["files"] if f["rows"]]
    if not files:
        msg = "no deep-net results cached"
        if results["errors"]:
            msg += f" (unreadable: {'; '.join(results['errors'])})"
        return True, msg
    parts, ok = [], not results["errors"]
    for f in files:
        acc = np.array([np.nanmean(r["acc"]) if np.isfinite(r["acc"]).any() else np.nan for r in f["rows"]])
        g2 = np.array([np.nanmean(r["grad_norm2"]) if np.isfinite(r["grad_norm2"]).any() else np.nan
                       for r in f["rows"]])
        ok &= bool(np.all(np.isfinite(acc)))
        best = f["rows"][int(np.nanargmax(acc))]["label"] if np.isfinite(acc).any() else "none"
        parts.append(f"{f['name']}: {len(acc)} rows, best {best} ({np.nanmax(acc):.3f}), "
                     f"rank corr(|grad L|^2, test acc) {_spearman(g2, acc):+.2f}")
    if results["errors"]:
        parts.append(f"unreadable: {'; '.join(results['errors'])}")
    return ok, "cached deep-net results: " + "; ".join(parts)


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["deepnet"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
