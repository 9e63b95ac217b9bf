"""RFC 9162 hashing and proofs against the RFC 6962 reference tree (the 8 leaves CT's reference code and
transparency-dev/merkle test with), plus every proof of every small tree checked by the verifiers."""

from __future__ import annotations

import pytest

from ailab.trail import merkle

LEAVES = [
    bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]

ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (0-based leaf index, tree size, audit path)
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip

HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    assert merkle.root(HASHES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    proof = merkle.inclusion_proof(index, HASHES[:size])
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert merkle.verify_inclusion(index, size, HASHES[index], proof, root)
    assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"forged"), proof, root)
    assert not merkle.verify_inclusion(index ^ 1 if size > 1 else index + 1, size, HASHES[index], proof, root)
    assert not merkle.verify_inclusion(index, size * 2, HASHES[index], proof, root)
    assert not merkle.verify_inclusion(index, size, HASHES[index], [*proof, bytes(32)], root)
    if proof:
        assert not merkle.verify_inclusion(index, size, HASHES[index], proof[:-1], root)
        flipped = bytes([proof[0][0] ^ 1]) + proof[0][1:]
        assert not merkle.verify_inclusion(index, size, HASHES[index], [flipped, *proof[1:]], root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_reference_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    proof = merkle.consistency_proof(old, HASHES[:new])
    assert [p.hex() for p in proof] == path
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    if old != new:
        assert not merkle.verify_consistency(old, new, new_root, old_root, proof)  # swapped roots
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])  # truncated
        assert not merkle.verify_consistency(old, new, old_root, new_root, [*proof, bytes(32)])  # trailing garbage
        assert not merkle.verify_consistency(old, new, old_root, new_root, [bytes(32), *proof])  # preceding garbage
        assert not merkle.verify_consistency(old, new, old_root, new_root, [])  # empty
        assert not merkle.verify_consistency(old + 1, new, old_root, new_root, proof)
        assert not merkle.verify_consistency(old, new * 2, old_root, new_root, proof)


def test_equal_and_degenerate_sizes() -> None:
    root = bytes.fromhex(ROOTS[0])
    assert merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(1, 1, root, bytes(32), [])
    assert not merkle.verify_consistency(1, 1, root, root, [root])
    assert not merkle.verify_consistency(0, 1, merkle.EMPTY_ROOT, root, [root])
    assert not merkle.verify_consistency(2, 1, root, root, [root])


def test_every_proof_of_every_tree_up_to_40_verifies() -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(40)]
    for size in range(1, 41):
        root = merkle.root(hashes[:size])
        for index in range(size):
            assert merkle.verify_inclusion(index, size, hashes[index], merkle.inclusion_proof(index, hashes[:size]), root)
        for old in range(1, size + 1):
            old_root = merkle.root(hashes[:old])
            assert merkle.verify_consistency(old, size, old_root, root, merkle.consistency_proof(old, hashes[:size]))
