"""Qdrant for the sandboxes: collection-scoped JWTs and the ``AuditCollection`` dynamic resource.

Collection operations live in :mod:`ailab.services.qdrant.collections`, which imports
qdrant-client (over a second to import) and so is not imported here.
"""

from ailab.services.qdrant.resource import AuditCollection, AuditCollectionProvider
from ailab.services.qdrant.tokens import CollectionAccess, TokenClaims, collection_token, verify_collection_token

__all__ = [
    "AuditCollection",
    "AuditCollectionProvider",
    "CollectionAccess",
    "TokenClaims",
    "collection_token",
    "verify_collection_token",
]
