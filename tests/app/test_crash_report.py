"""A crash must not print an exchange's key: Textual's own report renders every frame's locals."""

from __future__ import annotations

import pytest

from console.core.redact import register_secret
from tests.app.conftest import make_app

CANARY = "CANARYCRASHKEY0123456789abcdef"


async def test_a_crash_report_has_no_locals_and_no_key(capfd):
    register_secret(CANARY)
    app = make_app()
    with pytest.raises(RuntimeError):  # run_test hands the app's crash back to the test
        async with app.run_test(size=(120, 36)) as pilot:
            def boom() -> None:
                api_key = CANARY  # a local a default crash report would render  # noqa: F841
                raise RuntimeError(f"venue said no to {CANARY}")

            app.call_later(boom)
            await pilot.pause()
    out, err = capfd.readouterr()
    shown = out + err  # what Textual printed on the way out
    assert "RuntimeError" in shown  # the trader still learns what happened
    assert CANARY not in shown
