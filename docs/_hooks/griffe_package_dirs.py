"""Griffe extension: document ``derivations/`` and ``figures/`` under the names they install as.

``pyproject.toml`` maps the repository's ``derivations/`` and ``figures/`` folders to the
subpackages ``dln_theory.derivations`` and ``dln_theory.figures`` (setuptools package-dir), which
static analysis of ``dln_theory/`` cannot see. Once ``dln_theory`` is loaded, this loads each
folder as a package and attaches it to ``dln_theory`` under its installed name.
"""

import griffe

MAPPED = ("derivations", "figures")


class PackageDirs(griffe.Extension):
    """Attach the package-dir mapped folders to ``dln_theory``."""

    def on_package(self, *, pkg, loader, **kwargs):
        if pkg.name != "dln_theory":
            return
        for name in MAPPED:
            if name not in pkg.members:
                pkg.set_member(name, loader.load(name))
