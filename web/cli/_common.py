"""What every ``tsunagu`` command shares: language, failing with a message, the actor,
the app's database.

Commands run inside the app factory (flaskr's pattern, through :class:`flask.cli.FlaskGroup`),
so the CLI and the pages share configuration, database and rules.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar, NoReturn, TypeVar

import click

from directory.errors import DirectoryError
from directory.i18n import LANGUAGES, N_, translate, translations
from directory.schema import SchemaError
from web.actors import Actor, system_actor
from web.db import Database, get_db

F = TypeVar("F", bound=Callable[..., Any])
_LANG_KEY = "tsunagu.lang"
_ACTOR_KEY = "tsunagu.as"
#: ``--lang`` as found on the command line before click parses it, so click's own usage
#: errors (raised before or after any context holds it) are worded in that language.
_ARGV_LANG: ContextVar[str | None] = ContextVar("tsunagu_argv_lang", default=None)


def default_lang() -> str:
    env = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    return "en" if env.lower().startswith("en") else "ja"


def lang_from_args(args: Sequence[str]) -> str | None:
    """The value of ``--lang`` (or ``--lang=…``) in ``args``, if it is a language we have."""
    for i, arg in enumerate(args):
        value = None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value in LANGUAGES:
            return value
    return None


def set_argv_lang(args: Sequence[str]) -> None:
    _ARGV_LANG.set(lang_from_args(args))


def lang_option(func: F) -> F:
    """``--lang ja|en`` on every command, so it may follow the arguments as users type it."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.meta[_LANG_KEY] = value

    return click.option(
        "--lang",
        type=click.Choice(["ja", "en"]),
        expose_value=False,
        callback=store,
        is_eager=True,
        help="Message language (ja or en).",
    )(func)


def lang() -> str:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and _LANG_KEY in ctx.meta:
        return str(ctx.meta[_LANG_KEY])
    return _ARGV_LANG.get() or default_lang()


def _(msgid: str, /, **params: Any) -> str:
    """``msgid`` (English) from the catalogue in the command's language, filled in."""
    return translate(msgid, lang(), **params)


def _click_gettext(message: str) -> str:
    return translations(lang()).gettext(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(lang()).ngettext(singular, plural, n)


def install_click_translations() -> None:
    """Word click's own messages (usage errors, ``--help``) from our catalogue.

    click wraps them in the stdlib ``gettext``/``ngettext`` imported into each of its
    modules (``from gettext import gettext as _``); those names are rebound to functions
    that read the catalogue in the command's language. Idempotent.
    """
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types
    import click.utils

    for module in (
        click.core,
        click.decorators,
        click.exceptions,
        click.formatting,
        click.parser,
        click.termui,
        click.types,
        click.utils,
    ):
        if getattr(module, "_", None) in (stdlib_gettext.gettext, _click_gettext):
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) in (stdlib_gettext.ngettext, _click_ngettext):
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


#: Where a help text's msgid is kept on a command or parameter once it is localised.
_HELP_MSGIDS = "_tsunagu_help_msgids"


def _ours(command: click.Command) -> bool:
    """A command of this package (not one a Flask extension's entry point adds)."""
    callback = command.callback
    return callback is None or str(getattr(callback, "__module__", "")).startswith("web.")


def _help_holders(command: click.Command) -> Iterator[click.Command | click.Parameter]:
    """The command, its parameters and every subcommand's, depth first."""
    yield command
    yield from command.params
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            if _ours(command.commands[name]):
                yield from _help_holders(command.commands[name])


def _help_of(holder: click.Command | click.Parameter) -> dict[str, str]:
    """The English help texts (msgids) of a command or parameter, as first written: a
    docstring or ``help="…"``, tidied the way click shows it (``inspect.cleandoc``)."""
    found = holder.__dict__.get(_HELP_MSGIDS)
    if found is None:
        found = {}
        for attr in ("help", "short_help"):
            text = getattr(holder, attr, None)
            if isinstance(text, str) and text.strip():
                found[attr] = inspect.cleandoc(text)
        holder.__dict__[_HELP_MSGIDS] = found
    return found


def help_msgids(root: click.Command) -> list[str]:
    """Every help text of the command tree (for ``scripts/update_catalogue.py``)."""
    return list(
        dict.fromkeys(text for holder in _help_holders(root) for text in _help_of(holder).values())
    )


def localise_help(root: click.Command, lang: str) -> None:
    """Word every command's and option's help in ``lang`` (``tsunagu --help``, ``tsunagu
    import resources --help``): the code keeps English docstrings and ``help="…"`` (the
    catalogue's msgids); the root group calls this before parsing, once it knows the
    language. The msgids are kept on each object, so a later call in another language
    (tests run many commands in one process) words them again from the English."""
    for holder in _help_holders(root):
        if isinstance(holder, click.Command):
            # click builds each command's --help option once and keeps it; drop it so it
            # is built again with its text ("Show this message and exit.") in this language
            holder._help_option = None
        for attr, msgid in _help_of(holder).items():
            # msgids are str.format templates like every other: {{ }} for a literal brace
            text = translate(msgid, lang).replace("{{", "{").replace("}}", "}")
            setattr(holder, attr, text)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def describe(exc: BaseException) -> str:
    """A library error as the user's language has it (never a traceback)."""
    describe_ = getattr(exc, "describe", None)
    if callable(describe_):
        return str(describe_(lang()))
    return str(exc)


def database() -> Database:
    """The app's database, refusing one that is not at the migration head."""
    db = get_db()
    try:
        db.require_current()
    except SchemaError as exc:
        fail(describe(exc))
    return db


def as_option(func: F) -> F:
    """``--as LOGIN``: act as that account (its role and areas), not as the system."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.meta[_ACTOR_KEY] = value

    return click.option(
        "--as",
        "as_login",
        expose_value=False,
        callback=store,
        metavar="LOGIN",
        help="Act as this account (within its role and areas).",
    )(func)


def actor() -> Actor:
    """The actor of this command: ``--as LOGIN``, else the named system actor."""
    from web.accounts import actor_for, find_user

    ctx = click.get_current_context(silent=True)
    login = ctx.meta.get(_ACTOR_KEY) if ctx is not None else None
    if not login:
        return system_actor("cli")
    with get_db().read() as session:
        user = find_user(session, str(login))
        if user is None or user.disabled:
            fail(_("--as: no active account {login}", login=login), code=2)
        return actor_for(user)


def fail_on(exc: DirectoryError | PermissionError | LookupError) -> NoReturn:
    fail(describe(exc))


def json_option(
    help_text: str = "Write the result to standard output as JSON.",
) -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def on_option(func: F) -> F:
    return click.option(
        "--on",
        "on",
        type=click.DateTime(["%Y-%m-%d"]),
        default=None,
        help="Judge by the schedules of the 4 weeks from this day (default: today).",
    )(func)


class ProgressBar:
    """Progress bars on stderr for long work — imports, exports, matching — only when a
    person is watching (a terminal) and the work is long enough to wait for."""

    LABELS: ClassVar[dict[str, str]] = {
        "check": N_("checking"),
        "write": N_("writing"),
        "match": N_("matching"),
    }

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.enabled = sys.stderr.isatty()

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled or total < 2000:
            return
        bar = self.bars.get(step)
        if bar is None:
            label = self.LABELS.get(step)
            bar = click.progressbar(
                length=total, label=_(label) if label else step, file=sys.stderr
            )
            bar.__enter__()
            self.bars[step] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)
