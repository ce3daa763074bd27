"""The one error type a user sees: a message that names the field and the fix."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (config, state file, keys, flags).

    The CLI prints ``str(error)`` and exits 2; the console shows it in a toast.
    Never carries a secret.
    """
