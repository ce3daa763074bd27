"""The builder's keys: a field cleared and retyped to the same value is taken; digits typed in a
number field stay in the field (never a screen switch); ctrl+r without a ticket says why."""

from __future__ import annotations

from tests.app.conftest import SIZE, make_app, sample_builder, settle


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]  # noqa: SLF001 - what the trader was told


async def test_a_field_cleared_and_retyped_to_the_same_value_is_taken() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        b = await sample_builder(pilot)
        horizon = b.query_one("#b-horizon")
        assert horizon.value == "7"
        horizon.focus()
        await pilot.press("end", "backspace")
        await settle(pilot, 5)
        assert b.ticket is None and "horizon (days) is empty" in b.no_ticket
        await pilot.press("7")  # the value the last ticket had: taken, the ticket comes back
        await settle(pilot, 5)
        assert b.no_ticket is None and b.ticket is not None and b.ticket.legs and b.settled
        assert b.inputs.horizon_days == 7.0


async def test_digits_in_a_number_field_never_switch_screens() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        b = await sample_builder(pilot)
        b.query_one("#b-slices").focus()
        await pilot.press("end", "backspace", "3")  # 3 is also the blotter's key
        await settle(pilot, 5)
        assert app.screen is b and b.query_one("#b-slices").value == "3" and b.inputs.slices == 3
        # the scheme is said where the trader looks: the footer names the way out of the field
        from widgets.footer import KeyFooter

        assert "Next field" in " ".join(str(k.render()) for k in b.query_one(KeyFooter).query("FooterKey"))
        b.query_one("#b-kind").focus()  # out of the number fields: the same key switches screens
        await pilot.press("3")
        await settle(pilot)
        assert app.screen is not b and app.screen.TITLE == "Blotter"


async def test_ctrl_r_without_a_ticket_says_why() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        b = await sample_builder(pilot)
        b.query_one("#b-over").focus()
        await pilot.press("end", "backspace")
        await settle(pilot, 5)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any(n.startswith("no ticket to review: over (min) is empty") for n in notes(app))
        assert not any("being recomputed" in n for n in notes(app))


async def test_ctrl_r_when_the_planner_proposes_nothing_says_so() -> None:
    # every sleeve well inside a band this wide: `s` finds no spread and no proposal
    from console.app.app import RebalApp
    from tests.app.conftest import loaded
    from tests.app.sample import T0, sample_config

    cfg = sample_config()
    wide = cfg.portfolio.model_copy(update={"band_abs": 0.5, "band_rel": 10.0})
    cfg = cfg.model_copy(update={"portfolio": wide, "sleeves": tuple(
        s.model_copy(update={"band_abs": None, "band_rel": None}) for s in cfg.sleeves)})
    app = RebalApp(cfg, now_ms=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await settle(pilot, 5)
        b = app.screen
        assert b.ticket is None and not b.proposals
        await pilot.press("ctrl+r")
        await settle(pilot)
        # the trader is told there is nothing to review and why, not to wait for a ticket that never comes
        assert any(n.startswith("no ticket to review:") and "proposes nothing" in n for n in notes(app))
        assert not any("being recomputed" in n for n in notes(app))
