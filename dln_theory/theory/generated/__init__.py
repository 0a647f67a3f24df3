"""Generated modified fields (``modified_fields.py``, from derivations/codegen.py) and their
hand-written runtime evaluator (``elementary.py``).  Plain JAX; no sympy at run time."""

from dln_theory.theory.generated.modified_fields import (
    bgr_field as bgr_field,
    extragradient_field as extragradient_field,
    fgr_field as fgr_field,
    gd_field as gd_field,
    heavy_ball_field as heavy_ball_field,
    sam_field as sam_field,
)
