"""One error family for everything a user can get wrong.

Only the CLI turns these into messages and exit codes; everywhere else raises them with the
file and line that let a user find the mistake.
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """A problem the user can fix: bad input, a target that is down, a missing browser."""

    exit_status = 2

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line

    def __str__(self) -> str:
        # A message quotes what the user wrote; a key with a newline in it must not break the sentence.
        message = self.message.translate(_VISIBLE)
        if self.file and self.line:
            return f"{self.file}, line {self.line}: {message}"
        if self.file:
            return f"{self.file}: {message}"
        return message


# Control characters as Python would spell them in a string: "\n", "\t", "\x1b".
_VISIBLE = {code: repr(chr(code))[1:-1] for code in (*range(32), *range(0x7F, 0xA0))}


class MapError(HarnessError):
    """The journey map cannot be read or contradicts itself."""


class MapErrors(MapError):
    """Every mistake found in one map, so a user fixes them in one pass (`shopper map check` lists all)."""

    def __init__(self, errors: list[MapError]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more; `shopper map check` lists them all)" if len(errors) > 1 else ""
        super().__init__(first.message + more, file=first.file, line=first.line)
        self.errors = errors


class FeatureError(HarnessError):
    """A feature file binds to a stage, touchpoint or segment the map does not have."""


class FaultProfileError(HarnessError):
    """The demo company's fault profile is malformed."""


class StoreError(HarnessError):
    """The store cannot be opened or written."""


class NoStoreError(StoreError):
    """Nothing was recorded where the store is looked for: one sentence for every command that reads it."""

    def __init__(self, file: str | Path) -> None:
        super().__init__(
            "no store here: run `shopper run` (or `shopper demo`) first, or name it with --store", file=file
        )


class BrowserError(HarnessError):
    """No usable Chromium was found or it could not start."""


class TargetError(HarnessError):
    """The target site or its mail cannot be reached."""


def did_you_mean(word: str, choices: list[str] | set[str]) -> str:
    """A ' (did you mean "x"?)' suffix for a misspelled key, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def read_user_file(path: str | Path, what: str, error: type[HarnessError]) -> str:
    """The text of a file the user named (a map, a schedule), or one sentence saying why not."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise error(f"{what} cannot be read ({reason})", file=path) from None


class LocateError(HarnessError):
    """A step could not find what it names on the page: a scenario (or the harness) to fix, not the owner."""


class NotOnPage(LocateError):
    """Nothing on a page that answered matches what the step names; the message lists what was there."""


class Ambiguous(LocateError):
    """Two things on the page match what the step names equally well; the message names both."""


class InitError(HarnessError):
    """`shopper init` cannot draft a journey: not a web address, no answer, nothing on it."""
