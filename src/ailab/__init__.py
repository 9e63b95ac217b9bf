"""ailab: the AI Lab of a European data-protection supervisor, as code.

The package is layered (see ``DESIGN.md``): ``cli`` on top, then the feature
packages (``sandbox``, ``policy``, ``plan``, ``hosts``, ``gpu``), then ``infra``
and ``services``, with ``spec`` at the bottom. Imports only point downward.
"""

__version__ = "0.1.0"
