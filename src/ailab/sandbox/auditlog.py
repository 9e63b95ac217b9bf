"""The sandbox operations record to the lab's one audit trail, :mod:`ailab.trail`.

This module keeps the names the operations have always used (``AuditLog().append(...)``,
``actor()``); the trail itself (a signed Merkle log) lives in the bottom layer so that evaluation
and host operations record to the same log.
"""

from ailab.trail import AuditLog, actor, content_hash

__all__ = ["AuditLog", "actor", "content_hash"]
