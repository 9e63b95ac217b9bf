"""Evidence bundles: one audit's signed records, their proofs and what they produced, as a BagIt bag a reviewer checks offline."""
