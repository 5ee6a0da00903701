"""The CLI's --json contract for command lines argparse refuses, and numeric options checked
for range (``-n``, ``--limit``, ...) with the answer in words."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, words", [
    (("recommend", "--json"), "one of the arguments --selfie --mood is required"),
    (("recommend", "--mood", "happy", "-n", "abc", "--json"), "'abc' is not a whole number"),
    (("recommend", "--mood", "happy", "-n", "-3", "--json"), "from 1 to 100"),
    (("recommend", "--mood", "happy", "-n", "0", "--json"), "'0' is not a whole number"),
    (("recommend", "--mood", "happy", "-n", "100000", "--json"), "'100000'"),
    (("group", "--member", "x.csv", "--mood", "calm", "-n", "2.5", "--json"), "'2.5'"),
    (("catalog", "show", "--limit", "-1", "--json"), "'-1' is not a whole number of 1 or more"),
    (("taste", "--playlist", "x.csv", "--top", "0", "--json"), "'0'"),
    (("eval", "recommend", "--splits", "101", "--json"), "from 1 to 100"),
    (("nonsense", "--json"), "invalid choice"),
])
def test_refused_command_lines_follow_the_json_contract(moosic, args, words) -> None:
    code, data, stderr = moosic(*args)
    assert code == 2
    assert isinstance(data, dict) and data["kind"] == "UsageError", data
    assert words in data["error"] and "usage:" not in stderr and "Traceback" not in stderr


def test_without_json_argparse_keeps_its_usage_line(moosic) -> None:
    code, data, stderr = moosic("recommend", "--mood", "happy", "-n", "-3")
    assert code == 2 and data is None
    assert stderr.startswith("usage: moosic recommend")
    assert "moosic recommend: error: argument -n: '-3' is not a whole number from 1 to 100" \
        in stderr


def test_a_valid_count_is_honoured(moosic) -> None:
    code, data, stderr = moosic("recommend", "--mood", "happy", "-n", "3", "--json")
    assert code == 0, stderr
    assert len(data["tracks"]) == 3


def test_cli_hints_name_cli_options_not_chat_commands(moosic) -> None:
    code, data, stderr = moosic("recommend", "--mood", "0.1", "--json")
    assert code == 0, stderr
    hints = " ".join(data["hints"])
    assert "--mode lift" in hints and "--playlist" in hints
    assert "/lift" not in hints and "/link" not in hints


async def test_chat_hints_stay_chat_commands(service) -> None:
    from moosic_core.types import UserRef

    result = await service.recommend(UserRef("console", "hints"), service.stated_mood("0.1"))
    hints = " ".join(result.hints)
    assert "/lift" in hints and "/link spotify" in hints and "--mode" not in hints
