"""`flask --app server audit verify` and `flask --app server audit export`."""

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from pydantic import ValidationError

from .export import export_lines
from .models import AuditQuery, parse_rfc3339
from .verify import MAX_PROBLEMS


class ProgressLines:
    """Verifier progress as a line on stderr every few seconds and at the end of each phase."""

    def __init__(self, interval=2.0):
        self.interval = interval
        self.started = self.last = time.monotonic()

    def __call__(self, phase, done, total, final):
        now = time.monotonic()
        if not final and now - self.last < self.interval:
            return
        self.last = now
        of = f"/{total} ({100 * done / total:.0f}%)" if total else ""
        click.echo(f"audit verify: {phase}: {done}{of}{' done' if final else ''}, "
                   f"{now - self.started:.1f}s", err=True)


@click.command("verify")
@click.option("--progress/--no-progress", default=None,
              help="Progress lines on stderr (default: only when stderr is a terminal).")
@click.option("--max-problems", type=click.IntRange(0, 1_000_000), default=MAX_PROBLEMS, show_default=True,
              help="How many problems to list; all are counted.")
@with_appcontext
def verify_command(progress, max_problems):
    """Verify hash chains, balances, transfers and ledger audit events; exit 1 on any problem."""
    if progress is None:
        progress = click.get_text_stream("stderr").isatty()
    report = current_app.extensions["audit"].verify(max_problems=max_problems,
                                                    progress=ProgressLines() if progress else None, by="cli")
    click.echo(json.dumps(report, indent=2))
    raise SystemExit(0 if report["ok"] else 1)


def _time_option(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.command("export")
@click.option("--since", callback=_time_option, help="RFC 3339; events at or after this time.")
@click.option("--until", callback=_time_option, help="RFC 3339; events strictly before this time.")
@click.option("--action", help="Only this action, e.g. transfer.create.")
@click.option("--actor", help="Only this actor: a username or a user id.")
@click.option("--target", help="Only this target, e.g. transfers/ID.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@with_appcontext
def export_command(since, until, action, actor, target, fmt):
    """Write audit events to stdout, streamed page by page: oldest first, or with --action,
    --actor or --target newest first (as the console's export, which the list's indexes serve)."""
    if since and until and since >= until:
        raise click.BadParameter("--since must be before --until")
    service = current_app.extensions["audit"]
    if action or actor or target:
        try:
            query = AuditQuery(action=action, actor=actor, target=target, since=since, until=until)
        except ValidationError as exc:
            raise click.BadParameter(exc.errors()[0]["msg"]) from None
        events = service.export_filtered(query)
    else:
        events = service.export(since, until)
    out = click.get_text_stream("stdout")
    count = 0

    def counted():
        nonlocal count
        for event in events:
            count += 1
            yield event

    for chunk in export_lines(counted(), fmt):
        out.write(chunk)
    out.flush()
    click.echo(f"audit export: {count} event(s)", err=True)
