"""Evaluation runs: a plan of thresholded checks, declared before the run, applied to a model under audit.

``plan`` reads and validates the plan, ``catalogue`` says what each check measures and which
article it serves, ``data`` and ``target`` read the dataset and the model, the families
(``performance``, ``fairness``, ``robustness``, ``privacy``) compute values with bootstrap
intervals, ``runner`` judges them against the thresholds, ``tracking`` records the run in the
audit's MLflow experiment and ``report`` writes it for people.

Heavy libraries (pandas, scikit-learn, fairlearn, ART, matplotlib, MLflow) are imported inside
functions: this package must not slow ``ailab --help``. It imports neither ``ailab.infra`` nor
``ailab.sandbox``.
"""
