"""The rule catalogue. Importing this package registers every rule (see ``ailab.policy.model``).

One module per theme; ``helpers`` holds the accessors they share and ``controls`` the control
mappings they cite. Rule ids are stable forever: a retired rule keeps its id unused.
"""

from ailab.policy.rules import (  # noqa: F401  (imported to register their rules)
    api_versions,
    audit_logging,
    deployability,
    encryption,
    exposure,
    governance,
    iam,
    labelling,
    network,
    pod_security,
    rbac,
    residency,
    retention,
    service_endpoints,
    services,
    supply_chain,
)
