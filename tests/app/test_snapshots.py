"""SVG snapshots of every screen at 120×36 (pytest-textual-snapshot).

Update after an intended change: ``pytest tests/app/test_snapshots.py --snapshot-update``."""

from __future__ import annotations

import pytest

from tests.app.conftest import SIZE
from tests.app.scenes import SCENES, scene_app


@pytest.mark.parametrize("name", list(SCENES))
def test_screen(name: str, snap_compare) -> None:  # noqa: ANN001 - the plugin's fixture
    assert snap_compare(scene_app(), terminal_size=SIZE, run_before=SCENES[name])
