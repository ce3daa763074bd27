"""Secrets never reach a log line, a traceback or an error message."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from console.core import redact as r

SECRET = "Sup3r/Secret+Value=="


def test_redact_plain_and_url_encoded() -> None:
    r.register_secret(SECRET)
    assert r.redact(f"sig for {SECRET}!") == "sig for ***!"
    assert r.redact("secret=Sup3r%2FSecret%2BValue%3D%3D&x=1") == "secret=***&x=1"
    assert r.redact("nothing here") == "nothing here"
    assert r.redact(f"a {SECRET}", secrets=[]) == f"a {SECRET}"
    assert r.redact("key abcdefgh", secrets=["abcdefgh"]) == "key ***"


def test_short_values_are_not_registered() -> None:
    r.register_secret("1")
    r.register_secret("")
    r.register_secret(None)
    assert r.registered_secrets() == frozenset()


def test_logging_records_are_scrubbed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r.install_redaction()
    r.register_secret(SECRET)
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)  # made after install: the record factory covers it
    logger = logging.getLogger("ccxt.base.exchange")
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        logger.debug("%s %s, Request: %s %s", "GET", "https://x/api", {"X-MBX-APIKEY": SECRET}, None)
        try:
            raise RuntimeError(f"boom with {SECRET}")
        except RuntimeError:
            logger.exception("failed for %s", SECRET)
        logger.warning(f"f-string {SECRET}")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    text = log_file.read_text()
    assert SECRET not in text
    assert "X-MBX-APIKEY': '***'" in text and "boom with ***" in text and "f-string ***" in text


def test_excepthook_scrubs_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    r.install_redaction()
    r.register_secret(SECRET)
    try:
        raise ValueError(f"bad {SECRET}")
    except ValueError:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "ValueError: bad ***" in err and SECRET not in err


def test_scrubbed_traceback_has_no_locals_and_no_secret() -> None:
    r.register_secret(SECRET)

    def venue_call(api_key: str) -> None:
        config = {"apiKey": api_key}  # a local holding the key, as ccxt's config dict does
        raise ConnectionError(f"refused for {config['apiKey']}")

    try:
        venue_call(SECRET)
    except ConnectionError as exc:
        text = r.scrubbed_traceback(exc)
    assert "ConnectionError: refused for ***" in text and SECRET not in text and "config =" not in text
