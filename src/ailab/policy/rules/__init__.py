"""The rule catalogue. Importing this package registers every rule (see ``ailab.policy.model``)."""
