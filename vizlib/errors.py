"""Every error vizlib raises, under one base class.

``except vizlib.VizlibError`` catches any of them. Errors about a file name the file and the
1-based line to blame (0 when no single line is); the report's error names the notebook and cell.
The command line maps them to exit codes: ``ReportError`` 1 (a run failed after writing what it
could), every other one 2 (bad input or arguments, nothing written).
"""

from __future__ import annotations


class VizlibError(Exception):
    """Base of every error vizlib raises."""


class LocatedError(VizlibError):
    """An error in a file or a pasted text: ``"<where>:<line>: <reason>"``."""

    def __init__(self, where, line: int, reason: str):
        self.where, self.line, self.reason = str(where), int(line), reason
        super().__init__(f"{where}:{line}: {reason}")


class UsageError(VizlibError):
    """A bad argument or parameter."""


class ParseError(LocatedError):
    """A whole file cannot be read as lmbench output."""

    @property
    def source(self) -> str:
        return self.where


class ManifestError(LocatedError):
    """The manifest or the raw folder layout is wrong."""

    @property
    def path(self) -> str:
        return self.where


class AppProfileError(LocatedError):
    """An ``strace -c`` or GNU ``time -v`` text that cannot be trusted as a complete report."""

    @property
    def source(self) -> str:
        return self.where


class NormaliseError(VizlibError):
    """The tables cannot be compared as the manifest asks (an environment has no runs, say)."""


class MixError(VizlibError):
    """A mix that is not a set of non-negative category shares summing to 1."""


class InputsError(VizlibError):
    """The processed tables the model needs are missing or do not match the manifest."""


class FunctionalDataError(VizlibError):
    """A functional-comparison table that breaks its own vocabulary."""


class ReportError(VizlibError):
    """A notebook of the batch report failed; the partial output is in ``failed_dir``."""

    def __init__(self, message: str, notebook: str = "", cell: int | None = None, failed_dir=None):
        super().__init__(message)
        self.notebook, self.cell, self.failed_dir = notebook, cell, failed_dir
