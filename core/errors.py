"""User-facing errors: one line naming the file or flag, the reason, and the fix (exit status 2)."""
from __future__ import annotations


class UserError(Exception):
    """Bad input from the user. The CLI prints ``str(err)`` on one line and exits with status 2.

    Build it as ``UserError(where, reason, fix)``: *where* names the file or flag.
    """

    def __init__(self, where: str, reason: str, fix: str = "") -> None:
        self.where, self.reason, self.fix = where, reason, fix
        msg = f"{where}: {reason}"
        if fix:
            msg += f" -- {fix}"
        super().__init__(" ".join(msg.split()))


class DataError(UserError):
    """A dataset or run file that is missing, corrupt or unsafe (a data problem, never a method failure).

    Its fix points to ``bench check`` unless the caller gives one.
    """

    def __init__(self, where: str, reason: str, fix: str = "") -> None:
        super().__init__(where, reason, fix or "run `bench check` on the dataset or run directory, then regenerate "
                                               "(`bench gen` resumes) or re-run what it reports")
