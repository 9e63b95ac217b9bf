"""Per-audit sandboxes: the ``AuditSandbox`` program, its offline plan and policy gate, the lifecycle
through the Pulumi Automation API (create, extend, destroy, reap), per-sandbox locks, the local
index of sandboxes and the tamper-evident audit log.
"""
