"""User-facing errors: one line naming the file or flag, the reason, and the fix."""
from __future__ import annotations


class UserError(Exception):
    """Bad input from the user. The CLI prints ``str(err)`` on one line and exits non-zero.

    Build it as ``UserError(where, reason, fix)``: *where* names the file or flag.
    """

    def __init__(self, where: str, reason: str, fix: str = "") -> None:
        self.where, self.reason, self.fix = where, reason, fix
        msg = f"{where}: {reason}"
        if fix:
            msg += f" -- {fix}"
        super().__init__(" ".join(msg.split()))
