"""Evaluation plans run as Kubernetes Jobs in an audit's sandbox (``ailab eval run PLAN --stack LAB``).

:mod:`.bundle` gathers what the Job mounts, :mod:`.endpoint` decides where an endpoint plan's Job may
connect to the system under audit, :mod:`.program` builds the Job and its fences as a
Pulumi program (planned offline and gated like a sandbox), :mod:`.submit` deploys it with the
Automation API and reads the result back. The evaluation itself is ``ailab.eval``'s, run inside
the Job by the runner image (``docker/eval-runner``); the CLI composes the two.
"""
