"""Operations: reading the history and writing outputs atomically (`io`, including publishing the list to a
database), MLflow tracking and the model registry (`tracking`), and the workspace that names every file
the stages hand to each other, and the masking of secrets in locations (`shown_location`: what may be
written; `resolve_location`: `${NAME}` references read from the environment when connecting).

Imports the domain layers below it (`churn.model` for the model it saves and loads); nothing imports
it but the runners and the CLI. `tracking` (MLflow, the model) is imported on its own, `from churn.ops
import tracking`, so stages that only read and write files do not load the model code.
"""

from churn.ops import io
from churn.ops._runs import RunInProgress, exclusive_workdir
from churn.ops._secrets import SecretNotSet, move_password_to_environment, resolve_location, shown_location
from churn.ops._workspace import (
    ALLOWED_ROOTS_ENV,
    OutsideProjectError,
    Workspace,
    allowed_roots,
    confine,
    confine_folders,
)
from churn.ops.io import PublishError, SourceError

__all__ = ["ALLOWED_ROOTS_ENV", "OutsideProjectError", "PublishError", "RunInProgress", "SecretNotSet", "SourceError",
           "Workspace", "allowed_roots", "confine", "confine_folders", "exclusive_workdir", "io",
           "move_password_to_environment", "resolve_location", "shown_location"]
