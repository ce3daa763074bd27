"""The standalone emulator takes a chosen secret from an environment variable or a file, so
it need not sit on the command line, where every local user can read it (`ps`)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import ccxt
import pytest

from console.cli.emulator import SECRET_ENV, emulator_secret
from console.cli.main import main
from console.emulator.testing import ccxt_client

KEY = "K" * 64
SECRET = "f1le-secret" * 4


def ns(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"secret": None, "secret_file": None, **kw})


def test_the_secret_comes_from_the_file_then_the_environment_then_the_flag(tmp_path: Path, capsys) -> None:
    f = tmp_path / "secret"
    f.write_text(SECRET + "\n", encoding="utf-8")
    assert emulator_secret(ns(secret_file=f, secret="flag"), {SECRET_ENV: "env"}) == SECRET
    assert emulator_secret(ns(secret="flag"), {SECRET_ENV: "env"}) == "env"
    assert capsys.readouterr().err == ""
    assert emulator_secret(ns(secret="flag"), {}) == "flag"
    assert "process list" in capsys.readouterr().err  # the flag still works, with a warning
    assert emulator_secret(ns(), {}) is None  # the published demo pair


@pytest.mark.parametrize(("content", "words"), [(b"", "is empty"), (b"\xff\xfe", "cannot read")])
def test_an_unusable_secret_file_is_refused_naming_it(tmp_path: Path, capsys, content: bytes, words: str) -> None:
    f = tmp_path / "secret"
    f.write_bytes(content)
    assert main(["emulator", "--api-key", KEY, "--secret-file", str(f)]) == 2
    err = capsys.readouterr().err
    assert "--secret-file" in err and words in err and "Traceback" not in err


def test_a_key_without_any_secret_is_refused(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert main(["emulator", "--api-key", KEY]) == 2
    assert SECRET_ENV in capsys.readouterr().err


@pytest.mark.asyncio
async def test_the_emulator_serves_a_key_whose_secret_is_only_in_a_file(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_text(SECRET, encoding="utf-8")
    argv = [sys.executable, "-m", "console.cli.main", "emulator", "--port", "0", "--speed", "0",
            "--api-key", KEY, "--secret-file", str(f)]
    assert SECRET not in " ".join(argv)  # nothing for `ps` to show
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert SECRET not in "".join(lines)
        url = lines[0].split(" on ")[1].strip()
        good = ccxt_client(SimpleNamespace(url=url, api_key=KEY, secret=SECRET), "usdm", timeout_on_exit=0)
        wrong = ccxt_client(SimpleNamespace(url=url, api_key=KEY, secret="nope"), "usdm", timeout_on_exit=0)
        try:
            assert (await good.fetch_balance())["total"]["USDT"] > 0
            with pytest.raises(ccxt.AuthenticationError):
                await wrong.fetch_balance()
        finally:
            await good.close()
            await wrong.close()
    finally:
        proc.kill()
        proc.wait()
