"""The ``external`` method's card and typed settings: any program, run on an exported observation dir.

The ``command`` template is split with POSIX shell rules (``shlex.split``) and run directly, *without a
shell*: pipes, redirections, ``&&`` and variables are not interpreted (wrap them in a script).
``{input}`` and ``{output}`` are replaced by the two directories. The program must exist when the run
starts (a name on PATH or a path): a missing one is one error up front, not a failure per sample.
"""
from __future__ import annotations

import os
import shlex
import shutil
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.method_config import MethodConfig
from methods.base import MethodInputs, MethodSpec

CARD = MethodSpec(
    name="external", label="External command", paper="user supplied",
    description="Runs a user command template on an exported observation directory.",
    replaces="nothing: no pretrained model is used", inputs=MethodInputs(), kind="external",
)


class ExternalInputs(BaseModel):
    """What the program is shown (``methods.base.MethodInputs`` minus the privileged keys)."""

    model_config = ConfigDict(extra="forbid")
    views: Literal["mono", "multi"] = "multi"
    rgb: bool = True
    masks: bool = True
    depth: bool = False
    canonical: bool = False
    tracks: bool = False


class ExternalConfig(MethodConfig):
    """``bench run --method external --method-config my.yaml``: the program and what it is shown."""

    name: str | None = Field(None, min_length=1, max_length=100)
    label: str | None = None
    paper: str | None = None
    replaces: str | None = None
    command: str = Field("", description='e.g. "python run.py --input {input} --output {output}" (no shell)')
    inputs: ExternalInputs = ExternalInputs()

    @model_validator(mode="after")
    def _check(self) -> "ExternalConfig":
        if not self.command.strip():
            raise ValueError('the external method needs a command template, e.g. '
                             'command: "python run.py --input {input} --output {output}"')
        try:
            argv = shlex.split(self.command)
        except ValueError as exc:
            raise ValueError(f"command: cannot split it with shell rules ({exc})") from None
        prog = argv[0]
        found = shutil.which(prog) if os.sep not in prog else (prog if os.access(prog, os.X_OK) else None)
        if found is None:
            raise ValueError(f"command: program '{prog}' not found (not on PATH, or not an executable file); "
                             "the command runs without a shell")
        return self
