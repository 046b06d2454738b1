"""vizlib: baseline-matched virtualization overhead from raw lmbench logs.

Kept import-light on purpose: pandas, seaborn and papermill are imported by the modules that
need them, so ``python -m vizlib parse`` starts fast. ``VizlibError`` is the base of every error
vizlib raises.
"""

from .errors import VizlibError

__version__ = "0.2.0"
__all__ = ["VizlibError", "__version__"]
