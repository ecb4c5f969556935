"""`flask --app server photos verify`: Firestore documents and Cloud Storage objects agree;
`flask --app server photos relabel [--all]`: machine labels for stored photos."""

import datetime as dt
import json

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

photos_cli = AppGroup("photos", help="Check the photos' stored objects; (re)label them.")


@photos_cli.command("verify")
@click.option("--grace-seconds", type=click.IntRange(0), default=600, show_default=True,
              help="Objects younger than this that no photo names yet are uploads in flight, not problems.")
@click.option("--delete-orphans", is_flag=True,
              help="Delete the objects that no photo names (older than the grace period).")
@with_appcontext
def verify_command(grace_seconds, delete_orphans):
    """List objects without a photo document and photo documents without their objects; exit 1 on any."""
    report = current_app.extensions["photos"].verify(grace=dt.timedelta(seconds=grace_seconds),
                                                     delete_orphans=delete_orphans)
    click.echo(json.dumps(report, indent=2))
    raise SystemExit(0 if report["ok"] else 1)


@photos_cli.command("relabel")
@click.option("--all", "everything", is_flag=True,
              help="Label every photo again (default: only those without labels, e.g. stored before labels).")
@with_appcontext
def relabel_command(everything):
    """Run the labeller on stored photos and store their labels; exit 1 when any could not be labelled."""
    report = current_app.extensions["photos"].relabel(everything=everything)
    click.echo(json.dumps(report, indent=2))
    raise SystemExit(1 if report["failed"] else 0)
