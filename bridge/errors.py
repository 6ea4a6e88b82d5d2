"""The one error type the converter raises for bad input."""

from __future__ import annotations


def format_path(path: tuple) -> str:
    """Render a key path as `services.web.ports[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class BridgeError(Exception):
    """Invalid input: carries where it was found so the CLI can print one line."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, path: tuple = ()) -> None:
        super().__init__(message, file, line, column, path)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        key = format_path(self.path)
        if key:
            where += key + ": "
        text = " ".join(str(self.message).split())
        return where + text


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""
