"""Deep-network validation runs (Barrett & Dherin; Karakida et al.; Varga et al.), from cached results.

Plots the JSON summaries that `dln-theory deepnet compare ... --out results/deepnet` writes
(``results/deepnet/run_validation.sh`` runs all of them; CPU, tens of minutes). Each file is a
column: test accuracy (mean ± std over seeds) and ‖∇L‖² at the end of training per run label.
Nothing is trained here. Without cached results the figure is a placeholder naming the command,
and the check fails.

Check: claims of the seeds, each tested against the seeds' spread (a difference of means must
exceed ``z`` standard errors, √(s₁²/n₁ + s₂²/n₂) over seeds):
* ``karakida_gr_eps`` (Karakida et al. arXiv:2210.02720): every GR-family row (GR, F-GR, B-GR)
  that trained (mean train accuracy ≥ ``trained_acc``) ends at a lower sharpness λ_max(H) than
  SGD; rows that did not train are reported, not scored;
* ``barrett_dherin_gd_equal_time`` (Barrett & Dherin arXiv:2009.11162): full-batch GD at equal
  time t = kη ends flatter at the largest η than at the smallest;
and every row has a seed with a finite test accuracy. A file named in ``required`` that is
missing or unreadable fails the check. The rank correlation over rows between ‖∇L‖² and test
accuracy is reported as information.
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
    max_files: int = 3  # columns plotted
    required: tuple = ("karakida_gr_eps", "barrett_dherin_gd_equal_time")
    z: float = 2.0  # standard errors a difference of seed means must exceed
    trained_acc: float = 0.9  # mean train accuracy of a row that trained (10 classes: chance is 0.1)


FULL = Config()
QUICK = Config()


def _load(path):
    data = json.loads(Path(path).read_text())
    rows = []
    for row in data.get("rows", []):
        seeds = row.get("per_seed", [])
        def column(key):
            return np.array([np.nan if s.get(key) is None else s[key] for s in seeds], dtype=float)

        rows.append({"label": row.get("label", row.get("method", "?")), "method": row.get("method", "?"),
                     "acc": column("test_acc"), "grad_norm2": column("grad_norm2"),
                     "sharpness": column("sharpness"), "train_acc": column("train_acc"),
                     "hyperparameters": row.get("hyperparameters", {})})
    return {"name": Path(path).stem, "settings": data.get("settings", {}), "rows": rows}


def compute(config: Config, cache_dir=None) -> dict:
    folder = Path(config.results_dir)
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    loaded, errors = [], []
    for f in files:
        try:
            loaded.append(_load(f))
        except (ValueError, KeyError, TypeError) as err:
            errors.append(f"{f.name}: {err}")
    return {"config": config, "folder": str(folder), "files": loaded, "errors": errors}


def plot(results):
    files = [f for f in results["files"] if f["rows"]][: results["config"].max_files]
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


def _mean(a):
    """Mean over the finite seeds (NaN if none)."""
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else np.nan


def separation(a, b):
    """(mean(a) − mean(b), its standard error √(s_a²/n_a + s_b²/n_b)) over the finite seeds."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return np.nan, np.nan
    return float(a.mean() - b.mean()), float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def _gr_family_flatter(f, config):
    """Karakida et al.: GR, F-GR and B-GR rows that trained end flatter than SGD (in standard errors)."""
    sgd = [r for r in f["rows"] if r["method"] == "sgd"]
    family = [r for r in f["rows"] if r["method"] in ("gr", "fgr", "bgr")]
    if not sgd or not family:
        return False, {"error": "no sgd row or no GR-family row"}, "no SGD or GR-family rows"
    trained = [r for r in family if _mean(r["train_acc"]) >= config.trained_acc]
    rows = {}
    for r in trained:
        diff, se = separation(sgd[0]["sharpness"], r["sharpness"])
        rows[r["label"]] = {"sharpness_drop": diff, "standard_error": se, "z": diff / se if se > 0 else np.nan}
    z = [v["z"] for v in rows.values()]
    ok = bool(rows) and all(np.isfinite(v) and v > config.z for v in z)
    skipped = [r["label"] for r in family if not _mean(r["train_acc"]) >= config.trained_acc]
    worst = min(rows, key=lambda k: rows[k]["z"] if np.isfinite(rows[k]["z"]) else -np.inf) if rows else None
    text = (f"GR family flatter than SGD in {sum(np.isfinite(v) and v > config.z for v in z)}/{len(rows)} trained rows "
            f"(sharpness {_mean(sgd[0]['sharpness']):.3g} for SGD; weakest {worst}: drop "
            f"{rows[worst]['sharpness_drop']:.3g} = {rows[worst]['z']:.1f} s.e.)" if worst else "no trained GR row")
    if skipped:
        text += f", did not train: {', '.join(skipped)}"
    return ok, {"rows": rows, "did_not_train": skipped, "sgd_sharpness": _mean(sgd[0]["sharpness"])}, text


def _larger_eta_flatter(f, config):
    """Barrett & Dherin: at equal time, GD with the largest η ends flatter than with the smallest."""
    rows = [r for r in f["rows"] if "eta" in r["hyperparameters"]]
    if len(rows) < 2:
        return False, {"error": "fewer than two step sizes"}, "fewer than two step sizes"
    small = min(rows, key=lambda r: r["hyperparameters"]["eta"])
    large = max(rows, key=lambda r: r["hyperparameters"]["eta"])
    diff, se = separation(small["sharpness"], large["sharpness"])
    z = diff / se if se > 0 else np.nan
    ok = bool(np.isfinite(z) and z > config.z)
    text = (f"sharpness {_mean(small['sharpness']):.3g} at eta={small['hyperparameters']['eta']:g} -> "
            f"{_mean(large['sharpness']):.3g} at eta={large['hyperparameters']['eta']:g} ({z:.1f} s.e.)")
    return ok, {"sharpness_drop": diff, "standard_error": se, "z": z,
                "eta_small": small["hyperparameters"]["eta"], "eta_large": large["hyperparameters"]["eta"]}, text


CLAIMS = {"karakida_gr_eps": _gr_family_flatter, "barrett_dherin_gd_equal_time": _larger_eta_flatter}


def check(results):
    config = results["config"]
    files = {f["name"]: f for f in results["files"] if f["rows"]}
    missing = [name for name in config.required if name not in files]
    metrics = {"z": config.z, "files": sorted(files), "missing": missing, "errors": results["errors"], "claims": {}}
    parts, ok = [], not missing and not results["errors"]
    for name in config.required:
        if name in files:
            passed, values, text = CLAIMS[name](files[name], config)
            ok &= passed
            metrics["claims"][name] = {"passed": passed, **values}
            parts.append(f"{name}: {'PASS' if passed else 'FAIL'} {text}")
    for name, f in files.items():
        acc = np.array([np.nanmean(r["acc"]) if np.isfinite(r["acc"]).any() else np.nan for r in f["rows"]])
        g2 = np.array([np.nanmean(r["grad_norm2"]) if np.isfinite(r["grad_norm2"]).any() else np.nan
                       for r in f["rows"]])
        ok &= bool(np.all(np.isfinite(acc)))
        metrics[name] = {"rows": len(acc), "best_test_acc": float(np.nanmax(acc)) if np.isfinite(acc).any() else None,
                         "rank_corr_grad_norm2_test_acc": _spearman(g2, acc)}
    if missing:
        parts.append(f"missing results {missing} in {results['folder']}: produce them with {COMMAND}")
    if results["errors"]:
        parts.append(f"unreadable: {'; '.join(results['errors'])}")
    corr = ", ".join(f"{n} {metrics[n]['rank_corr_grad_norm2_test_acc']:+.2f}" for n in files)
    return bool(ok), ("deep-net claims against the seeds' spread (> " f"{config.z:g} s.e.): " + "; ".join(parts)
                      + (f"; rank corr(|grad L|^2, test acc): {corr}" if corr else "")), metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["deepnet"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
