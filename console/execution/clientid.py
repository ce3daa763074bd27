"""Deterministic client order ids: the same (ticket, leg, attempt) always gives the same id.

The id is how an order is found again after a timeout, a lost reply or a restart, so it is
written to the journal *before* the order is sent and never reused for another order.

Form: ``rbt`` + ticket id (10 chars, lowercase RFC 4648 base32) + leg (2 chars) + attempt
(2 chars), e.g. ``rbtk3x9a2q7mzaaab`` (leg 0, attempt 1): lowercase letters and digits,
17 characters.
That fits every venue we know without change except the few that impose a prefix or a
format (Gate's ``t-``, Hyperliquid's 128-bit hex); ``VENUE_RULES`` holds each venue's rule
and ``client_order_id`` checks the result against it, so a venue that would silently
truncate or reject an id fails here, before anything is sent.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

PREFIX = "rbt"
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
TICKET_ID_LEN = 10  # 50 random bits: unique across journals, so a fresh journal never reuses an id
FIELD_LEN = 2  # leg and attempt: up to 1024 each
MAX_FIELD = len(_B32) ** FIELD_LEN - 1


@dataclass(frozen=True)
class VenueRule:
    max_len: int
    pattern: str  # full-match regex the venue accepts
    prefix: str = ""  # a prefix the venue requires in front of ours
    hex128: bool = False  # the venue wants a 128-bit hex id (0x + 32 hex digits)


# Sources: each venue's API docs for the client order id field. Only exchanges ccxt has
# (ccxt.exchanges): an id ccxt does not know can never reach an order.
VENUE_RULES: dict[str, VenueRule] = {
    "binance": VenueRule(36, r"[\.A-Z\:/a-z0-9_-]{1,36}"),  # newClientOrderId
    "binanceusdm": VenueRule(36, r"[\.A-Z\:/a-z0-9_-]{1,36}"),
    "binancecoinm": VenueRule(36, r"[\.A-Z\:/a-z0-9_-]{1,36}"),
    "okx": VenueRule(32, r"[A-Za-z0-9]{1,32}"),  # clOrdId: letters and digits only
    "bybit": VenueRule(36, r"[A-Za-z0-9_-]{1,36}"),  # orderLinkId
    "kucoin": VenueRule(40, r"[A-Za-z0-9_-]{1,40}"),  # clientOid
    "kucoinfutures": VenueRule(40, r"[A-Za-z0-9_-]{1,40}"),
    "bitget": VenueRule(50, r"[A-Za-z0-9_#:.-]{1,50}"),  # clientOid
    "gate": VenueRule(30, r"t-[A-Za-z0-9_.-]{1,28}", prefix="t-"),  # text: must start with t-
    "deribit": VenueRule(64, r"[A-Za-z0-9_-]{1,64}"),  # label
    "htx": VenueRule(64, r"[A-Za-z0-9_-]{1,64}"),  # client-order-id
    "krakenfutures": VenueRule(100, r"[A-Za-z0-9_-]{1,100}"),  # cliOrdId
    "hyperliquid": VenueRule(34, r"0x[0-9a-f]{32}", hex128=True),  # cloid
}
# An exchange not in the table gets the strictest common rule: 32 letters and digits.
DEFAULT_RULE = VenueRule(32, r"[A-Za-z0-9]{1,32}")


def new_ticket_id() -> str:
    """A fresh random ticket id (10 base32 chars). Random, not a counter: a journal that was
    deleted or moved must not hand out ids that old venue orders already carry."""
    n = int.from_bytes(os.urandom(7), "big") >> (56 - 5 * TICKET_ID_LEN)
    return _encode(n, TICKET_ID_LEN)


def _encode(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        out.append(_B32[n & 31])
        n >>= 5
    if n:
        raise ValueError(f"{n} does not fit in {width} base32 chars")
    return "".join(reversed(out))


def _decode(s: str) -> int:
    n = 0
    for ch in s:
        n = n * 32 + _B32.index(ch)
    return n


def is_ticket_id(s: str) -> bool:
    return len(s) == TICKET_ID_LEN and all(c in _B32 for c in s)


def rule_for(exchange_id: str) -> VenueRule:
    return VENUE_RULES.get(exchange_id, DEFAULT_RULE)


def client_order_id(ticket_id: str, leg: int, attempt: int, exchange_id: str = "binance") -> str:
    """The venue's client order id for the ``attempt``-th order of ``leg`` of a ticket."""
    if not is_ticket_id(ticket_id):
        raise ValueError(f"{ticket_id!r} is not a ticket id")
    if not (0 <= leg <= MAX_FIELD and 0 <= attempt <= MAX_FIELD):
        raise ValueError(f"leg {leg} / attempt {attempt} out of range 0..{MAX_FIELD}")
    core = PREFIX + ticket_id + _encode(leg, FIELD_LEN) + _encode(attempt, FIELD_LEN)
    rule = rule_for(exchange_id)
    if rule.hex128:
        # Not reversible, but deterministic; the journal maps it back to (ticket, leg, attempt).
        cid = "0x" + hashlib.sha256(core.encode()).hexdigest()[:32]
    else:
        cid = rule.prefix + core
    if len(cid) > rule.max_len or not re.fullmatch(rule.pattern, cid):
        raise ValueError(f"client id {cid!r} breaks {exchange_id}'s rule {rule.pattern}")
    return cid


def parse_client_order_id(cid: str) -> tuple[str, int, int] | None:
    """(ticket id, leg, attempt) of one of our ids, or None for anybody else's."""
    for rule in {r.prefix for r in VENUE_RULES.values()}:
        if rule and cid.startswith(rule):
            cid = cid[len(rule):]
            break
    body = cid[len(PREFIX):]
    if not cid.startswith(PREFIX) or len(body) != TICKET_ID_LEN + 2 * FIELD_LEN:
        return None
    if not all(c in _B32 for c in body):
        return None
    t = body[:TICKET_ID_LEN]
    leg = _decode(body[TICKET_ID_LEN:TICKET_ID_LEN + FIELD_LEN])
    attempt = _decode(body[TICKET_ID_LEN + FIELD_LEN:])
    return t, leg, attempt


def is_console_id(cid: str | None) -> bool:
    return bool(cid) and parse_client_order_id(cid or "") is not None
