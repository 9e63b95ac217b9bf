"""The attribute inference privacy check (IBM ART): do the model's answers tell an attacker the sensitive attribute
of a training record beyond what the record's other features already tell?

Half of a sample of training rows, with their attribute, teach two attackers the same kind of model: ART's
black-box attack, which also sees the model's decision on each record, and ART's baseline, which sees the other
features only. Both then guess the attribute of the other half. The advantage is the attack's accuracy minus the
baseline's (0: the answers add nothing); the check takes the largest advantage of the methods it runs.

The usual case is a model that never received the attribute: it can still encode it, through proxies, in its
answers, and that is the leakage measured. So the attacker's matrix always carries the attribute, as its last
column, whether or not the model reads it: ART learns that column and removes it from what its attack model sees,
and the model under audit is handed its own input columns only (the attribute decoded to its values when it is one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailab.eval.measure import Context, Measured
from ailab.eval.plan import PrivacyCheck
from ailab.eval.stats import mean_interval

if TYPE_CHECKING:
    import numpy as np

ART_MODEL = {"random_forest": "rf", "logistic_regression": "lr"}
"""ART's ``attack_model_type`` of each method."""


def measure(context: Context, check: PrivacyCheck) -> Measured:
    import numpy as np
    import pandas as pd
    from art.attacks.inference.attribute_inference import AttributeInferenceBaseline, AttributeInferenceBlackBox
    from art.estimators.classification import BlackBoxClassifier
    from sklearn.preprocessing import StandardScaler

    train = context.data.train
    sensitive = check.sensitive_feature
    assert train is not None and sensitive is not None  # the plan requires both for this attack
    others = [column for column in context.model.input_columns if column != sensitive]
    text = [column for column in others if not pd.api.types.is_numeric_dtype(train.frame[column])]
    if text:
        return Measured(None, reason=f"the attack needs numeric model inputs; these are not: {', '.join(text[:5])}")
    codes, values = pd.factorize(train.frame[sensitive], sort=True, use_na_sentinel=False)
    rng = np.random.default_rng(context.seed)
    size = min(check.sample, len(train.frame))
    rows = rng.choice(len(train.frame), size, replace=False)
    matrix = np.column_stack([train.frame[others].to_numpy(dtype=np.float64)[rows], codes[rows].astype(np.float64)])
    half = size // 2
    known, attacked = matrix[:half], matrix[half:]
    if len(np.unique(known[:, -1])) < 2:
        return Measured(
            None, reason=f"the {half} training records the attackers learn from hold one value of {sensitive}; raise sample"
        )
    truth = attacked[:, -1]
    target = matrix.shape[1] - 1

    def answers(x: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(x[:, :-1], columns=others)
        if sensitive in context.model.input_columns:
            frame[sensitive] = values.to_numpy()[x[:, -1].astype(np.intp)]  # its own values and type, as the model knows it
        return context.answers(frame)

    classifier = BlackBoxClassifier(answers, input_shape=(matrix.shape[1],), nb_classes=2)
    # The attacker sees the model's decision on each record it attacks, as ART's attack saw them while learning.
    decided = answers(attacked).argmax(axis=1).reshape(-1, 1).astype(np.float64)
    # ART's attack standardises what it learns from, its baseline does not: standardise the baseline's features
    # too, or a logistic regression baseline would be handicapped and the advantage overstated.
    scaler = StandardScaler().fit(known[:, :-1])
    correct: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for method in check.attack_methods:
        attack = AttributeInferenceBlackBox(classifier, attack_model_type=ART_MODEL[method], attack_feature=target)
        baseline = AttributeInferenceBaseline(attack_model_type=ART_MODEL[method], attack_feature=target)
        for learner in (attack.attack_model, baseline.attack_model):
            learner.set_params(random_state=context.seed)  # ART builds them unseeded: the run must be repeatable
        attack.fit(known)
        baseline.fit(np.column_stack([scaler.transform(known[:, :-1]), known[:, -1]]))
        guessed = attack.infer(attacked[:, :-1], pred=decided).ravel()
        guessed_alone = baseline.infer(scaler.transform(attacked[:, :-1])).ravel()
        correct[method] = ((guessed == truth).astype(np.float64), (guessed_alone == truth).astype(np.float64))
    advantages = {method: float(hits.mean() - alone.mean()) for method, (hits, alone) in correct.items()}
    strongest = max(advantages, key=lambda method: advantages[method])
    gain = correct[strongest][0] - correct[strongest][1]

    bounds = mean_interval(gain, context.plan.bootstrap.samples, context.seed, context.plan.bootstrap.confidence)
    details: dict[str, Any] = {
        "sensitive_feature": sensitive,
        "advantages": advantages,
        "strongest": strongest,
        "attack_accuracy": {method: float(hits.mean()) for method, (hits, _) in correct.items()},
        "baseline_accuracy": {method: float(alone.mean()) for method, (_, alone) in correct.items()},
        "majority_rate": float(np.bincount(truth.astype(np.intp)).max() / len(truth)),
        "records_known": half,
        "records_attacked": len(truth),
        "attribute_in_model_inputs": sensitive in context.model.input_columns,
    }
    return Measured(advantages[strongest], interval=bounds, details=details)
