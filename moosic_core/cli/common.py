"""Shared CLI plumbing: the command tree, JSON output and the error contract.

Every subcommand that a script may read takes ``--json``: one JSON document on stdout, or on
failure ``{"error": "...", "kind": "..."}`` with a non-zero exit code and no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from tqdm import tqdm

from moosic_core.config import Config
from moosic_core.errors import DataError, MoosicError, UsageError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Config], int]
T = TypeVar("T")

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class ContractParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` (carrying the usage line)
    instead of exiting, so ``main`` can report them in the ``--json`` contract."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` with argparse's message; ``.usage`` holds the usage line."""
        error = UsageError(message)
        error.usage = self.format_usage()  # type: ignore[attr-defined]
        error.prog = self.prog  # type: ignore[attr-defined]
        raise error


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high`` (inclusive; no upper
    bound when None); anything else is reported in words ("'-3' is not a whole number from 1
    to 100")."""
    span = f"from {low} to {high}" if high is not None else f"of {low} or more"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number {span}")
        return value

    parse.__name__ = "whole number"
    return parse


def positive_number(text: str) -> float:
    """An argparse ``type``: a number above 0 ("'-1' is not a number above 0")."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value


class CommandTree:
    """Builds nested argparse subcommands from paths such as ``"train songs"``."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._root = parser
        self._groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
        self._parsers: dict[str, argparse.ArgumentParser] = {"": parser}

    def _subparsers(self, path: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        if path not in self._groups:
            parent = self._parser(path)
            self._groups[path] = parent.add_subparsers(dest=f"cmd_{len(self._groups)}",
                                                       metavar="COMMAND", required=True)
        return self._groups[path]

    def _parser(self, path: str) -> argparse.ArgumentParser:
        if path not in self._parsers:
            head, _, name = path.rpartition(" ")
            self._parsers[path] = self._subparsers(head).add_parser(name, help=f"{name} commands")
        return self._parsers[path]

    def add(self, path: str, handler: Handler, help: str, json_flag: bool = True
            ) -> argparse.ArgumentParser:
        """Register ``handler`` under ``path``; returns its parser for arguments."""
        head, _, name = path.rpartition(" ")
        parser = self._subparsers(head).add_parser(name, help=help, description=help)
        parser.set_defaults(handler=handler)
        if json_flag:
            parser.add_argument("--json", action="store_true",
                                help="print one JSON document on stdout")
        else:
            parser.set_defaults(json=False)
        self._parsers[path] = parser
        return parser


def print_json(data: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def publish_report(path: Path, markdown: str, result: Any, as_json: bool) -> None:
    """Write an evaluation report to ``path`` and print it (or its numbers as JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown)
    if as_json:
        print_json(result)
    else:
        print(markdown)


def describe_error(exc: BaseException) -> tuple[str, str, int]:
    """A failure as the CLI reports it: (message, kind, exit code)."""
    if isinstance(exc, MoosicError):
        return str(exc), exc.kind, int(getattr(exc, "exit_code", EXIT_USER_ERROR))
    log.debug("internal error", exc_info=exc)
    return f"internal error: {exc!r}", "InternalError", EXIT_INTERNAL_ERROR


def report_error(exc: BaseException, as_json: bool) -> int:
    """Report a failure in the CLI's contract and return the exit code."""
    message, kind, code = describe_error(exc)
    if as_json:
        print_json({"error": message, "kind": kind})
    else:
        sys.stderr.write(f"error: {message}\n")
    return code


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    yield from tqdm(items, desc=desc, total=total, file=sys.stderr,
                    disable=not sys.stderr.isatty(), leave=False)


def read_playlist_file(path: Path) -> bytes:
    """The bytes of a playlist file named on the command line (``--playlist``, ``--member``).

    Raises :class:`DataError` saying what is wrong: not there, a folder, or unreadable.
    """
    try:
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a playlist file: name the CSV in it.")
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"Playlist file not found: {path}") from None
    except OSError as exc:
        raise DataError(f"Cannot read the playlist {path}: {exc.strerror or exc}") from None
