"""compare(): several methods (and hyper-parameter grids) over seeds, as mean ± std tables.

Every run goes through `train`, so it is cached on disk: an interrupted comparison resumes
where it stopped. Methods are named as on the command line (`METHODS`); `make_method` builds the
library's method classes from those names through one table, `REGISTRY` (no method is
re-implemented here):

=========  ==================================================  ===================
name       method                                              its hyper-parameters
=========  ==================================================  ===================
sgd        `SGD` (`GD` when batch_size is None)                —
gd         `GD`, full batch (batch_size ignored)               —
gr         `GR`, double backpropagation                        gamma
fgr        `FGR`, forward difference (Karakida Alg. 1)         gamma, eps
bgr        `BGR`, backward difference                          gamma, eps
sam        `SAM`, normalized, n-SAM on the minibatch           rho
usam       `SAM`, unnormalized                                 rho
flooding   `Flooding`                                          b
datagrad   `DataGrad` (Varga et al.)                           lam
spectreg   `SpectReg` (Varga et al.)                           lam
wd         `SGD` with weight decay weight_decay + lam          lam
signgd     `SignGD` (sign descent)                             —
rmsprop    `RMSProp`                                           beta2, adam_eps
adam       `Adam`, bias-corrected                              beta1, beta2, adam_eps
=========  ==================================================  ===================

eta, momentum, weight_decay, batch_size and the schedule apply to every method; the momentum of
signgd, rmsprop and adam must be 0 (β₁ is Adam's momentum).
"""

import dataclasses
import functools
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from .. import _cache, _validate
from ..dynamics import BGR, FGR, GD, GR, SAM, SGD, Adam, DataGrad, Flooding, Method, RMSProp, SignGD, SpectReg
from . import measure as _measure
from .data import DATASETS, Dataset, load_dataset
from .networks import NETWORKS, make_network
from .objective import NetObjective
from .train import Cosine, Piecewise, TrainResult, steps_per_epoch, train

class _Entry(NamedTuple):
    """One method name of the command line: ``build(**values)`` -> the library method, and the
    names of its own hyper-parameters (beyond `COMMON_PARAMS`)."""

    build: Callable[..., Method]
    params: tuple[str, ...]


def _gd_or_sgd(batch_size=None, **values):
    """`SGD` on minibatches of ``batch_size``, `GD` on the full batch (batch_size None)."""
    return GD(**values) if batch_size is None else SGD(batch_size=batch_size, **values)


def _full_batch_gd(batch_size=None, **values):
    return GD(**values)


def _weight_decay(*, lam, weight_decay, **values):
    return _gd_or_sgd(weight_decay=weight_decay + lam, **values)


def _adaptive(cls):
    """Build ``cls`` (SignGD, RMSProp, Adam), which has no heavy-ball momentum, from the common
    values; ``adam_eps`` is its ε (``eps`` is F-GR's finite-difference step)."""

    def build(*, momentum, adam_eps=None, **values):
        if momentum != 0:
            raise ValueError(f"momentum={momentum!r} is not allowed for {cls.__name__}: give 0 "
                             f"(its own moments play that role)")
        return cls(**values) if adam_eps is None else cls(eps=adam_eps, **values)

    return build


#: name -> how to build it; the table of the module docstring.
REGISTRY: dict[str, _Entry] = {
    "sgd": _Entry(_gd_or_sgd, ()),
    "gd": _Entry(_full_batch_gd, ()),
    "gr": _Entry(GR, ("gamma",)),
    "fgr": _Entry(FGR, ("gamma", "eps")),
    "bgr": _Entry(BGR, ("gamma", "eps")),
    "sam": _Entry(functools.partial(SAM, normalize=True), ("rho",)),
    "usam": _Entry(functools.partial(SAM, normalize=False), ("rho",)),
    "flooding": _Entry(Flooding, ("b",)),
    "datagrad": _Entry(DataGrad, ("lam",)),
    "spectreg": _Entry(SpectReg, ("lam",)),
    "wd": _Entry(_weight_decay, ("lam",)),
    "signgd": _Entry(_adaptive(SignGD), ()),
    "rmsprop": _Entry(_adaptive(RMSProp), ("beta2", "adam_eps")),
    "adam": _Entry(_adaptive(Adam), ("beta1", "beta2", "adam_eps")),
}
METHOD_PARAMS = {name: entry.params for name, entry in REGISTRY.items()}
METHODS = tuple(REGISTRY)
COMMON_PARAMS = ("eta", "momentum", "weight_decay")
DEFAULTS = {"eta": 0.05, "momentum": 0.0, "weight_decay": 0.0, "gamma": 0.01, "eps": 0.05,
            "rho": 0.05, "b": 0.05, "lam": 0.01, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8}
SCHEDULES = ("constant", "cosine", "step")
RESULTS_DIR = Path("results") / "deepnet"


def make_method(name: str, *, batch_size: int | None = None, schedule=None, **values) -> Method:
    """The library method called ``name`` (see the module table) with the given values.

    Args:
        name: one of `METHODS`.
        batch_size: examples per step (None: full batch).
        schedule: a step-size schedule (`Cosine`, `Piecewise`) or None.
        **values: eta, momentum, weight_decay and the method's own hyper-parameters; missing
            ones take `DEFAULTS`.

    Raises:
        ValueError: unknown name or hyper-parameter, or a value out of range.
    """
    _validate.one_of("method", name, METHODS)
    entry = REGISTRY[name]
    allowed = COMMON_PARAMS + entry.params
    for key in values:
        if key not in allowed:
            raise ValueError(f"{key}={values[key]!r} is not allowed for method {name!r}: "
                             f"choose from {sorted(allowed)}")
    return entry.build(batch_size=batch_size, schedule=schedule,
                       **{k: values.get(k, DEFAULTS[k]) for k in allowed})


def make_schedule(name: str, epochs: int, steps_per_epoch: int, boundaries=(0.3, 0.6, 0.8),
                  factor: float = 0.2):
    """None (constant), `Cosine` over the whole run, or `Piecewise` ×``factor`` at the given
    fractions of the run (Karakida et al.: ÷5 at epochs 60/120/160 of 200)."""
    _validate.one_of("schedule", name, SCHEDULES)
    total = epochs * steps_per_epoch
    if name == "cosine":
        return Cosine(total_steps=total)
    if name == "step":
        return Piecewise(boundaries=tuple(int(round(f * total)) for f in boundaries), factor=factor)
    return None


def method_grid(names: Sequence[str], values: Mapping[str, Sequence[float]],
                overrides: Mapping[str, Mapping[str, Sequence[float]]] | None = None):
    """[(label, name, {hyper-parameter: value})]: each method over the product of the value lists
    of the hyper-parameters it uses; ``overrides[name][param]`` replaces a list for one method."""
    overrides = overrides or {}
    for name in names:
        _validate.one_of("methods", name, METHODS)
    for name, params in overrides.items():
        if name not in names:
            raise ValueError(f"override for method {name!r} is not allowed: it is not among the "
                             f"compared methods {list(names)}")
        for p in params:
            if p not in COMMON_PARAMS + METHOD_PARAMS[name]:
                raise ValueError(f"{name}.{p} is not allowed: {name} takes "
                                 f"{sorted(COMMON_PARAMS + METHOD_PARAMS[name])}")
    rows = []
    for name in names:
        used = COMMON_PARAMS + METHOD_PARAMS[name]
        lists = {p: list(overrides.get(name, {}).get(p, values.get(p, [DEFAULTS[p]]))) for p in used}
        for combo in itertools.product(*lists.values()):
            hp = dict(zip(lists, combo))
            shown = [f"{_SYMBOL[p]}={hp[p]:g}" for p in used
                     if len(lists[p]) > 1 or p in METHOD_PARAMS[name]]
            rows.append((" ".join([name] + shown), name, hp))
    return rows


_SYMBOL = {"eta": "η", "momentum": "μ", "weight_decay": "wd", "gamma": "γ", "eps": "ε",
           "rho": "ρ", "b": "b", "lam": "λ", "beta1": "β₁", "beta2": "β₂", "adam_eps": "ε_Adam"}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Per-seed results and their mean ± std for each row (method and hyper-parameters).

    Attributes:
        rows: list of {"label", "method", "hyperparameters", "per_seed": [summary dicts],
            "mean": {metric: value}, "std": {metric: value}, "diverged": count}.
        settings: model, data, epochs, seeds, … of the comparison.
    """

    rows: list
    settings: dict

    def to_markdown(self, metrics: Sequence[str] | None = None) -> str:
        metrics = list(metrics or _TABLE_METRICS)
        present = [m for m in metrics if any(m in r["mean"] for r in self.rows)]
        head = "| method | " + " | ".join(_HEADERS.get(m, m) for m in present) + " | diverged |"
        lines = [head, "|" + "---|" * (len(present) + 2)]
        for r in self.rows:
            cells = [_pm(r["mean"].get(m), r["std"].get(m), m) for m in present]
            lines.append(f"| {r['label']} | " + " | ".join(cells) + f" | {r['diverged']}/{len(r['per_seed'])} |")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"settings": self.settings, "rows": self.rows}, indent=2, default=_jsonable)

    def write(self, name: str, directory=RESULTS_DIR, title: str | None = None) -> tuple[Path, Path]:
        """Write ``<directory>/<name>.md`` and ``<name>.json``; return their paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        md, js = directory / f"{name}.md", directory / f"{name}.json"
        s = self.settings
        header = title or f"{s['model']} on {s['data']}"
        text = (f"# {header}\n\n{_describe(s)}\n\nMean ± std over {len(s['seeds'])} seeds "
                f"(seeds {s['seeds']}), final epoch.\n\n{self.to_markdown()}\n")
        md.write_text(text)
        js.write_text(self.to_json())
        return md, js


_TABLE_METRICS = ("test_acc", "test_loss", "train_loss", "train_acc", "grad_norm2", "sharpness",
                  "noise_sensitivity", "step_time_s")
_HEADERS = {"test_acc": "test acc", "test_loss": "test loss", "train_loss": "train loss",
            "train_acc": "train acc", "grad_norm2": "‖∇L‖²", "sharpness": "λ_max(H)",
            "noise_sensitivity": "ΔL(σ)", "step_time_s": "ms/step"}


def _pm(mean, std, metric):
    if mean is None:
        return "—"
    if metric == "step_time_s":
        return f"{1e3 * mean:.2f} ± {1e3 * std:.2f}"
    if metric in ("test_acc", "train_acc"):
        return f"{100 * mean:.2f} ± {100 * std:.2f} %"
    return f"{mean:.3g} ± {std:.2g}"


def _describe(s):
    parts = [f"Model `{s['model']}` {s['network_kw']}", f"data `{s['data']}` ({s['n_train']} train, "
             f"{s['n_test']} test)", (f"{s['epochs']} epochs" if s.get("time") is None else
                                    f"trained to t = k·η = {s['time']:g}"), f"batch size {s['batch_size']}",
             f"schedule {s['schedule']}", f"augment {s['augment']}"]
    if s.get("measure"):
        parts.append(f"measures {s['measure']}")
    return ", ".join(parts) + "."


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


@dataclasses.dataclass(frozen=True)
class MeasureSettings:
    """Final-point measures: sharpness by power iteration (``iters``), noise sensitivity at
    ``sigma`` over ``draws`` draws, both on the first ``n`` training examples (None: all)."""

    iters: int = 50
    sigma: float = 0.01
    draws: int = 8
    n: int | None = 1000
    chunk: int | None = 500


def final_measures(result: TrainResult, dataset: Dataset, settings: MeasureSettings, seed: int):
    """{"sharpness", "noise_sensitivity"} of the trained network, cached next to the run."""
    path = None
    if result.cache_path is not None:
        digest = _cache.fingerprint(repr(settings), seed)
        path = Path(result.cache_path) / f"measures_{digest}.json"
        if path.exists():
            return json.loads(path.read_text())
    n = settings.n or len(dataset.y_train)
    objective, params = NetObjective.create(result.network, dataset.x_train[:n], dataset.y_train[:n])
    key = jax.random.key(seed)
    fn = jax.jit(lambda p, k: {
        "sharpness": _measure.sharpness(objective, p, k, settings.iters, 1e-4, settings.chunk),
        "noise_sensitivity": _measure.noise_sensitivity(objective, p, jax.random.fold_in(k, 1),
                                                        settings.sigma, settings.draws, settings.chunk)})
    out = {k: float(v) for k, v in fn(params, key).items()}
    if path is not None:
        path.write_text(json.dumps(out))
    return out


def check_compare_inputs(model, data, methods, seeds, batch_size, n_train, data_root):
    """Checks of names, seeds and sizes that need no data and no compilation."""
    _validate.one_of("model", model, tuple(NETWORKS))
    _validate.one_of("data", data, DATASETS)
    if isinstance(methods, str):
        methods = [m for m in methods.split(",") if m]
    if not methods:
        raise ValueError("methods=[] is not allowed: give at least one of " + ", ".join(METHODS))
    for m in methods:
        _validate.one_of("methods", m, METHODS)
    if not seeds:
        raise ValueError("seeds=[] is not allowed: give at least one seed")
    for s in seeds:
        _validate.integer_at_least("seed", s, 0)
    if batch_size is not None:
        _validate.integer_at_least("batch_size", batch_size, 1)
        if n_train is not None and batch_size > n_train:
            raise ValueError(f"batch_size={batch_size} is not allowed: it must be <= the number "
                             f"of training examples n_train={n_train}")
    if data_root is not None and not Path(data_root).is_dir():
        raise ValueError(f"data_root={str(data_root)!r} is not allowed: it is not an existing "
                         f"folder (give the folder with the original {data} files)")
    return list(methods)


def load_checked(data, data_root=None, n_train=None, data_seed=0) -> Dataset:
    """`load_dataset` with missing files and packages reported as ValueError."""
    try:
        return load_dataset(data, root=data_root, n_train=n_train, seed=data_seed)
    except (FileNotFoundError, ModuleNotFoundError) as err:
        raise ValueError(f"data={data!r}, data_root={None if data_root is None else str(data_root)!r}: "
                         f"{err}") from err


def compare(
    methods: Sequence[str],
    *,
    model: str,
    data: str | Dataset,
    epochs: int,
    seeds: Sequence[int] = (0, 1, 2),
    values: Mapping[str, Sequence[float]] | None = None,
    overrides: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    batch_size: int | None = 64,
    schedule: str = "constant",
    network_kw: Mapping | None = None,
    n_train: int | None = None,
    data_root=None,
    data_seed: int = 0,
    eval_every: int | None = None,
    augment: bool = False,
    time: float | None = None,
    measure: MeasureSettings | None = None,
    cache: bool = True,
    cache_dir=None,
    progress: bool | None = None,
) -> Comparison:
    """Train every (method, hyper-parameter) row of `method_grid` for every seed.

    Seed s initializes the network with ``jax.random.key(s)`` and drives minibatches with
    ``fold_in(key(s), 1)``; every row sees the same data split (``data_seed``) and, for a given
    seed, the same initial network. With ``time`` = T every row trains to the same gradient-flow
    time t = k·η = T (docs/conventions.md §1): round(T/η) steps, rounded to whole epochs (``epochs`` and
    ``eval_every`` are then ignored and the run is evaluated at its end only).

    Raises:
        ValueError: unknown names, bad sizes or folders (before any compilation).
    """
    values = {k: list(np.atleast_1d(v)) for k, v in (values or {}).items()}
    for k in values:
        if k not in DEFAULTS:
            raise ValueError(f"hyper-parameter {k!r} is not allowed: choose from {sorted(DEFAULTS)}")
    seeds = [int(s) for s in seeds]
    if isinstance(data, Dataset):
        names = check_compare_inputs(model, data.name, methods, seeds, batch_size,
                                     len(data.y_train), None)
        dataset = data
    else:
        names = check_compare_inputs(model, data, methods, seeds, batch_size, n_train, data_root)
        dataset = load_checked(data, data_root, n_train, data_seed)
    n = len(dataset.y_train)
    if batch_size is not None and batch_size > n:
        raise ValueError(f"batch_size={batch_size} is not allowed: it must be <= the number of "
                         f"training examples n_train={n}")
    _validate.integer_at_least("epochs", epochs, 1)
    if time is not None:
        _validate.positive("time", time)
    eval_every = epochs if eval_every is None else eval_every
    grid = method_grid(names, values, overrides)
    built = []
    for label, name, hp in grid:
        spe = 1 if name == "gd" or batch_size is None else n // batch_size
        row_epochs, row_eval = epochs, eval_every
        if time is not None:
            row_epochs = row_eval = max(1, round(time / hp["eta"] / spe))
            label = f"{label} ({row_epochs * spe} steps)"
        sched = make_schedule(schedule, row_epochs, spe)
        method = make_method(name, batch_size=batch_size, schedule=sched, **hp)
        built.append((label, name, hp, method, row_epochs, row_eval))
    network_kw = dict(network_kw or {})
    make_network(model, dataset.input_shape, dataset.num_classes, jax.random.key(0), **network_kw)

    rows = []
    for label, name, hp, method, row_epochs, row_eval in built:
        per_seed = []
        for s in seeds:
            network = make_network(model, dataset.input_shape, dataset.num_classes,
                                   jax.random.key(s), **network_kw)
            result = train(method, network, dataset, row_epochs,
                           jax.random.fold_in(jax.random.key(s), 1), row_eval, augment=augment, cache=cache, cache_dir=cache_dir,
                           progress=progress)
            summary = {"seed": s, "steps": row_epochs * steps_per_epoch(method, n), **result.summary()}
            if measure is not None:
                summary.update(final_measures(result, dataset, measure, s))
            per_seed.append(summary)
        rows.append(_aggregate(label, name, hp, per_seed))
    settings = {
        "model": model, "network_kw": network_kw, "data": dataset.name, "n_train": n,
        "n_test": len(dataset.y_test), "data_seed": dataset.seed, "epochs": epochs,
        "eval_every": eval_every, "time": time, "seeds": seeds, "batch_size": batch_size, "schedule": schedule,
        "augment": augment, "values": values, "overrides": overrides or {},
        "measure": None if measure is None else dataclasses.asdict(measure),
        "device": str(jax.devices()[0]),
    }
    return Comparison(rows, settings)


def _aggregate(label, name, hp, per_seed):
    metrics = [k for k in per_seed[0] if k != "seed"]
    diverged = sum(not math.isfinite(r["train_loss"]) for r in per_seed)
    mean, std = {}, {}
    for m in metrics:
        vals = np.array([r.get(m, np.nan) for r in per_seed], dtype=float)
        mean[m] = float(np.mean(vals))
        std[m] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return {"label": label, "method": name, "hyperparameters": hp, "per_seed": per_seed,
            "mean": mean, "std": std, "diverged": diverged}
