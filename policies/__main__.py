"""Entry point of the ailab CrossGuard policy pack; Pulumi runs it as the analyzer plugin.

Constructing ``PolicyPack`` starts the analyzer's gRPC server and never returns, so it happens
here alone; the policies themselves come from :mod:`ailab.policy.crossguard`, which is
importable and unit-tested.
"""

from pulumi_policy import PolicyPack

from ailab.policy.crossguard import build_policies

PolicyPack(
    name="ailab",
    policies=build_policies(),
    description="ailab rules for the AI Lab, mapped to EU regulation and security standards.",
    display_name="ailab AI Lab policies",
    tags=["eudpr", "gdpr", "ai-act", "iso27001", "kubernetes", "aws"],
)
