"""The membership inference privacy check (IBM ART), rule-based and black-box.

Members are rows of the training data, non-members rows of the evaluation data (which must not
overlap the training data). The advantage of an attack is its true-positive rate minus its
false-positive rate on those rows (0: the model's answers reveal nothing about membership);
the check takes the largest advantage of the methods it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailab.eval.measure import Context, Measured
from ailab.eval.plan import PrivacyCheck
from ailab.eval.stats import bootstrap, interval

if TYPE_CHECKING:
    import numpy as np


def measure(context: Context, check: PrivacyCheck) -> Measured:
    import numpy as np
    import pandas as pd
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox, MembershipInferenceBlackBoxRuleBased
    from art.estimators.classification import BlackBoxClassifier

    train = context.data.train
    assert train is not None and context.data.y_train is not None  # the plan requires train_path
    columns = context.model.input_columns
    inputs = [frame[columns] for frame in (train.frame, context.frame)]
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(inputs[0][c])]
    if text:
        return Measured(None, reason=f"the attack needs numeric model inputs; these are not: {', '.join(text[:5])}")
    rng = np.random.default_rng(context.seed)
    size = min(check.sample, len(train.frame), len(context.frame))
    member_rows = rng.choice(len(train.frame), size, replace=False)
    other_rows = rng.choice(len(context.frame), size, replace=False)
    x_in = inputs[0].to_numpy(dtype=np.float64)[member_rows]
    x_out = inputs[1].to_numpy(dtype=np.float64)[other_rows]
    y_in = context.data.y_train[member_rows].astype(np.int64)
    y_out = context.y[other_rows].astype(np.int64)

    def answers(x: np.ndarray) -> np.ndarray:
        return context.answers(pd.DataFrame(x, columns=columns))

    classifier = BlackBoxClassifier(answers, input_shape=(len(columns),), nb_classes=2)
    guesses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if "rule_based" in check.attack_methods:
        rule = MembershipInferenceBlackBoxRuleBased(classifier)
        guesses["rule_based"] = (rule.infer(x_in, y_in).ravel(), rule.infer(x_out, y_out).ravel())
    if "black_box" in check.attack_methods:
        half = size // 2
        attack = MembershipInferenceBlackBox(classifier, input_type="prediction", attack_model_type="rf")
        attack.attack_model.set_params(random_state=context.seed)  # ART builds it unseeded: the run must be repeatable
        attack.fit(x_in[:half], y_in[:half], x_out[:half], y_out[:half])
        guesses["black_box"] = (attack.infer(x_in[half:], y_in[half:]).ravel(), attack.infer(x_out[half:], y_out[half:]).ravel())
    advantages = {method: float(inside.mean() - outside.mean()) for method, (inside, outside) in guesses.items()}
    strongest = max(advantages, key=lambda method: advantages[method])
    inside, outside = guesses[strongest]
    membership = np.concatenate([np.ones(len(inside)), np.zeros(len(outside))])
    guessed = np.concatenate([inside, outside]).astype(np.float64)

    def advantage(weights: np.ndarray) -> float:
        members = float(np.sum(weights * membership))
        others = float(np.sum(weights * (1 - membership)))
        if members == 0 or others == 0:
            return float("nan")
        return (
            float(np.sum(weights * membership * guessed)) / members - float(np.sum(weights * (1 - membership) * guessed)) / others
        )

    bounds = interval(
        bootstrap(len(membership), {"advantage": advantage}, context.plan.bootstrap.samples, context.seed)["advantage"],
        context.plan.bootstrap.confidence,
    )
    details: dict[str, Any] = {
        "advantages": advantages,
        "strongest": strongest,
        "records_per_side": size,
        "train_accuracy": float(np.mean(answers(x_in).argmax(axis=1) == y_in)),
        "test_accuracy": float(np.mean(answers(x_out).argmax(axis=1) == y_out)),
    }
    return Measured(advantages[strongest], interval=bounds, details=details)
