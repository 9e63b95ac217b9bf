"""Data-plane services the sandboxes use: MLflow (experiments, users, permissions) and Qdrant
(collections, scoped tokens), usable directly and as Pulumi dynamic providers.

``ailab.services.mlflow`` and ``ailab.services.qdrant`` are the entry points;
``ailab.services.credentials`` keeps generated passwords in 0600 files under ailab's data dir.
"""
