"""ailab: the AI Lab of a European data-protection supervisor, as code.

The package is layered (see ``docs/architecture.md``): ``cli`` on top, then the feature
packages (``sandbox``, ``policy``, ``plan``, ``hosts``, ``gpu``), then ``infra``
and ``services``, then ``spec``, with the bottom modules (``errors``, ``home``, ``fsio``,
``safeload``, ``formats``, ``spec.constants``) below. Imports only point downward.
"""

__version__ = "0.1.0"
