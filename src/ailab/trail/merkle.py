"""RFC 9162 (Certificate Transparency 2.0) Merkle trees: hashes, inclusion and consistency proofs.

A leaf hashes as SHA-256(0x00 || data) and an interior node as SHA-256(0x01 || left || right),
so a leaf can never pass for a node. The tree over n leaves splits at the largest power of two
below n (a left-balanced tree). Proof generation and verification follow RFC 9162 §2.1.3 and
§2.1.4 step by step; the verifiers take only sizes, hashes and a proof, as an outside reviewer has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, level by level (pairing left to right and lifting an odd last node is the same tree)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    sha = hashlib.sha256
    while len(level) > 1:
        paired = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the audit path of leaf ``index``, bottom up."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    proof: list[bytes] = []
    low, high = 0, len(leaves)
    siblings: list[tuple[int, int]] = []
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            siblings.append((low + k, high))
            high = low + k
        else:
            siblings.append((low, low + k))
            low = low + k
    for start, end in reversed(siblings):
        proof.append(root(leaves[start:end]))
    return proof


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: that the first ``old_size`` leaves' tree is a prefix of this one."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to {len(leaves)}")
    return _subproof(old_size, leaves, 0, len(leaves), True)


def _subproof(m: int, leaves: Sequence[bytes], low: int, high: int, complete: bool) -> list[bytes]:
    size = high - low
    if m == size:
        return [] if complete else [root(leaves[low:high])]
    k = _split(size)
    if m <= k:
        return [*_subproof(m, leaves, low, low + k, complete), root(leaves[low + k : high])]
    return [*_subproof(m - k, leaves, low + k, high, False), root(leaves[low : low + k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` of the tree of ``size`` with ``expected_root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the tree (old_size, old_root) is a prefix of (new_size, new_root)?"""
    if old_size < 0 or new_size < old_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return False  # every tree extends the empty one; a proof here is meaningless (RFC 9162 needs 0 < first)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
