"""``python -m ailab`` is the ``ailab`` command."""

from ailab.cli.app import main

main()
