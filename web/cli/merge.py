"""``tsunagu directory merge KEEP DROP``: one resource entered twice becomes one."""

from __future__ import annotations

import click

from web.cli._common import _, actor, as_option, database, describe, fail, lang_option
from web.cli.data import directory_group
from web.services import AccessDenied, NotFoundForActor


@directory_group.command("merge")
@click.argument("keep")
@click.argument("drop")
@lang_option
@as_option
def directory_merge(keep: str, drop: str) -> None:
    """Merge the resource DROP into KEEP (IDs): DROP's referrals move to KEEP (their
    timelines whole), DROP is ended with a note naming KEEP, both histories record it.
    Nothing is deleted. `directory duplicates` suggests the pairs."""
    from web.merge import AlreadyEndedError, SameResourceError, merge_resources

    try:
        result = merge_resources(database(), actor(), keep, drop)
    except SameResourceError:
        fail(_(SameResourceError.message), code=2)
    except AlreadyEndedError as exc:
        fail(_(AlreadyEndedError.message, resource=exc))
    except NotFoundForActor as exc:
        fail(_("no resource with ID {id}", id=exc))
    except AccessDenied as exc:
        fail(describe(exc))
    click.echo(
        _(
            "{drop} merged into {keep}: {moved} referrals moved, {joined} joined one "
            "{keep} already had",
            drop=drop,
            keep=keep,
            moved=result.moved,
            joined=result.joined,
        ),
        err=True,
    )


COMMANDS = ()
