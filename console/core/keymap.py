"""The user's keymap file: any binding remapped by its id (Textual's ``App.set_keymap``).

    # keymap.toml in the user config folder: binding id = "key" (or "key1,key2")
    "app.kill" = "ctrl+k"
    "builder.review" = "ctrl+enter"

Pure: the text in, the keymap and one message per entry that cannot be used out (the entry,
what is wrong, the fix). A bad entry is left out; the rest still applies.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection

KEYMAP_FILENAME = "keymap.toml"
# a key as Textual names it: letters, digits, and names joined by "+" (ctrl+k, shift+tab, f5)
_KEY = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*|[^\s,]")


def parse_keymap(text: str, source: str, known: Collection[str]) -> tuple[dict[str, str], list[str]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{source}: not valid TOML ({exc}); fix that line, or remove the file to use the default keys"]
    if isinstance(data.get("keymap"), dict):  # a [keymap] table is accepted as well
        data = data["keymap"]
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for bid, keys in data.items():
        if bid not in known:
            near = difflib.get_close_matches(bid, sorted(known), n=1)
            fix = f"did you mean {near[0]!r}?" if near else "the help (?) lists each binding's id"
            problems.append(f"{source}: {bid!r} is not a binding id; {fix}")
            continue
        parts = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else []
        if not parts or not all(_KEY.fullmatch(k) for k in parts):
            problems.append(f"{source}: {bid} = {keys!r} is not a key; write a key name such as \"ctrl+k\" "
                            "(several: \"ctrl+k,f9\")")
            continue
        keymap[bid] = ",".join(parts)
    return keymap, problems
