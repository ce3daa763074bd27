"""Keep API keys out of every text the console writes: logs, tracebacks, messages.

Secrets are registered once, when credentials are loaded (``console.venues.keys`` does it), and
from then on every log record, uncaught traceback and error message is scrubbed of them.
ccxt logs each request's headers at DEBUG level (``X-MBX-APIKEY: ...``), so ``--debug``
would print the key without this.

``install_redaction()`` wraps logging's record factory, so every record of every logger is
scrubbed when it is made, whatever handler (stderr, file, Textual's log) later writes it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values (a one-letter uid, "1") would mask ordinary words; no venue issues keys
# this short.
MIN_SECRET_LEN = 6

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later log line and message is scrubbed of it."""
    if not value or len(value) < MIN_SECRET_LEN:
        return
    variants = {value, quote(value, safe=""), quote_plus(value, safe="")}  # as sent in URLs and bodies
    with _lock:
        _secrets.update(v for v in variants if len(v) >= MIN_SECRET_LEN)


def registered_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def forget_secrets() -> None:
    """For tests: start from an empty registry."""
    with _lock:
        _secrets.clear()


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every secret replaced by ``***`` (registered ones when ``secrets`` is None)."""
    pool = registered_secrets() if secrets is None else {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
    if not pool or not text:
        return text
    # longest first, so that a secret containing another is masked whole
    for s in sorted(pool, key=len, reverse=True):
        if s in text:
            text = text.replace(s, MASK)
    return text


_SIGNATURE = re.compile(r"(signature|apiKey|api_key|secret|x-mbx-apikey)(=|:[ \t]*)[^&\s\"',}]+", re.IGNORECASE)


def scrub(text: str) -> str:
    """Registered secrets out, and request signatures and secret-looking fields (ccxt puts
    signed URLs and its config in error messages): nothing that authenticates a request is
    ever written to the journal or shown in a crash report."""
    return _SECRET_FIELD.sub(r"\1\2***\2", _SIGNATURE.sub(r"\1\2***", redact(text)))


_SECRET_KEY = re.compile(r"^(api_?key|secret|password|passphrase|private_?key|signature|"
                         r"x-mbx-apikey|authorization|credentials?)$", re.IGNORECASE)
# the same fields already serialised as JSON or a Python repr inside a string (an error text)
_SECRET_FIELD = re.compile(r"([\"'](?:api_?key|secret|password|passphrase|private_?key|signature|"
                           r"x-mbx-apikey|authorization)[\"']\s*:\s*)([\"'])[^\"']*\2", re.IGNORECASE)


def scrub_value(value: Any) -> Any:
    """Every value under a secret-looking key replaced, at any depth: a snapshot or preview
    that carries an exchange config (apiKey, secret) must not put it in the journal."""
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and _SECRET_KEY.match(k) and v not in (None, "")
                else scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    if isinstance(value, str):  # an error text quoting a request or a reply (before JSON escapes it)
        return scrub(value)
    return value



def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in the record's message, traceback and stack, rendering them now.

    A record with no secret in it is left exactly as it was (its msg may be an object a
    handler renders itself).
    """
    if not registered_secrets():
        return record
    try:
        msg = record.getMessage()
    except Exception:  # a bad format string: keep logging's own behaviour for it
        return record
    clean = redact(msg)
    if clean != msg:
        record.msg = clean
        record.args = None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            # Formatter.format() reuses exc_text when set; drop the live exception so no
            # handler formats it again from the original objects.
            record.exc_text = clean
            record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A logging filter for handlers made outside ``install_redaction`` (belt and braces)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def scrubbed_traceback(exc: BaseException) -> str:
    """A traceback as text, without locals and scrubbed: what an app may show when it crashes.

    Textual's default crash report renders every frame's locals (``show_locals=True``), and a
    local can hold a key (ccxt's config dict, a prompt's answer); the app's ``_fatal_error``
    should print this instead.
    """
    return scrub("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "?"
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))


def install_redaction() -> None:
    """Scrub every log record, uncaught traceback and thread traceback from now on. Idempotent."""
    global _installed
    if _installed:
        return
    base_factory = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return scrub_record(base_factory(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    filt = RedactingFilter()
    for h in logging.getLogger().handlers:
        h.addFilter(filt)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    _installed = True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes, not the one it was made with:
    a stream replaced or closed since (a redirect, a test's capture) never turns a log line
    into a "Logging error" traceback."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_debug_logging() -> None:
    """``--debug``: DEBUG records (ccxt's requests included) to stderr, scrubbed."""
    install_redaction()
    root = logging.getLogger()
    if not any(getattr(h, "_rebal_debug", False) for h in root.handlers):
        h = _StderrHandler()
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        h.addFilter(RedactingFilter())
        h._rebal_debug = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(logging.DEBUG)
