"""``python -m web.cli``: the same as the ``tsunagu`` command."""

from web.cli import main

main()
