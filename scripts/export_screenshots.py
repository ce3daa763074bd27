"""Write an SVG of each screen to screenshots/ at 120×36, from the seeded demo state.

    python scripts/export_screenshots.py [--out screenshots]

The scenes are the snapshot tests' (tests/app/scenes.py): the shipped sample portfolio on a
seeded state with a fixed clock, so two runs write the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.conftest import SIZE  # noqa: E402
from tests.app.scenes import SCENES, scene_app  # noqa: E402

NBSP = "&#160;"
SPAN = re.compile(r'(<text [^>]*?x=")([0-9.]+)(" [^>]*?textLength=")([0-9.]+)("[^>]*>)((?:&#160;)*)(.*?)((?:&#160;)*)</text>')


def tighten(svg: str) -> str:
    """Move each text run's leading and trailing blanks into its x offset and textLength.

    Textual writes a cell run as one ``<text textLength=…>`` with its padding as no-break
    spaces; renderers that stretch glyphs to ``textLength`` (rsvg-convert, some viewers) then
    spread a right-aligned number over its whole column. The same pixels in a browser."""

    def fix(m: re.Match[str]) -> str:
        lead, body, trail = m.group(6).count(NBSP), m.group(7), m.group(8).count(NBSP)
        if not (lead or trail):
            return m.group(0)
        cells = lead + trail + len(re.sub(r"&#?\w+;", "x", body))
        if not body or not cells:
            return ""  # blanks only: the background rects already paint them
        w = float(m.group(4)) / cells
        x, length = float(m.group(2)) + lead * w, float(m.group(4)) - (lead + trail) * w
        return f"{m.group(1)}{x:g}{m.group(3)}{length:g}{m.group(5)}{body}</text>"

    return SPAN.sub(fix, svg)


async def export(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, scene in SCENES.items():
        app = scene_app()
        async with app.run_test(size=SIZE) as pilot:
            await scene(pilot)
            path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
            path.write_text(tighten(path.read_text()))
            written.append(path)
            await pilot.press("escape")  # release a modal's waiting worker before the app closes
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = p.parse_args()
    for path in asyncio.run(export(args.out)):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
