"""The ``tsunagu`` command line (DATA_FORMATS §7 is its contract).

Exit codes: 0 success, 1 bad input (with ``FILE:ROW:COLUMN: reason`` lines on stderr),
2 misuse. ``--json`` output goes to stdout alone; progress and logs go to stderr.
Messages are Japanese unless ``--lang en`` or ``LANG=en_…``.

Every command runs inside the app made by :func:`web.create_app` (flaskr's pattern via
:class:`flask.cli.FlaskGroup`), so it shares the pages' configuration, database and
rules. One module per command group.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup

from web.cli import audit, data, db, maps, matching, merge, reports, serve, users, verification
from web.cli._common import (
    default_lang,
    install_click_translations,
    lang_from_args,
    lang_option,
    localise_help,
    set_argv_lang,
)

install_click_translations()


class TsunaguGroup(FlaskGroup):
    """The root group: notes ``--lang`` before parsing, so click's own usage errors
    ("Missing option", "No such command") and every command's ``--help`` come in the
    user's language too."""

    def main(self, args: Sequence[str] | None = None, *a: Any, **kw: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        set_argv_lang(argv)
        localise_help(self, lang_from_args(argv) or default_lang())
        return super().main(argv, *a, **kw)


def _cli_app() -> Flask:
    """The app for one command; its engine is closed when the command ends."""
    from web import create_app

    app = create_app(for_cli=True)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().call_on_close(app.extensions["db_engine"].dispose)
    return app


@click.group(
    cls=TsunaguGroup,
    create_app=_cli_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@lang_option
def main() -> None:
    """Tsunagu: the resource directory and matching for life support coordinators.

    The database is DATABASE_URL (when unset, the SQLite file in instance/).
    """


for _module in (db, data, matching, maps, reports, verification, merge, users, audit, serve):
    for _command in _module.COMMANDS:
        main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
