"""The AWS half of the lab, built from pulumi-aws resources directly (no remote components).

:class:`~ailab.infra.aws.lab.AwsLab` composes one component per concern: keys (``kms``),
network, EKS cluster, node groups, add-ons, artifact bucket (``storage``), MLflow's database and
the IRSA role of MLflow's service account (``iam``). Each component takes a typed args
dataclass; physical names live in ``names`` and policy documents are built with ``policies``.
"""
