"""Checks that higher apps add to the password sign-in without accounts importing them.

`password_login_checks`: callables `(user) -> str | None`; a message refuses the password
sign-in with that text (agency.sso registers "this agency signs in with single sign-on")."""

from collections.abc import Callable

password_login_checks: list[Callable] = []


def password_login_refusal(user) -> str | None:
    for check in password_login_checks:
        message = check(user)
        if message:
            return message
    return None
