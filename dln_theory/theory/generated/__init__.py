"""Generated modified fields (``modified_fields.py``: B-series tables, ``lie_fields.py``: the
Lie-series results of normalized SAM and Adam; both from derivations/codegen.py) and the
hand-written runtime evaluator of the tables (``elementary.py``).  Plain JAX; no sympy at run time."""

from dln_theory.theory.generated.lie_fields import (
    adam_f0 as adam_f0,
    adam_f1 as adam_f1,
    nsam_modified_loss as nsam_modified_loss,
)

from dln_theory.theory.generated.modified_fields import (
    bgr_field as bgr_field,
    extragradient_field as extragradient_field,
    fgr_field as fgr_field,
    gd_field as gd_field,
    heavy_ball_field as heavy_ball_field,
    sam_field as sam_field,
)
