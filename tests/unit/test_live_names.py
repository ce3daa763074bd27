"""Live needs a real name: an account name is non-empty, has no padding a typed answer could
not match, and is unique; the typed confirmation must be that name."""

from __future__ import annotations

import pytest

from console.core.config import Account, Mode
from console.core.errors import UserError
from console.venues.modes import live_allowed_accounts, live_gate
from tests import factories as f

LIVE = Account(name="main", exchange="binanceusdm", mode=Mode.LIVE, markets=("swap",), live=True)


@pytest.mark.parametrize(("name", "words"), [
    ("", ["accounts[0].name", "needs a name", 'name = "main"']),
    ("   ", ["accounts[0].name", "needs a name"]),
    (" main ", ["accounts[ main ].name", "spaces at its ends", "name = 'main'"]),
    ("ma\tin", ["control characters"]),
])
def test_an_account_name_must_be_one_a_trader_can_type(name, words):
    toml = f.EXAMPLE_2_CONFIG + f'[[accounts]]\nname = "{name}"\nexchange = "binanceusdm"\nmode = "live"\nlive = true\n'
    with pytest.raises(UserError) as err:
        f.config(toml)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_two_accounts_with_one_name_are_refused():
    toml = f.EXAMPLE_2_CONFIG + '[[accounts]]\nname = "main"\nexchange = "binance"\n' * 2
    with pytest.raises(UserError, match="account names must be unique"):
        f.config(toml)


def test_an_empty_name_is_never_confirmed_by_an_empty_answer():
    # built past the config's check (model_copy does not validate): the gate still refuses
    blank = LIVE.model_copy(update={"name": ""})
    with pytest.raises(UserError, match="non-empty account name"):
        live_gate(blank, True, "")
    with pytest.raises(UserError, match="non-empty account name"):
        live_gate(blank, True, "\n")


def test_a_name_used_twice_unlocks_nothing():
    twin = LIVE.model_copy(update={"exchange": "binance"})
    with pytest.raises(UserError, match="used twice"):
        live_allowed_accounts([LIVE, twin], cli_live=True, ask=lambda _: "main")


def test_the_typed_answer_must_be_the_name():
    with pytest.raises(UserError, match="typed"):
        live_gate(LIVE, True, "yes")
    live_gate(LIVE, True, "main\n")  # the Enter key's newline is not part of the answer
