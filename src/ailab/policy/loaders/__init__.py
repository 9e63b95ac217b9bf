"""Input loaders: every format the engine reads becomes a list of :class:`~ailab.policy.model.Record`.

One module per format; each takes parsed JSON (or text, for manifests) and the name of the
source, and raises :class:`~ailab.errors.BadInputError` naming the source and the fix.
"""

from ailab.policy.loaders.files import (
    LoadedInputs,
    load_inputs,
    load_manifests,
    load_plan_file,
    load_preview_file,
    load_state_file,
)
from ailab.policy.loaders.manifests import records_from_manifest_text
from ailab.policy.loaders.plan import records_from_plan
from ailab.policy.loaders.preview import records_from_preview
from ailab.policy.loaders.state import records_from_state

__all__ = [
    "LoadedInputs",
    "load_inputs",
    "load_manifests",
    "load_plan_file",
    "load_preview_file",
    "load_state_file",
    "records_from_manifest_text",
    "records_from_plan",
    "records_from_preview",
    "records_from_state",
]
