"""The evaluation plan (``kind: EvaluationPlan``): the contract an auditor declares before a run.

:func:`load_plan` reads it bounded and line-aware, and every problem becomes one line
``file:line: plan.key: what is wrong and how to fix it`` (exit 2).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ailab.errors import BadInputError
from ailab.eval.catalogue import BY_ID, Direction, Family, Task, names
from ailab.eval.llm.settings import EndpointSettings
from ailab.safeload import Document, load_yaml, read_text

API_VERSION = "ailab.eu/v1"
KIND = "EvaluationPlan"
MAX_PLAN_BYTES = 1 * 2**20
MAX_CHECKS = 200
MAX_EVASION_SAMPLE = 500
MAX_PRIVACY_SAMPLE = 20_000

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CHECK_ID = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$")
_MODEL_URI = re.compile(r"^(models:/[^/\s]+(/[^/\s]+|@[^/\s]+)|runs:/[0-9a-f]{32}/\S+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metadata(_Strict):
    name: str
    audit: str
    """The audit id: its MLflow experiment ``audit/<id>`` receives the run."""
    description: str = ""

    @field_validator("name", "audit")
    @classmethod
    def _dns(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} must be lowercase letters, digits and '-', 1-63 characters, starting and ending alphanumeric"
            )
        return value


def _no_nul(value: str) -> str:
    # The operating system refuses a path with a NUL byte with a bare ValueError, long after validation.
    if "\0" in value:
        raise ValueError(f"{value!r} contains a NUL byte; give a file path")
    return value


FileName = Annotated[str, AfterValidator(_no_nul)]
"""A path the plan names (relative to the plan file)."""


class Target(_Strict):
    model: FileName | None = None
    """``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``runs:/<run id>/<path>``, or a local MLflow model directory."""
    endpoint: EndpointSettings | None = None
    """An LLM or RAG system behind an HTTP API, probed by the endpoint checks; instead of ``model``."""
    task: Task = Task.BINARY
    positive_label: str | int | bool = 1
    """The label value of the positive (favourable) outcome, for binary classification."""

    @field_validator("model")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None and ":/" in value and not _MODEL_URI.match(value):
            raise ValueError(
                f"{value!r} is not a model URI: use models:/<name>/<version>, models:/<name>@<alias>, runs:/<run id>/<path> or a local directory"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.model is None) == (self.endpoint is None):
            raise ValueError("give exactly one of model (a model under audit) or endpoint (an LLM or RAG system)")
        if self.endpoint is not None and {"task", "positive_label"} & self.model_fields_set:
            raise ValueError("task and positive_label describe a model: remove them from an endpoint target")
        return self

    @property
    def is_local(self) -> bool:
        return self.model is not None and ":/" not in self.model


class Dataset(_Strict):
    path: FileName
    """CSV or Parquet, relative to the plan file."""
    label: str
    sensitive_features: list[str] = Field(default_factory=list, max_length=20)
    train_path: FileName | None = None
    """The training rows, needed by privacy checks only."""

    @field_validator("path", "train_path")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() not in (".csv", ".parquet"):
            raise ValueError(f"{value!r}: give a .csv or .parquet file")
        return value


class Bootstrap(_Strict):
    samples: int = Field(default=200, ge=20, le=5000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = 0


class _Check(_Strict):
    id: str

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _CHECK_ID.match(value):
            raise ValueError(f"{value!r} must be lowercase letters, digits, '.', '_' and '-', at most 64 characters")
        return value


def _metric_of(family: Family, value: str, task: Task | None = None) -> str:
    allowed = names(family, task)
    if value not in allowed:
        hint = difflib.get_close_matches(value, allowed, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown {family} metric {value!r}{suggestion}; allowed: {', '.join(allowed)}")
    return value


class _Thresholded(_Check):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _side(self) -> _Thresholded:
        entry = BY_ID[self.metric_name]
        wanted = entry.threshold_key
        given = [key for key in ("min", "max") if getattr(self, key) is not None]
        if given != [wanted]:
            better = "higher" if entry.direction is Direction.HIGHER else "lower"
            raise LocatedError(
                (given[0],) if given else (),
                f"{entry.id} is better when {better}: declare its threshold as {wanted!r}, and only that",
            )
        value = getattr(self, wanted)
        if entry.bounded and not 0.0 <= value <= 1.0:
            raise LocatedError((wanted,), f"{value} is outside [0, 1], the range of {entry.id}")
        return self

    @property
    def metric_name(self) -> str:
        raise NotImplementedError

    @property
    def threshold(self) -> float:
        value = self.min if self.min is not None else self.max
        assert value is not None  # the validator made sure
        return value


class PerformanceCheck(_Thresholded):
    kind: Literal["performance"]
    metric: str

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        return _metric_of(Family.PERFORMANCE, value)

    @property
    def metric_name(self) -> str:
        return self.metric


class FairnessCheck(_Thresholded):
    kind: Literal["fairness"]
    metric: str
    sensitive_feature: str
    min_group_size: int = Field(default=30, ge=1)
    """Groups smaller than this are flagged in the report (never dropped)."""

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        return _metric_of(Family.FAIRNESS, value)

    @property
    def metric_name(self) -> str:
        return self.metric


class RobustnessCheck(_Check):
    kind: Literal["robustness"]
    perturbation: str
    scale: float = Field(gt=0.0, le=10.0)
    """Noise: standard deviations; flips and missing values: probability per value; evasion: largest change allowed."""
    metric: str | None = None
    """The metric whose drop is measured (perturbation sweeps); defaults to balanced_accuracy or rmse."""
    max_drop: float | None = Field(default=None, ge=0.0)
    max_success_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    sweep: list[float] = Field(default_factory=list, max_length=10)
    """Further scales measured and plotted (the verdict is taken at ``scale``)."""
    sample: int = Field(default=10, ge=1, le=MAX_EVASION_SAMPLE)
    """Evasion only: how many correctly decided cases are attacked."""
    columns: list[str] = Field(default_factory=list)
    """The inputs perturbed; default: every numeric one (noise), every categorical one (flips), every one (missing)."""

    @field_validator("perturbation")
    @classmethod
    def _known(cls, value: str) -> str:
        return _metric_of(Family.ROBUSTNESS, value)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        return None if value is None else _metric_of(Family.PERFORMANCE, value)

    @field_validator("sweep")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(not 0.0 < scale <= 10.0 for scale in value):
            raise ValueError("every scale of the sweep must be in (0, 10]")
        return value

    @model_validator(mode="after")
    def _threshold(self) -> RobustnessCheck:
        evasion = self.perturbation == "evasion"
        wanted, other = ("max_success_rate", "max_drop") if evasion else ("max_drop", "max_success_rate")
        if getattr(self, wanted) is None or getattr(self, other) is not None:
            raise ValueError(f"a {self.perturbation} check declares its threshold as {wanted!r}, and only that")
        if evasion and self.metric is not None:
            raise ValueError("an evasion check measures its success rate: remove 'metric'")
        if not evasion and self.scale > 1.0 and self.perturbation != "gaussian_noise":
            raise ValueError(f"scale {self.scale} is a probability for {self.perturbation}: give a value in (0, 1]")
        return self

    @property
    def threshold(self) -> float:
        value = self.max_success_rate if self.perturbation == "evasion" else self.max_drop
        assert value is not None
        return value


Attack = Literal["membership_inference", "attribute_inference"]
Method = Literal["rule_based", "black_box", "random_forest", "logistic_regression"]
METHODS: dict[str, tuple[Method, ...]] = {
    "membership_inference": ("rule_based", "black_box"),
    "attribute_inference": ("random_forest", "logistic_regression"),
}
"""The methods of each attack, all run by default: membership inference's ART attacks, or the model that
attribute inference's attacker and baseline both train (IBM ART's ``attack_model_type``)."""


class PrivacyCheck(_Check):
    kind: Literal["privacy"]
    attack: Attack
    max_advantage: float = Field(ge=0.0, le=1.0)
    methods: Annotated[list[Method], Field(min_length=1)] | None = None
    """Default: every method of the attack."""
    sample: int = Field(default=1000, ge=50, le=MAX_PRIVACY_SAMPLE)
    """Membership inference: records drawn from each of the training and the evaluation data; attribute inference:
    training records drawn, half of them teaching the attackers, half attacked."""
    sensitive_feature: str | None = None
    """Attribute inference only: the attribute guessed, one of ``dataset.sensitive_features``."""

    @model_validator(mode="after")
    def _fits_attack(self) -> PrivacyCheck:
        words = self.attack.replace("_", " ")
        if self.attack == "attribute_inference" and self.sensitive_feature is None:
            raise LocatedError(("attack",), "attribute_inference guesses a sensitive feature: add sensitive_feature")
        if self.attack != "attribute_inference" and self.sensitive_feature is not None:
            raise LocatedError(("sensitive_feature",), f"{words} guesses no attribute: remove sensitive_feature")
        wrong = [method for method in self.methods or () if method not in METHODS[self.attack]]
        if wrong:
            raise LocatedError(
                ("methods",), f"{wrong[0]!r} is not a method of {words}; choose from {', '.join(METHODS[self.attack])}"
            )
        return self

    @property
    def attack_methods(self) -> list[Method]:
        return list(self.methods or METHODS[self.attack])

    @property
    def threshold(self) -> float:
        return self.max_advantage


class _ProbeCheck(_Check):
    probes: FileName | None = None
    """A JSONL file of further probes (the shipped corpus's format), relative to the plan."""

    @field_validator("probes")
    @classmethod
    def _jsonl(cls, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() != ".jsonl":
            raise ValueError(f"{value!r}: give a .jsonl file of probes")
        return value


class _AttackCheck(_ProbeCheck):
    max_success_rate: float = Field(ge=0.0, le=1.0)

    @property
    def threshold(self) -> float:
        return self.max_success_rate


class PromptInjectionCheck(_AttackCheck):
    kind: Literal["prompt_injection"]


class SystemPromptLeakageCheck(_AttackCheck):
    kind: Literal["system_prompt_leakage"]


class PiiLeakageCheck(_ProbeCheck):
    kind: Literal["pii_leakage"]
    max_rate: float = Field(ge=0.0, le=1.0)

    @property
    def threshold(self) -> float:
        return self.max_rate


QaMetric = Literal["exact_match", "containment", "token_f1", "supported"]


class QaQualityCheck(_Check):
    kind: Literal["qa_quality"]
    dataset: FileName
    """JSONL of questions and reference answers, relative to the plan."""
    metric: QaMetric
    min: float = Field(ge=0.0, le=1.0)

    @field_validator("dataset")
    @classmethod
    def _jsonl(cls, value: str) -> str:
        if Path(value).suffix.lower() != ".jsonl":
            raise ValueError(f"{value!r}: give a .jsonl file of questions and reference answers")
        return value

    @property
    def threshold(self) -> float:
        return self.min


ModelCheck = PerformanceCheck | FairnessCheck | RobustnessCheck | PrivacyCheck
EndpointCheck = PromptInjectionCheck | SystemPromptLeakageCheck | PiiLeakageCheck | QaQualityCheck
Check = Annotated[ModelCheck | EndpointCheck, Field(discriminator="kind")]
KINDS: tuple[str, ...] = tuple(
    get_args(check.model_fields["kind"].annotation)[0] for check in (*get_args(ModelCheck), *get_args(EndpointCheck))
)
"""Every check kind, in the order of the documentation (from the ``kind`` literals, so it cannot drift)."""


class EvaluationPlan(_Strict):
    apiVersion: Literal["ailab.eu/v1"]  # noqa: N815  (the document's own key)
    kind: Literal["EvaluationPlan"]
    metadata: Metadata
    target: Target
    dataset: Dataset | None = None
    """The rows model checks are measured on; an endpoint-only plan has none."""
    bootstrap: Bootstrap = Bootstrap()
    checks: list[Check] = Field(min_length=1, max_length=MAX_CHECKS)

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationPlan:
        seen: set[str] = set()
        for index, check in enumerate(self.checks):
            where = ("checks", index)
            if check.id in seen:
                raise LocatedError((*where, "id"), f"check id {check.id!r} appears twice; give each check its own id")
            seen.add(check.id)
            if isinstance(check, EndpointCheck):
                self._endpoint_check(where, check)
            else:
                self._model_check(where, check)
        if self.target.endpoint is not None and self.dataset is not None:
            raise LocatedError(("dataset",), "an endpoint target reads no dataset (qa_quality names its own); remove it")
        return self

    @property
    def model_checks(self) -> list[ModelCheck]:
        return [check for check in self.checks if isinstance(check, ModelCheck)]

    @property
    def endpoint_checks(self) -> list[EndpointCheck]:
        return [check for check in self.checks if isinstance(check, EndpointCheck)]

    @property
    def model_dataset(self) -> Dataset:
        """The dataset of a model plan (the validator made sure it has one)."""
        assert self.dataset is not None
        return self.dataset

    @property
    def endpoint(self) -> EndpointSettings:
        """The endpoint of an endpoint plan (the validator made sure it is there when endpoint checks are)."""
        assert self.target.endpoint is not None
        return self.target.endpoint

    def _endpoint_check(self, where: Loc, check: EndpointCheck) -> None:
        endpoint = self.target.endpoint
        if endpoint is None:
            raise LocatedError(
                (*where, "kind"), f"{check.kind} probes an LLM or RAG system: set target.endpoint, not target.model"
            )
        if isinstance(check, SystemPromptLeakageCheck) and endpoint.system_prompt is None:
            raise LocatedError(
                (*where, "kind"), "system_prompt_leakage places a canary in the system prompt: set target.endpoint.system_prompt"
            )
        if isinstance(check, QaQualityCheck) and check.metric == "supported" and endpoint.contexts_path is None:
            raise LocatedError(
                (*where, "metric"),
                "supported compares answers with the retrieved contexts: use api json with target.endpoint.contexts_path",
            )

    def _model_check(self, where: Loc, check: ModelCheck) -> None:
        if self.target.model is None:
            raise LocatedError((*where, "kind"), f"{check.kind} checks measure a model: set target.model, not target.endpoint")
        if self.dataset is None:
            raise LocatedError(("dataset",), f"{check.kind} checks need the rows to measure on: add dataset (path, label)")
        metric = getattr(check, "metric_name", None) or getattr(check, "metric", None)
        if metric and self.target.task not in BY_ID[metric].tasks:
            raise LocatedError((*where, "metric"), f"{metric} does not apply to {self.target.task}; see ailab eval checks")
        sensitive = check.sensitive_feature if isinstance(check, FairnessCheck | PrivacyCheck) else None
        if sensitive is not None and sensitive not in self.dataset.sensitive_features:
            raise LocatedError(
                (*where, "sensitive_feature"),
                f"{sensitive!r} is not in dataset.sensitive_features ({', '.join(self.dataset.sensitive_features) or 'none'}); add it there",
            )
        if isinstance(check, FairnessCheck | PrivacyCheck) and self.target.task is not Task.BINARY:
            raise LocatedError((*where, "kind"), f"{check.kind} checks need target.task {Task.BINARY}")
        if isinstance(check, RobustnessCheck) and check.perturbation == "evasion" and self.target.task is not Task.BINARY:
            raise LocatedError((*where, "perturbation"), f"evasion needs target.task {Task.BINARY}")
        if isinstance(check, PrivacyCheck) and self.dataset.train_path is None:
            raise LocatedError(
                (*where, "attack"), f"{check.attack.replace('_', ' ')} needs the training rows: set dataset.train_path"
            )

    def robustness_metric(self, check: RobustnessCheck) -> str:
        return check.metric or ("balanced_accuracy" if self.target.task is Task.BINARY else "rmse")


Loc = tuple[str | int, ...]


class LocatedError(ValueError):
    """A cross-field problem with the path of the key it concerns (relative to the plan)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan and where it came from."""

    plan: EvaluationPlan
    path: Path
    document: Document
    sha256: str

    def where(self, loc: Loc) -> str:
        """``file:line: plan.key`` of a key, for errors found later (against the data)."""
        return f"{self.document.source}:{self.document.line_of(loc)}: {render_path(loc)}"

    def model_uri(self) -> str:
        """The model's URI, a local directory resolved against the plan's folder."""
        model = self.plan.target.model
        assert model is not None  # a model plan
        return str(self.resolve(model)) if self.plan.target.is_local else model

    def resolve(self, relative: str) -> Path:
        if Path(relative).is_absolute():
            return Path(relative)
        try:
            return (self.path.parent / relative).resolve()
        except RuntimeError:  # a symbolic link loop (Python 3.11): reading the path then says so in one line
            return self.path.parent / relative


def render_path(loc: Loc) -> str:
    text = "plan"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def load_plan(path: Path) -> LoadedPlan:
    """Read, parse and validate a plan file; a problem raises one :class:`BadInputError` line per problem (at most 10)."""
    if path.exists() and not path.is_file() and not path.is_dir():
        raise BadInputError(f"{path}: not a regular file (a device or a pipe?); give the plan's YAML file")
    text = read_text(path, MAX_PLAN_BYTES)
    documents = load_yaml(text, str(path), max_bytes=MAX_PLAN_BYTES)
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise BadInputError(f"{path}: expected one YAML mapping (apiVersion: {API_VERSION}, kind: {KIND}, ...)")
    document = documents[0]
    return LoadedPlan(validate(document), path, document, hashlib.sha256(text.encode()).hexdigest())


def validate(document: Document) -> EvaluationPlan:
    try:
        return EvaluationPlan.model_validate(document.data)
    except ValidationError as err:
        lines = [f"{document.source}:{document.line_of(loc)}: {render_path(loc)}: {message}" for loc, message in _errors(err)]
        if len(lines) > 10:
            lines = [*lines[:10], f"... and {len(lines) - 10} more problems"]
        raise BadInputError("\n".join(lines)) from None


def _errors(err: ValidationError) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    for error in err.errors():
        loc = _without_tags(tuple(error["loc"]))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, LocatedError):
            found.append(((*loc, *cause.loc), cause.message))
            continue
        found.append((loc, _message(error, loc)))
    return found


_TAGS = set(KINDS)


def _without_tags(loc: Loc) -> Loc:
    """Drop the discriminator tag pydantic puts in the location of a check (``checks.0.fairness.max``)."""
    return tuple(part for position, part in enumerate(loc) if not (position == 2 and loc[0] == "checks" and part in _TAGS))


def _message(error: Any, loc: Loc) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}; see docs/eval-checks.md for the plan's keys"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing; add it"
    if kind == "union_tag_invalid":
        return f"kind must be one of {', '.join(KINDS)}"
    if kind == "union_tag_not_found":
        return f"each check needs a 'kind': one of {', '.join(KINDS)}"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    shown = error.get("input")
    if isinstance(shown, str | int | float | bool):
        return f"{shown!r} is not allowed: {message[0].lower()}{message[1:]}"
    return f"{message[0].lower()}{message[1:]}"
