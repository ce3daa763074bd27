import re

import pytest

from console.execution.clientid import (
    DEFAULT_RULE,
    VENUE_RULES,
    client_order_id,
    is_console_id,
    new_ticket_id,
    parse_client_order_id,
)


def test_deterministic_and_distinct():
    t = new_ticket_id()
    a = client_order_id(t, 0, 1)
    assert a == client_order_id(t, 0, 1)
    ids = {client_order_id(t, leg, att) for leg in range(4) for att in range(1, 40)}
    assert len(ids) == 4 * 39


@pytest.mark.parametrize("venue", [*VENUE_RULES, "someexchange"])
def test_fits_every_venue_rule(venue):
    rule = VENUE_RULES.get(venue, DEFAULT_RULE)
    for _ in range(50):
        cid = client_order_id(new_ticket_id(), 1023, 1023, venue)
        assert len(cid) <= rule.max_len
        assert re.fullmatch(rule.pattern, cid), cid


def test_binance_rule_literal():
    cid = client_order_id(new_ticket_id(), 3, 2, "binance")
    assert re.fullmatch(r"^[\.A-Z\:/a-z0-9_-]{1,36}$", cid)


def test_parse_roundtrip_and_foreign_ids():
    t = new_ticket_id()
    for venue in ("binance", "okx", "gate"):
        cid = client_order_id(t, 2, 7, venue)
        assert parse_client_order_id(cid) == (t, 2, 7)
        assert is_console_id(cid)
    assert parse_client_order_id("x-TKT5PX2F12345") is None
    assert not is_console_id("web_123")
    assert not is_console_id(None)


def test_out_of_range():
    with pytest.raises(ValueError):
        client_order_id(new_ticket_id(), 1024, 1)
    with pytest.raises(ValueError):
        client_order_id("nope", 0, 1)


def test_rules_only_for_exchanges_ccxt_has():
    """A rule for an exchange ccxt no longer ships (gateio, bitmex) can never be used: an
    account on it cannot even be connected. Every rule must name a live ccxt id."""
    import ccxt

    assert set(VENUE_RULES) <= set(ccxt.exchanges)
