"""Policy as code: rules mapped to EU regulation and standards, checked on any input format.

Knows nothing of ``ailab.infra`` or ``ailab.sandbox``: it works on generic resource records.
"""
