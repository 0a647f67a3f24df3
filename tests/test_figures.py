"""Figure scripts: quick runs pass their checks and write PNG, PDF and metrics JSON; every check
fails under a named defect (negative controls); the README's figure table is generated from the
committed metrics files.

The quick results of each figure are computed once per module (sweeps and predictions cached on
disk in a private folder) and shared by the positive test and the negative controls, which apply
their defect to a copy of the computed results instead of recomputing.
"""

import copy
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import dln_theory as dt
from dln_theory import figures, plotting
from dln_theory.figures import metrics, readme
from dln_theory.theory.interpolators import min_potential_interpolant

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("figure-cache")


@pytest.fixture(scope="module")
def rendered(cache_dir, tmp_path_factory):
    """name → (results, passed, message, written paths) of the quick figure, computed once."""
    out = tmp_path_factory.mktemp("figures")
    done = {}

    def get(name):
        if name not in done:
            passed, message, paths = figures.render(name, quick=True, out=out, cache_dir=cache_dir)
            module = figures.FIGURES[name]
            done[name] = (module.compute(module.QUICK, cache_dir=cache_dir), passed, message, paths)
        return done[name]

    return get


def check(name, results):
    return figures.FIGURES[name].check(results)


def test_registry_lists_every_script():
    names = figures.list_figures()
    assert names[:3] == ["kernel_rich", "depth", "modified_flow"]
    assert set(names) == set(figures.FIGURES)
    for name in names:
        module = figures.FIGURES[name]
        for attr in ("Config", "FULL", "QUICK", "compute", "plot", "check", "main"):
            assert hasattr(module, attr), f"{name} lacks {attr}"


#: quick figures of 15–20 s on 2 cores, whose claims are tested by default anyway
#: (tests/test_verify.py): with ``-m slow`` (modified_flow's negative control with it).
SLOW_FIGURES = {"sde", "saddle_to_saddle", "modified_flow"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW_FIGURES else [])
                                  for n in figures.list_figures()])
def test_figure_quick(name, rendered):
    results, passed, message, paths = rendered(name)
    assert passed, f"{name}: {message}"
    assert message
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.pdf", f"{name}.json"]
    for path in paths[:2]:
        assert path.exists() and path.stat().st_size > 1000, path
    rec = json.loads(paths[2].read_text())
    assert rec["figure"] == name and rec["mode"] == "quick" and rec["passed"] is True and rec["message"] == message
    # the file holds what the check measured, rounded (metrics.DIGITS significant digits)
    assert rec["metrics"] == metrics.clean(check(name, results)[2])


def test_run_reports_and_returns_status(tmp_path, cache_dir, capsys):
    assert figures.run(["deepnet"], quick=True, out=tmp_path, cache_dir=cache_dir) == 0
    out = capsys.readouterr().out
    assert "[1/1] deepnet" in out and "PASS deepnet" in out
    with pytest.raises(ValueError, match="not registered"):
        figures.run(["no_such_figure"], quick=True, out=tmp_path)


def test_style_and_save(tmp_path):
    with plotting.style():
        fig, ax = plotting.figure()
        ax.plot([1, 2], [3, 4], color=plotting.color(0))
        paths = plotting.save(fig, tmp_path / "sub" / "x.y")
    assert [p.name for p in paths] == ["x.y.png", "x.y.pdf"]
    assert all(p.exists() for p in paths)


def test_metrics_files_are_deterministic(tmp_path):
    values = {"b": np.float64(1.234567891), "a": [np.nan, np.inf, 2], "c": np.array([True, False]), "d": {"z": 1e-300}}
    rec = metrics.record("x", False, np.bool_(True), "msg", values)
    assert rec["metrics"] == {"a": [None, None, 2], "b": 1.235, "c": [True, False], "d": {"z": 1e-300}}
    path = metrics.save(tmp_path / "x.json", rec)
    first = path.read_bytes()
    metrics.save(path, metrics.record("x", False, True, "msg", values))
    assert path.read_bytes() == first and first.endswith(b"\n")
    assert list(json.loads(first)) == sorted(json.loads(first))
    with pytest.raises(TypeError):
        metrics.clean({"x": object()})


def test_number_formats():
    assert [readme.num(x) for x in (4.2e-10, 1.3e-8, 0.1149, 3.979, 5e-4)] == ["4.2e-10", "1.3e-8", "0.11", "4", "5e-4"]
    assert readme.pct(0.0233) == "2.3 %" and readme.pct(0.9783, 3) == "97.8 %"


def test_readme_table_is_generated_from_committed_metrics():
    """The README's figure table equals the one generated from the committed figures/*.json (full runs)."""
    expected = readme.block(REPO / "figures")
    assert readme.current(REPO / "README.md") == expected, (
        "README figure table is stale: run `python -m dln_theory.figures.readme` at the repository root")
    committed = [name for name in figures.list_figures() if (REPO / "figures" / f"{name}.json").exists()]
    assert len(committed) >= 9
    for name in committed:
        rec = metrics.load(REPO / "figures", name)
        assert rec["mode"] == "full" and rec["passed"], f"committed {name}.json: {rec['message']}"


def test_readme_update_rewrites_only_the_block(tmp_path):
    readme_path = tmp_path / "README.md"
    readme_path.write_text(f"intro\n{readme.BEGIN}\nstale 1.0\n{readme.END}\noutro\n")
    assert readme.update(readme_path, REPO / "figures")
    text = readme_path.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "stale" not in text
    assert not readme.update(readme_path, REPO / "figures")


# ---- negative controls: each check must FAIL under a named defect ---------------------------------


def damaged(rendered, name):
    results, passed, message, _ = rendered(name)
    assert passed, message  # the control is only meaningful if the undamaged check passes
    return copy.deepcopy(results)


@pytest.mark.negative
def test_kernel_rich_fails_with_the_pw_convention(rendered):
    """Prediction from the wrong convention: P-W with α_W = α (α_E = √2α) for P-E runs."""
    from dln_theory.figures import kernel_rich

    r = damaged(rendered, "kernel_rich")
    config = r["config"]
    for n in config.ns:
        p = kernel_rich._spec(config, n).sample(config.seed)
        r["pred"]["beta_sim_alpha"][n] = np.stack(
            [np.asarray(min_potential_interpolant(p.X, p.y, a, dt.PW(2))) for a in np.logspace(*config.alpha_sim)])
    assert not check("kernel_rich", r)[0]


@pytest.mark.negative
def test_kernel_rich_fails_when_runs_stop_early(rendered):
    """Gradient-flow runs that did not reach the loss tolerance cannot confirm an endpoint."""
    r = damaged(rendered, "kernel_rich")
    n = r["config"].ns[0]
    r["sim"][n]["converged"][:] = False
    assert not check("kernel_rich", r)[0]


@pytest.mark.negative
def test_depth_fails_with_the_prediction_of_another_depth(rendered):
    """argmin Q^D_α of depth 2 used for the depth-3 runs (same α^D) and vice versa."""
    r = damaged(rendered, "depth")
    b = r["pred"]["beta_sim_alpha"]
    b[2], b[3] = b[3], b[2]
    assert not check("depth", r)[0]


@pytest.mark.negative
@pytest.mark.slow
def test_modified_flow_fails_when_corrections_are_dropped(rendered):
    """Every order compared with the plain flow (the h^p corrections dropped): slopes all ≈ 1."""
    r = damaged(rendered, "modified_flow")
    for p in r["errors"]:
        r["errors"][p] = r["errors"][0]
    assert not check("modified_flow", r)[0]


@pytest.mark.negative
def test_step_size_fails_with_alpha_instead_of_alpha_inf(rendered):
    """argmin ψ_α (initial α) in place of argmin ψ_{α_∞}: the mismatch no longer vanishes like η²."""
    r = damaged(rendered, "step_size")
    for name in ("GD", "SGD"):
        r["pred"][name] = np.where(np.isfinite(r["pred"][name]), r["pred"]["flow"], np.nan)
    assert not check("step_size", r)[0]


@pytest.mark.negative
def test_gr_bias_fails_when_gr_reduces_to_gd(rendered):
    """GR, F-GR and B-GR runs replaced by the GD run (a GR that silently reduced to GD)."""
    r = damaged(rendered, "gr_bias")
    for key in ("GR", "F-GR", "B-GR"):
        r["runs"][key]["error"] = np.broadcast_to(r["runs"]["GD"]["error"], r["runs"][key]["error"].shape).copy()
    assert not check("gr_bias", r)[0]


@pytest.mark.negative
def test_sam_fails_without_the_sam_shrinkage(rendered):
    """Every SAM run predicted from GD's α_∞ (the ρ-dependent shrinkage of α dropped)."""
    r = damaged(rendered, "sam")
    gd = r["pred"]["GD"]["long"]["beta"]
    for name in ("n-SAM", "1-SAM"):
        p = r["pred"][name]["long"]
        p["beta"] = np.where(np.isfinite(p["beta"]), gd, np.nan)  # GD: one column, broadcast over ρ
    assert not check("sam", r)[0]


@pytest.mark.negative
def test_phase_fails_with_alpha_instead_of_alpha_inf(rendered):
    """The initial α in place of α_∞ (ᾱ_∞ and the per-cell prediction): α_∞ is then never tested."""
    r = damaged(rendered, "phase")
    for name, (_, _, g) in r["grids"].items():
        g["alpha_inf"] = np.broadcast_to(r["alphas"][:, None], g["alpha_inf"].shape).copy()
        r["predicted"][name] = np.broadcast_to(r["predicted"]["initial"][:, None], g["error"].shape).copy()
    assert not check("phase", r)[0]


@pytest.mark.negative
def test_flooding_fails_without_ascent_steps(rendered):
    """The flooding run replaced by plain GD from the same start (no ascent steps below b)."""
    r = damaged(rendered, "flooding")
    r["flooding"] = r["GD"]
    assert not check("flooding", r)[0]


@pytest.mark.negative
def test_deepnet_fails_without_results(tmp_path):
    """No cached results: the check fails and names the command that produces them."""
    from dln_theory.figures import deepnet

    results = deepnet.compute(deepnet.Config(results_dir=str(tmp_path)))
    passed, message, values = deepnet.check(results)
    assert not passed and "run_validation.sh" in message
    assert values["missing"] == list(deepnet.Config().required)


@pytest.mark.negative
def test_deepnet_fails_when_sgd_is_the_flattest(rendered):
    """Sharpness of SGD and GR swapped (the sign of the claim reversed)."""
    r = damaged(rendered, "deepnet")
    rows = {row["method"]: row for f in r["files"] if f["name"] == "karakida_gr_eps" for row in f["rows"]}
    rows["sgd"]["sharpness"], rows["gr"]["sharpness"] = rows["gr"]["sharpness"], rows["sgd"]["sharpness"]
    assert not check("deepnet", r)[0]


@pytest.mark.negative
def test_margins_fails_with_the_l1_solution_for_q_mu(rendered):
    """The rich limit (ℓ1 max margin) put in place of the Q_μ direction on the kernel side."""
    r = damaged(rendered, "margins")
    r["by_alpha"][:, 4] = r["by_alpha"][:, 0]
    assert not check("margins", r)[0]


@pytest.mark.negative
def test_margins_fails_when_the_rich_run_stops_early(rendered):
    """A rich-side run stopped at log(1/ε) ≈ 1e3 has not reached the ℓ1 direction."""
    r = damaged(rendered, "margins")
    curve = r["curves"][0]
    stop = int(np.argmax(np.log10(-curve["log_loss"]) > 3.0))
    r["curves"][0] = {"log_loss": curve["log_loss"][: stop + 1], "gaps": curve["gaps"][: stop + 1]}
    assert not check("margins", r)[0]
