"""vizlib: baseline-matched virtualization overhead from raw lmbench logs.

Kept import-light on purpose: pandas, seaborn and papermill are imported by the modules that
need them, so ``python -m vizlib parse`` starts fast.
"""

__version__ = "0.1.0"
