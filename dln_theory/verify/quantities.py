"""What the predicted and simulated numbers of each claim are: the quantity and its unit.

`quantity` gives the label shown in the ``quantity`` column of `dln_theory.verify.format_table`
and stored in the JSON (``"quantity"``): what the two numbers are, then after ``;`` what the
error measures. A claim can also declare its own with ``claim(..., quantity=...)``; otherwise the
first matching pattern below applies (shell-style, on the claim's name). β is the regression
vector of the run (P-E: u⊙v), norms are of vectors in ℝ^d, an *order* is the least-squares slope
of log error against log of the named small parameter (dimensionless).
"""

from fnmatch import fnmatchcase

_ENDPOINT = "‖β‖₁ of argmin vs run end; error ‖β_run − β_pred‖₂/‖β_pred‖₂"
_ALPHA_INF = "mean α_∞² over coordinates; error max relative per coordinate"

#: (pattern, quantity), first match wins.
PATTERNS = (
    ("flow_endpoint_*", _ENDPOINT),
    ("kernel_limit_min_l2", "‖β‖₂ of min-ℓ2 vs run end; error relative ℓ2 distance"),
    ("rich_limit_min_l1", "‖β‖₁ of min-ℓ1 vs run end; error relative ℓ2 distance"),
    ("gd_alpha_factor_exact", _ALPHA_INF),
    ("schedule_alpha_product_form", _ALPHA_INF),
    ("*endpoint_argmin_psi_alpha_inf*", _ENDPOINT),
    ("gd_vs_flow_order_1", "order in η (slope of ‖θ_GD − θ_flow‖ at fixed time); error |Δ order|"),
    ("gd_vs_modified_flow_order_2", "order in η (slope of ‖θ_GD − θ_modified‖); error |Δ order|"),
    ("alpha_identity_*", "Σ_i (u_i² − v_i²) after one step; error max abs / max|u² − v²|"),
    ("fgr_to_gr_order_eps", "order in ε (slope of the F-GR − GR direction gap); error |Δ order|"),
    ("bgr_to_gr_order_eps", "order in ε (slope of the B-GR − GR direction gap); error |Δ order|"),
    ("flooding_pair_is_fd_gr", "order in η of the ascent–descent pair's remainder; error |Δ order|"),
    ("sgd_rr_modified_flow_order3", "order in η of the epoch-mean SGD vs modified flow; error |Δ order|"),
    ("*_modified_flow_order2", "order in h of the run vs its modified flow; error |Δ order|"),
    ("alpha_eff_ordering_gr_family", "fraction of adjacent pairs in the predicted α_eff² order; error 1 − fraction"),
    ("*_follows_lie_series_field", "order in h of the run vs its Lie-series field; error |Δ order|"),
    ("bea_*", "order in h (local error slope, p + 1); error |Δ order|"),
    ("matches_reference_loop_*", "‖θ‖₁ after 50 steps, NumPy loop vs simulator; error max abs / max|θ|"),
    ("weight_decay_endpoint_lasso*", "‖β‖₁ of the lasso vs run end; error relative distance"),
    ("saddle_to_saddle_endpoint_min_l1", "max |β_last saddle − β_ℓ1|∞ (predicted 0)"),
    ("saddle_to_saddle_jump_times_rate", "order in ln(1/α) of the jump-time error (theory −1); error |Δ order|"),
    ("saddle_to_saddle_plateaus", "relative error of β on the plateaus at ln(1/α) = 3000 (predicted 0)"),
    ("lasso_path_time_average", "order in ln(1/α) of the gap to the lasso path (theory −1); error |Δ order|"),
    ("lasso_path_gap_with_deactivation", "gap ratio ln(1/α) = 3000 vs 300 (0.5: halved); error shortfall below 0.5"),
    ("momentum_collapse_*", "order in γ of the gap to the momentum gradient flow; error |Δ order|"),
    ("weight_decay_small_lambda_drift", "order in λ of the drift error; error |Δ order|"),
    ("weight_decay_switched_off_gd", "order in η of the endpoint error; error |Δ order|"),
    ("signgd_escape_time_bounded_in_alpha", "escape time t = kη at the smallest α; error max |Δt| over α"),
    ("gf_escape_time_log_alpha", "escape time t = kη; error |Δt|"),
    ("flow_loss_integral_closed_form", "∫₀^∞ L dt, closed form vs integrated flow; error relative"),
    ("sgd_gain_norm_from_loss_integral", "‖Gain‖₁ = Σ_j ln(α²/α_∞,j²), seed mean; error relative"),
    ("sgd_gain_per_coordinate_*", "‖Gain‖₁, seed mean; error ℓ1 distance per coordinate / ‖Gain‖₁"),
    ("label_noise_time_average_is_weighted_lasso", "‖β‖₁ of the weighted lasso vs time-averaged run; "
     "error max relative ℓ2 distance over (η, σ)"),
    ("*endpoint*", _ENDPOINT),
    ("weight_decay_switched_off", _ENDPOINT),
)


def quantity(name: str) -> str:
    """The quantity label of claim ``name`` from `PATTERNS` ("" when none matches)."""
    return next((label for pattern, label in PATTERNS if fnmatchcase(name, pattern)), "")
