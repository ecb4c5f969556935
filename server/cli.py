"""Operator commands on Flask's CLI: `flask --app server ...`."""

import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .audit.cli import export_command, verify_command
from .auth.models import Credentials
from .kernel.errors import DomainError
from .photos.cli import photos_cli


def _validated(username, password):
    try:
        return Credentials(username=username, password=password)
    except Exception as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("create-admin")
@click.argument("username")
@with_appcontext
def create_admin_command(username):
    """Create USERNAME as an admin, or promote the existing user."""
    auth = current_app.extensions["auth"]
    password = os.environ.get("ADMIN_PASSWORD")
    existing, _ = auth.find_user_by_username(username.lower())
    if existing is None and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    creds = _validated(username, password or "placeholder-unused")
    try:
        user_id, created = auth.create_admin(creds.username, password if existing is None else None)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{'created' if created else 'promoted'} admin {creds.username} ({user_id})")


users_cli = AppGroup("users", help="Checks on stored users.")


@users_cli.command("check-names")
@with_appcontext
def check_names_command():
    """List users whose username breaks the rule (e.g. a trailing newline taken before
    the whole-string check); exit status 1 when there is any."""
    unfit = current_app.extensions["auth"].unfit_usernames()
    for user_id, name in unfit:
        click.echo(f"{user_id}\t{name!r}")
    click.echo(f"{len(unfit)} unfit username(s)", err=True)
    if unfit:
        raise SystemExit(1)


audit_cli = AppGroup("audit", help="Query, verify and export the audit trail.")
audit_cli.add_command(verify_command)
audit_cli.add_command(export_command)


def init_app(app):
    app.cli.add_command(create_admin_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(photos_cli)
