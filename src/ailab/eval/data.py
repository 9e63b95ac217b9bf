"""Reading the evaluation data, bounded, and checking the plan against it.

Only regular files below a size limit are read; CSV through pandas' pyarrow engine, Parquet
through pyarrow. Columns the plan names must exist; a binary task needs a label with exactly
two values, one of them the plan's positive label.
"""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailab.errors import BadInputError
from ailab.eval.catalogue import Task
from ailab.eval.plan import FairnessCheck, LoadedPlan, PrivacyCheck, RobustnessCheck

if TYPE_CHECKING:
    import pandas as pd

MAX_DATA_BYTES = 4 * 2**30
MAX_ROWS = 50_000_000
MAX_ATTRIBUTE_VALUES = 20
"""Attribute inference guesses a categorical attribute: a column with more values is a measurement, not a category."""
_HASH_CHUNK = 2**20


@dataclass(frozen=True)
class Table:
    """One data file, read."""

    path: Path
    frame: pd.DataFrame
    sha256: str


def read_table(path: Path, where: str, max_bytes: int = MAX_DATA_BYTES) -> Table:
    """Read a CSV or Parquet file; ``where`` (``file:line: plan.key``) prefixes every error."""
    import pandas as pd

    try:
        info = path.stat()
    except FileNotFoundError:
        raise BadInputError(f"{where}: {path} does not exist; fix the path (relative to the plan file)") from None
    except OSError as err:
        raise BadInputError(f"{where}: {path} cannot be read ({err.strerror}); fix the path or its permissions") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadInputError(f"{where}: {path} is not a regular file (a directory or a device?); give a CSV or Parquet file")
    if info.st_size > max_bytes:
        raise BadInputError(
            f"{where}: {path} is {info.st_size / 2**30:.1f} GiB, over the {max_bytes / 2**30:.0f} GiB limit; sample it"
        )
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, engine="pyarrow")
    except Exception as err:  # pandas and pyarrow raise many types for a malformed file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BadInputError(
            f"{where}: {path} is not a readable {path.suffix[1:].upper()} file ({first}); fix or re-export it"
        ) from None
    if len(frame) == 0:
        raise BadInputError(f"{where}: {path} has no rows")
    if len(frame) > MAX_ROWS:
        raise BadInputError(f"{where}: {path} has {len(frame):,} rows, over the {MAX_ROWS:,} limit; sample it")
    frame.columns = [str(column) for column in frame.columns]
    return Table(path, frame, digest.hexdigest())


@dataclass(frozen=True)
class EvaluationData:
    """The evaluation rows (and the training rows when privacy checks need them), checked against the plan."""

    test: Table
    train: Table | None
    y_true: Any
    """The label as 0/1 integers for a binary task, as floats for regression (a NumPy array)."""
    y_train: Any | None


def load_data(loaded: LoadedPlan) -> EvaluationData:
    """Read the plan's data and check that it fits the plan (columns, a binary label)."""
    plan = loaded.plan
    test = read_table(loaded.resolve(plan.model_dataset.path), loaded.where(("dataset", "path")))
    train = None
    if plan.model_dataset.train_path is not None:
        train = read_table(loaded.resolve(plan.model_dataset.train_path), loaded.where(("dataset", "train_path")))
    for table, key in ((test, "path"), (train, "train_path")):
        if table is None:
            continue
        _require_column(loaded, table, plan.model_dataset.label, ("dataset", "label"))
        for index, feature in enumerate(plan.model_dataset.sensitive_features):
            _require_column(loaded, table, feature, ("dataset", "sensitive_features", index))
        if key == "train_path" and list(table.frame.columns) != list(test.frame.columns):
            raise BadInputError(
                f"{loaded.where(('dataset', 'train_path'))}: {table.path} has other columns than {test.path}; give both the same columns"
            )
    for index, check in enumerate(plan.checks):
        if isinstance(check, RobustnessCheck):
            for position, column in enumerate(check.columns):
                _require_column(loaded, test, column, ("checks", index, "columns", position))
        if isinstance(check, FairnessCheck):
            _require_column(loaded, test, check.sensitive_feature, ("checks", index, "sensitive_feature"))
        if isinstance(check, PrivacyCheck) and check.sensitive_feature is not None and train is not None:
            _require_categorical(loaded, train, check.sensitive_feature, ("checks", index, "sensitive_feature"))
    y_true = labels(loaded, test)
    y_train = labels(loaded, train) if train is not None else None
    return EvaluationData(test, train, y_true, y_train)


def labels(loaded: LoadedPlan, table: Table) -> Any:
    """The label column as numbers: 0/1 (1 the positive label) for a binary task, floats for regression."""
    import numpy as np
    import pandas as pd

    plan = loaded.plan
    column = table.frame[plan.model_dataset.label]
    where = loaded.where(("dataset", "label"))
    if column.isna().any():
        raise BadInputError(
            f"{where}: {plan.model_dataset.label!r} has {int(column.isna().sum())} empty values in {table.path}; fill or drop those rows"
        )
    if plan.target.task is Task.REGRESSION:
        if not pd.api.types.is_numeric_dtype(column):
            raise BadInputError(
                f"{where}: {plan.model_dataset.label!r} is not numeric in {table.path}; a regression needs a numeric label"
            )
        return column.to_numpy(dtype=np.float64)
    values = sorted({str(value) for value in column.unique()[:3]})
    if len(values) != 2:
        raise BadInputError(
            f"{where}: {plan.model_dataset.label!r} has {'more than two' if len(values) > 2 else 'one'} distinct values in {table.path} "
            f"({', '.join(values[:3])}); binary metrics need exactly two (or set target.task: regression)"
        )
    positive = str(plan.target.positive_label)
    if isinstance(plan.target.positive_label, bool):
        positive = positive if positive in values else str(int(plan.target.positive_label))
    if positive not in values:
        raise BadInputError(
            f"{loaded.where(('target', 'positive_label'))}: the positive label {positive!r} is not a value of {plan.model_dataset.label!r} "
            f"({', '.join(values)}); set target.positive_label"
        )
    return (column.astype(str) == positive).to_numpy(dtype=np.int8)


def _require_column(loaded: LoadedPlan, table: Table, column: str, loc: tuple[str | int, ...]) -> None:
    if column not in table.frame.columns:
        import difflib

        hint = difflib.get_close_matches(column, list(table.frame.columns), n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        shown = ", ".join(list(table.frame.columns)[:20])
        raise BadInputError(f"{loaded.where(loc)}: {column!r} is not a column of {table.path}{suggestion}; its columns: {shown}")


def _require_categorical(loaded: LoadedPlan, table: Table, column: str, loc: tuple[str | int, ...]) -> None:
    count = int(table.frame[column].nunique(dropna=False))
    if not 2 <= count <= MAX_ATTRIBUTE_VALUES:
        raise BadInputError(
            f"{loaded.where(loc)}: {column!r} has {count} distinct value{'s' if count != 1 else ''} in {table.path}; attribute "
            f"inference guesses a categorical attribute: name one with 2 to {MAX_ATTRIBUTE_VALUES} values (bin a measurement first)"
        )
