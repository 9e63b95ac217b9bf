"""The lab's one audit trail: a signed, timestamped, append-only Merkle log (a bottom layer).

It imports only the bottom modules (errors, home, fsio) and libraries, so sandbox, evaluation and
host operations all record to it. See docs/audit-trail.md.
"""

from ailab.trail.log import AuditLog, Entry, Problem, TrailBrokenError, Verification, content_hash
from ailab.trail.records import actor

__all__ = ["AuditLog", "Entry", "Problem", "TrailBrokenError", "Verification", "actor", "content_hash"]
