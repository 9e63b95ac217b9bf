"""The model under audit: loaded through MLflow, fed the columns of its signature only.

A model logged with scikit-learn's flavour is loaded as the estimator itself, which gives
probabilities (ROC AUC, Brier score, the ART attacks); any other flavour goes through
``pyfunc`` and gives decisions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ailab.errors import BadInputError, OperationFailedError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class ModelUnderAudit:
    uri: str
    flavor: str
    input_columns: list[str]
    from_signature: bool
    """False: the model has no signature and receives every column but the label and the sensitive features."""
    version: str
    """The registered version (``models:/`` URIs) or the run id that logged it, when known."""
    _predictor: Any
    _has_proba: bool

    @property
    def has_scores(self) -> bool:
        return self._has_proba

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[self.input_columns]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's raw output on the input columns of ``frame``."""
        import numpy as np

        return np.asarray(self._predictor.predict(self.inputs(frame)))

    def scores(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The probability of the positive class (class index 1), when the model gives probabilities."""
        import numpy as np

        if not self._has_proba:
            return None
        return np.asarray(self._predictor.predict_proba(self.inputs(frame)))[:, 1]


def load_model(uri: str, where: str, columns: list[str], excluded: set[str]) -> ModelUnderAudit:
    """Load ``uri`` (tracking URI and credentials already set in the environment).

    ``columns`` are the data's columns and ``excluded`` the label and the sensitive features,
    kept from a model without a signature.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        info = mlflow.models.get_model_info(uri)
        flavor = "sklearn" if "sklearn" in info.flavors else "python_function"
        predictor = mlflow.sklearn.load_model(uri) if flavor == "sklearn" else mlflow.pyfunc.load_model(uri)
    except MlflowException as err:
        message = str(err).splitlines()[0]
        if "RESOURCE_DOES_NOT_EXIST" in str(err.error_code) or "not found" in message.lower():
            raise BadInputError(f"{where}: model {uri!r} not found ({message}); check the name and version") from None
        raise OperationFailedError(f"{where}: cannot load model {uri!r}: {message}") from None
    except OSError as err:
        raise BadInputError(
            f"{where}: cannot read model {uri!r} ({err.strerror or err}); give an MLflow model directory"
        ) from None
    schema = info.signature.inputs if info.signature is not None else None
    if schema is not None and schema.has_input_names():
        names = [str(name) for name in schema.input_names()]
        missing = [name for name in names if name not in columns]
        if missing:
            raise BadInputError(f"{where}: the model's signature needs columns the data lacks: {', '.join(missing)}")
        from_signature = True
    else:
        names = [column for column in columns if column not in excluded]
        from_signature = False
    version = info.registered_model_version or _registered_version(uri) or info.run_id or ""
    has_proba = flavor == "sklearn" and hasattr(predictor, "predict_proba")
    return ModelUnderAudit(uri, flavor, names, from_signature, str(version), predictor, has_proba)


def _registered_version(uri: str) -> str | None:
    """The version number a ``models:/<name>/<version|latest>`` or ``models:/<name>@<alias>`` URI resolves to."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    if not uri.startswith("models:/"):
        return None
    reference = uri.removeprefix("models:/")
    client = MlflowClient()
    try:
        if "@" in reference:
            name, alias = reference.split("@", 1)
            return str(client.get_model_version_by_alias(name, alias).version)
        name, _, version = reference.partition("/")
        if version.isdigit():
            return version
        versions = client.search_model_versions(f"name = '{name}'")
        return str(max(int(found.version) for found in versions)) if versions else None
    except MlflowException:
        return None
