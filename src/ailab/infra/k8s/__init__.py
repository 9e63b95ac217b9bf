"""The Kubernetes platform layer of the lab, the same on both targets (EKS and an on-premises cluster).

:class:`~ailab.infra.k8s.platform.LabPlatform` composes one component per concern: namespaces
with quotas, the NVIDIA GPU operator, MLflow (and its in-cluster PostgreSQL on-premises), Qdrant,
network policies, the personas' RBAC and the optional ingress. Every resource goes through the
Kubernetes provider the program passes in ``opts.providers``.
"""
