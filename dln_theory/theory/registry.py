"""Registry of the formulas the simulator uses, each mapped to the derivation that proves it.

style.md ("Symbolic to numeric"): short formulas are hand-written in ``theory/``, large ones are
generated from ``derivations/``; either way each is listed here with a reference
``derivations.<module>:<function>`` to the sympy result it must agree with.
``tests/test_formula_registry.py`` evaluates every entry against its derivation at random
float64 points (relative agreement 1e-12) and checks that no public formula of ``theory`` is
missing. This module only names things: importing it imports neither sympy nor ``derivations``.

    FORMULAS["hyperbolic_entropy"].load()        # the JAX function
    FORMULAS["hyperbolic_entropy"].derivation    # "dln_theory.derivations.implicit_bias:hyperbolic_entropy"
"""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Formula:
    """One registered formula.

    Attributes:
        name: registry key.
        implementation: ``module:qualname`` of the simulator's function or class.
        derivation: ``derivations.<module>:<function>`` that proves it.
        statement: the formula, in one line.
        source: paper (arXiv id) or docs/conventions.md section.
        variant: which case of a shared implementation (the row of the A/B table, a ``BEAField``
            kind); empty when the implementation is the formula itself.
    """

    name: str
    implementation: str
    derivation: str
    statement: str
    source: str
    variant: str = ""

    def load(self):
        """The implementation object (function or class)."""
        return resolve(self.implementation)

    def load_derivation(self):
        """The derivation's function (imports sympy: tests and derivations only)."""
        return resolve(self.derivation)


def resolve(reference: str):
    """The object named by ``"package.module:qualname"``."""
    module, sep, qualname = reference.partition(":")
    if not sep or not qualname:
        raise ValueError(f"reference={reference!r} is not allowed: write 'package.module:qualname'")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


_POT = "dln_theory.theory.potentials:"
_EFF = "dln_theory.theory.effective_init:"
_MOD = "dln_theory.theory.modified_losses:"
_S3 = "docs/conventions.md §3 (derived); Even et al. arXiv:2302.08982"

_ENTRIES = [
    Formula("hyperbolic_entropy", _POT + "hyperbolic_entropy",
            "dln_theory.derivations.implicit_bias:hyperbolic_entropy",
            "ψ_α(β) = ½ Σ (β arcsinh(β/α²) − √(β² + α⁴) + α²)  (P-E)",
            "Even et al. arXiv:2302.08982; docs/conventions.md §2"),
    Formula("woodworth_q", _POT + "woodworth_q", "dln_theory.derivations.implicit_bias:woodworth_Q",
            "Q_α(β) = Σ α² q(β/α²), q(z) = 2 − √(4+z²) + z arcsinh(z/2)  (P-W, D = 2)",
            "Woodworth et al. arXiv:2002.09277"),
    Formula("depth_link", _POT + "depth_link", "dln_theory.derivations.implicit_bias:depth_flow",
            "h_D(z) = (1 − z)^(−D/(D−2)) − (1 + z)^(−D/(D−2))", "docs/conventions.md §2 (derived)"),
    Formula("depth_link_inverse", _POT + "depth_link_inverse",
            "dln_theory.derivations.implicit_bias:depth_flow", "h_D^{-1}(b): the z ∈ (−1, 1) with h_D(z) = b",
            "docs/conventions.md §2 (derived)"),
    Formula("depth_potential", _POT + "depth_potential", "dln_theory.derivations.implicit_bias:depth_flow",
            "Q^D_α(β) = α^D Σ q_D(β/α^D), q_D(h_D(z)) = z h_D(z) − H_D(z), H_D' = h_D",
            "Woodworth et al. arXiv:2002.09277; docs/conventions.md §2 (derived)"),
    Formula("alpha_eff2_factor", _EFF + "alpha_eff2_factor",
            "dln_theory.derivations.alpha_identity:step_factor",
            "u'² − v'² = [(1 − ηB)² − η²A²](u² − v²)", _S3),
    Formula("alpha_inf2_gd", _EFF + "alpha_inf2_gd", "dln_theory.derivations.alpha_identity:step_factor",
            "α_∞² = α² Π_k (1 − η² g_k²)  (A = g, B = 0 each step)", _S3),
    *(Formula(f"pe_terms_{m}", _EFF + f"pe_terms_{fn}", "dln_theory.derivations.alpha_identity:pe_table", st,
              _S3, m)
      for m, fn, st in (("gd", "gd", "A = g, B = 0"),
                        ("sgd", "gd", "A = minibatch g, B = 0"),
                        ("gr", "gr", "A = g + γK(g⊙(u²+v²)), B = γg²"),
                        ("fgr", "fgr", "A = (1 − γ/ε)g + (γ/ε)g⁺, B = γ g⊙g⁺"),
                        ("bgr", "bgr", "A = (1 + γ/ε)g − (γ/ε)g⁻, B = γ g⊙g⁻"),
                        ("sam", "sam", "A = g⁺ (ε = ρ), B = ρ g⊙g⁺  (unnormalized SAM)"))),
    Formula("gd_modified_loss", _MOD + "gd_modified_loss",
            "dln_theory.derivations.modified_equations:modified_field",
            "L̃ = L + (h/4)‖∇L‖²  (GD, first order)", "Barrett & Dherin arXiv:2009.11162 Thm 3.1"),
    Formula("HeavyBallField", _MOD + "HeavyBallField", "dln_theory.derivations.multistep:heavy_ball_loss",
            "θ̇ = −(1/(1−β))∇[L + h(1+β)/(4(1−β)²)‖∇L‖²]",
            "Ghosh et al. arXiv:2302.00849; docs/conventions.md §5"),
    Formula("SGDField", _MOD + "SGDField", "dln_theory.derivations.multistep:rr_modified_loss",
            "C̃ = C + (h/4m) Σ_k ‖∇Ĉ_k‖²  (random reshuffling, m batches)",
            "Smith et al. arXiv:2101.12176"),
    *(Formula(f"BEAField_{kind}", _MOD + "BEAField", "dln_theory.derivations.modified_equations:vector_field",
              f"f_h = Σ_τ C(τ)F(τ), |τ| ≤ 4: the modified field of {update}", src, kind)
      for kind, update, src in (
          ("gd", "θ ← θ − h∇L", "HLW IX; Barrett & Dherin arXiv:2009.11162"),
          ("gr", "θ ← θ − h∇(L + (γ/2)‖∇L‖²)", "docs/conventions.md §4"),
          ("fgr", "θ ← θ − h[(1 − γ/ε)∇L + (γ/ε)∇L(θ + ε∇L)]", "Karakida et al. arXiv:2210.02720"),
          ("bgr", "θ ← θ − h[(1 + γ/ε)∇L − (γ/ε)∇L(θ − ε∇L)]", "docs/conventions.md §4"),
          ("sam", "θ ← θ − h∇L(θ + ρ∇L)", "Andriushchenko & Flammarion arXiv:2206.06232"),
          ("extragradient", "θ ← θ − h∇L(θ − h∇L)", "HLW IX"))),
    Formula("BEAField_heavy_ball", _MOD + "BEAField", "dln_theory.derivations.multistep:heavy_ball_field",
            "principal modified field of θ' = θ − h∇L + β(θ − θ_prev), |τ| ≤ 4",
            "Ghosh et al. arXiv:2302.00849; HLW IX.9", "heavy_ball"),
]

#: name -> Formula, every formula the simulator uses.
FORMULAS: dict[str, Formula] = {f.name: f for f in _ENTRIES}

#: Public callables of the formula modules that are not formulas with a derivation, and why.
NOT_DERIVED: dict[str, str] = {
    _POT + "exp_bregman": "numerics, not theory: e^x − 1 − x without cancellation (Taylor series near 0)",
    _POT + "pow_bregman": "numerics, not theory: (1 + r)^k − 1 − kr without cancellation (Taylor series near 0)",
    _EFF + "gain": "definition ‖Gain‖₁ = Σ ln(α²/α_∞²) (Even et al.), no formula to prove",
    _MOD + "gd_field": "selects gd_modified_loss (order ≤ 1) or BEAField('gd') (orders 2, 3)",
    _MOD + "gr_objective": "definition L + (γ/2)‖∇L‖² of the GR objective (Karakida et al.); its modified "
                           "field is registered as BEAField_gr",
}

#: Modules whose public functions and classes must be registered or listed in NOT_DERIVED.
FORMULA_MODULES = ("dln_theory.theory.potentials", "dln_theory.theory.effective_init",
                   "dln_theory.theory.modified_losses")
