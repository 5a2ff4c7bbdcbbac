"""The model-from-code file of a logged churn model: MLflow runs this file when it loads the model (it is not
meant to be imported). Nothing is pickled: the model is this code, the package beside it and plain files."""

from mlflow.models import set_model

from churn_portable import ChurnPyfunc

set_model(ChurnPyfunc())
