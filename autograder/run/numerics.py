"""The same numbers on every machine: which kernels a child's numpy and OpenBLAS may use.

OpenBLAS picks a matrix kernel for the CPU it finds, and numpy picks SIMD code for exp, log and
friends at run time; each choice rounds differently.  A network whose training is chaotic (a
softmax that overflows, a step too large) then reaches 0.95 on one grading machine and 0.88 on
another.  Children therefore run with OpenBLAS's most portable kernel for the architecture and
with numpy's run-time dispatch off (its compiled baseline only): every machine that installs the
same packages computes the same bits, so a verdict cannot depend on where it was graded.
Standalone: stdlib only (numpy is asked, not imported, where it is not loaded yet).
"""
from __future__ import annotations

import platform
import sys

# The oldest kernel of each architecture: every CPU of that architecture can run it.
PORTABLE_BLAS_KERNEL = {"x86_64": "Prescott", "amd64": "Prescott", "aarch64": "ARMV8", "arm64": "ARMV8"}


def numpy_dispatch_targets() -> list[str]:
    """The SIMD targets the installed numpy may pick at run time (beyond its baseline)."""
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            __import__(module)
            return list(getattr(sys.modules[module], "__cpu_dispatch__", []))
        except ImportError:
            continue
    return []


def pinned() -> dict[str, str]:
    """Environment variables that fix a child's numerical kernels (see the module's text)."""
    env = {}
    kernel = PORTABLE_BLAS_KERNEL.get(platform.machine().lower())
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    targets = numpy_dispatch_targets()
    if targets:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(targets)
    return env
