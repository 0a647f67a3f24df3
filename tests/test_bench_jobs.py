"""benchmarks/bench_jobs.py: its ``--tiny`` main runs, and its NumPy loops compute the library's β.

One ``--tiny`` run of the script (a few steps of every job) is shared by the tests. For each run
of jobs (a)-(c), the NumPy loop the benchmark times is run on the library's data (in (b) the data
set `SparseRegression.sample(seed)` the library drew) for the steps the library took: all of them,
or ``diverged_at`` for a run the library froze (its frozen iterate is the last good one). SGD is fed
the library's own index sequence, read off a probe run (`library_indices`). Final β agree to
1e-10 relative. No timing is asserted.

Near the edge of stability GD amplifies rounding exponentially (η = 3.04 in (a): the two agree to
3e-16 after 1 step, 7e-14 after 20, 8e-11 after 40, 5e-3 after 100, both being right to rounding),
so the ``--tiny`` run of (a) is 20 steps long: worst case there 2.5e-12 (η = 3.86, frozen at
step 8); every other run of (a)-(c) agrees to 1e-14 or better.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import dln_theory as dt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_jobs as bj  # noqa: E402

RTOL = 1e-10


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "jobs.json"
    report = bj.main(["--tiny", "--json", str(path)])
    return report, json.loads(path.read_text())


def library_indices(n, d, n_steps, seed):
    """The example `dln_theory.SGD(batch_size=1)` uses at each step with this seed: (n_steps, 1).

    Probe data X = [I_n | 0], y = 1: example i moves only β_i, so the coordinate that changes at
    step k names the example of step k. The sequence depends on (seed, n, k) only, so a run on
    other data with the same seed and n sees it too (a sweep seeds run s with PRNGKey(s)).
    """
    probe = dt.from_data(np.eye(n, d), np.ones(n))
    traj = dt.simulate(dt.SGD(0.01, batch_size=1), dt.PE(), probe, 1.0, n_steps, 1, key=seed)
    moved = np.abs(np.diff(np.asarray(traj.beta), axis=0)) > 0
    assert np.all(moved.sum(axis=1) == 1), "probe: each step must move one coordinate"
    return np.argmax(moved, axis=1)[:, None]


def assert_same_beta(params, u, v, label):
    beta_lib = np.asarray(params)[0] * np.asarray(params)[1]
    beta_np = u * v
    err = np.linalg.norm(beta_lib - beta_np)
    scale = np.linalg.norm(beta_np)
    assert err <= RTOL * scale, f"{label}: relative error {err / scale:.1e}"


def steps_of(out, i):
    div = out["diverged_at"][i]
    return out["n_steps"] if div < 0 else int(div)


def test_tiny_main_writes_every_job(tiny):
    report, data = tiny
    jobs = [r["job"] for r in data["rows"]]
    for prefix in ("a GD", "a SGD", "a total", "b GD", "b SGD", "b total", "c GD", "c SAM",
                   "c 1-SAM", "c total", "d per solve", "d first solve"):
        assert any(j.startswith(prefix) for j in jobs), prefix
    for r in data["rows"]:
        for key in ("lib_s", "lib_steady_s", "numpy_s", "ratio"):
            assert np.isfinite(r[key]) and r[key] > 0, (r["job"], key)
        assert isinstance(r["met"], bool)
        if r["job"][0] in "abc" and not r["job"].endswith("total"):
            # the first call after jax.clear_caches() builds its programs again (each compiled or
            # loaded from the persistent cache): never zero
            assert r["programs"] >= 1 and 0 <= r["cache_hits"] <= r["programs"], r["job"]
    assert data["mode"]["name"] == "tiny"
    # (a) at these step sizes some runs diverge: they are counted and frozen
    a_sgd = next(r for r in data["rows"] if r["job"] == "a SGD")
    assert 0 < a_sgd["diverged"] < a_sgd["runs"] == 30


@pytest.mark.parametrize("name", ["GD", "SGD"])
def test_job_a_numpy_loops_match_library(tiny, name):
    out = tiny[0]["outputs"][f"a {name}"]
    X, y = out["X"], out["y"]
    indices = library_indices(*X.shape, out["n_steps"], out["seed"]) if name == "SGD" else None
    for i, eta in enumerate(out["etas"]):
        u, v = bj.numpy_run(name, X, y, eta, steps_of(out, i), indices=indices)
        assert_same_beta(out["params"][i], u, v, f"a {name} eta={eta:.3g}")


@pytest.mark.parametrize("name", ["GD", "SGD"])
def test_job_b_numpy_loops_match_library_on_its_data(tiny, name):
    out = tiny[0]["outputs"][f"b {name}"]
    spec = out["spec"]
    assert np.all(out["diverged_at"] < 0)
    for i, seed in enumerate(out["seeds"]):
        data = spec.sample(int(seed))
        X, y = np.asarray(data.X), np.asarray(data.y)
        indices = None
        if name == "SGD":
            indices = library_indices(spec.n, spec.d, out["n_steps"], int(seed))
        u, v = bj.numpy_run(name, X, y, out["eta"], out["n_steps"], indices=indices)
        assert_same_beta(out["params"][i], u, v, f"b {name} seed={seed}")


@pytest.mark.parametrize("name", ["GD", "SAM", "1-SAM"])
def test_job_c_numpy_loops_match_library(tiny, name):
    out = tiny[0]["outputs"][f"c {name}"]
    rhos = [None] if out["rhos"] is None else out["rhos"]
    for i, rho in enumerate(rhos):
        u, v = bj.numpy_run(name, out["X"], out["y"], out["eta"], steps_of(out, i), rho=rho)
        assert_same_beta(out["params"][i], u, v, f"c {name} rho={rho}")


def test_job_d_newton_and_slsqp_agree(tiny):
    out = tiny[0]["outputs"]["d"]
    np.testing.assert_allclose(out["X"] @ out["beta"], out["y"], atol=1e-10)
    assert np.max(np.abs(out["beta"] - out["beta_slsqp"])) < 1e-4


def test_one_sam_is_sam_when_n_is_one():
    """With one example, 1-SAM and n-SAM are the same update (independent check of the loop)."""
    X, y = bj.nb.sparse_regression(1, 8, seed=3)[:2]
    a = bj.one_sam_single(X, y, 0.3, 0.1, 0.05, 50)
    b = bj.sam_single(X, y, 0.3, 0.1, 0.05, 50)
    np.testing.assert_allclose(np.concatenate(a), np.concatenate(b), rtol=1e-13, atol=1e-15)


def test_readme_table_is_generated_between_the_markers_only(tiny, tmp_path):
    """benchmarks/readme.py rewrites exactly the text between the performance markers: the text
    around them is kept byte for byte, the table has one line per total of jobs (a)-(c) and per
    row of (d), a CPU run says the GPU numbers are not measured, and ``--check`` tells a current
    README (0) from a stale one (1). A README without the markers is refused."""
    import readme

    json_path = tmp_path / "bench.json"
    json_path.write_text(json.dumps({"bench_jobs": tiny[1]}))
    before, after = "# Title\n\n## Performance\n\n", "\n\n## Layout\nrest\n"
    page = tmp_path / "README.md"
    page.write_text(before + readme.BEGIN + "\nold table\n" + readme.END + after)
    args = [str(json_path), "--readme", str(page)]
    assert readme.main(args + ["--check"]) == 1
    assert readme.main(args) == 0
    text = page.read_text()
    assert text.startswith(before + readme.BEGIN) and text.endswith(readme.END + after)
    assert "old table" not in text and "GPU numbers are not measured" in text
    body = text[text.index(readme.BEGIN):text.index(readme.END)]
    rows = [line for line in body.splitlines() if line.startswith("| (")]
    assert [row[:4] for row in rows] == ["| (a", "| (b", "| (c", "| (d", "| (d"]
    assert readme.main(args + ["--check"]) == 0
    page.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        readme.main(args)
