"""kpi users: accounts, roles, org units, passwords, unlocking."""

from __future__ import annotations

import sys

import click

from kpi_core.auth import users as users_mod
from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.model.access import require


@main.group("users")
def users_group() -> None:
    """Local users, their roles and org units (admins only)."""


def _read_password(password_stdin: bool, name: str) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask for the password: pipe it with --password-stdin")
    return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


def _user_row(u) -> dict:
    return {"name": u.name, "role": u.role, "orgs": list(u.orgs), "email": u.email, "active": u.active,
            "password": u.has_password}


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "executive", "manager", "team_lead", "employee"]), required=True)
@click.option("--org", "orgs", multiple=True, help="An org unit the user belongs to (repeat for more).")
@click.option("--email", help="Their identity at the company's OIDC provider, for single sign-on.")
@click.option("--display-name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of asking.")
@click.option("--no-password", is_flag=True, help="No local password (single sign-on only).")
@format_option
@click.pass_context
def users_add(ctx, name, role, orgs, email, display_name, password_stdin, no_password) -> None:
    """Add a user; asks for their password (there is no default one)."""
    require(actor_of(ctx), "users")
    password = None if no_password else _read_password(password_stdin, name)
    u = users_mod.add(warehouse_of(ctx), name, role, orgs=orgs, password=password, email=email,
                      display_name=display_name, by=actor_of(ctx))
    emit(ctx, _user_row(u), f"user {u.name} added ({u.role}{' of ' + ', '.join(u.orgs) if u.orgs else ''})")


@users_group.command("list")
@format_option
@click.pass_context
def users_list(ctx) -> None:
    require(actor_of(ctx), "users")
    rows = [_user_row(u) for u in users_mod.list_users(warehouse_of(ctx))]
    emit(ctx, rows, "\n".join(f"{r['name']:<16} {r['role']:<10} {'active' if r['active'] else 'disabled':<9} "
                               f"{','.join(r['orgs']):<24} {r['email'] or ''}" for r in rows) or "(no users)")


@users_group.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "executive", "manager", "team_lead", "employee"]))
@click.option("--org", "orgs", multiple=True, help="Replace the user's org units (repeat for more).")
@click.option("--email")
@click.option("--disable", "active", flag_value=False, default=None, help="Refuse their sign-ins from now on.")
@click.option("--enable", "active", flag_value=True)
@click.option("--reason")
@format_option
@click.pass_context
def users_set(ctx, name, role, orgs, email, active, reason) -> None:
    """Change a user's role, org units, email, or whether they may sign in."""
    u = users_mod.update(warehouse_of(ctx), name, role=role, orgs=list(orgs) if orgs else None, active=active,
                         email=email, by=actor_of(ctx), reason=reason)
    emit(ctx, _user_row(u), f"user {u.name}: {u.role}, {', '.join(u.orgs) or 'no units'}, "
                             f"{'active' if u.active else 'disabled'}")


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@click.pass_context
def users_passwd(ctx, name, password_stdin) -> None:
    """Set a user's password (an admin for anyone; a user for themselves)."""
    users_mod.set_password(warehouse_of(ctx), name, _read_password(password_stdin, name), by=actor_of(ctx))
    echo(f"password of {name} set")


@users_group.command("unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx, name) -> None:
    """Lift a lock-out after repeated failed sign-ins."""
    users_mod.unlock(warehouse_of(ctx), name, by=actor_of(ctx))
    echo(f"{name} unlocked")
