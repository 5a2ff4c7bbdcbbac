"""Operations: reading the history and writing outputs atomically (`io`, including publishing the list to a
database), MLflow tracking and the model registry (`tracking`), and the workspace that names every file
the stages hand to each other.

Imports the domain layers below it (`churn.model` for the model it saves and loads); nothing imports
it but the runners and the CLI. `tracking` (MLflow, the model) is imported on its own, `from churn.ops
import tracking`, so stages that only read and write files do not load the model code.
"""

from churn.ops import io
from churn.ops._workspace import (
    ALLOWED_ROOTS_ENV,
    OutsideProjectError,
    Workspace,
    allowed_roots,
    confine,
    confine_folders,
)
from churn.ops.io import SourceError

__all__ = ["ALLOWED_ROOTS_ENV", "OutsideProjectError", "SourceError", "Workspace", "allowed_roots", "confine",
           "confine_folders", "io"]
