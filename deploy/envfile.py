"""Run a command with the settings of an environment file, read the way systemd reads it.

    python deploy/envfile.py /etc/cdfmap/cdfmap.env COMMAND [ARGUMENT...]

The settings file is read by the units (`EnvironmentFile=`), by deploy/cdfmap-cli and by the
cron line of docs/deploy.md. The last two sourced it with a shell (`set -a; . file`), which
reads another language: a password `pa$word1` stopped the CLI (`word1: parameter not set`)
while the service took it as written, and `;`, `&` or a backtick in a value ran a command.
This reads every value literally, by systemd's rules (`parse_env_file_internal` in
systemd's src/basic/env-file.c, followed state for state): blank lines and lines starting
with `#` or `;` are skipped, a line without `=` is ignored, whitespace around the key and the
value is dropped; '...' is verbatim, "..." keeps a backslash except before one of "\\`$ and
a newline; outside quotes a backslash keeps the next character, and a backslash at the end of
a line continues it. Nothing is expanded. python-dotenv (present with pydantic-settings)
reads another dialect (`export`, escapes such as \\n, `${VAR}`), and the value the command
line sees must be the one the service sees: hence these few lines of standard library.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

WHITESPACE = " \t\n\r"
NEWLINE = "\n\r"
COMMENTS = "#;"
SHELL_NEED_ESCAPE = '"\\`$'
# systemd passes on only assignments whose name is a valid variable name.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse(text: str) -> dict[str, str]:
    """The assignments of an environment file, in systemd's reading (the last one wins)."""
    found: dict[str, str] = {}
    state = "pre_key"
    key: list[str] = []
    value: list[str] = []
    key_end: int | None = None  # where the key's trailing whitespace starts
    value_end: int | None = None  # where the unquoted value's trailing whitespace starts

    def push() -> None:
        name = "".join(key[:key_end] if key_end is not None else key)
        if NAME.fullmatch(name):
            found[name] = "".join(value)

    for char in text:
        if state == "pre_key":
            if char in COMMENTS:
                state = "comment"
            elif char not in WHITESPACE:
                state, key, key_end = "key", [char], None
        elif state == "key":
            if char in NEWLINE:
                state = "pre_key"
            elif char == "=":
                state, value, value_end = "pre_value", [], None
            else:
                if char not in WHITESPACE:
                    key_end = None
                elif key_end is None:
                    key_end = len(key)
                key.append(char)
        elif state == "pre_value":
            if char in NEWLINE:
                push()
                state = "pre_key"
            elif char == "'":
                state = "single_quote"
            elif char == '"':
                state = "double_quote"
            elif char == "\\":
                state = "value_escape"
            elif char not in WHITESPACE:
                state = "value"
                value.append(char)
        elif state == "value":
            if char in NEWLINE:
                if value_end is not None:
                    del value[value_end:]
                push()
                state = "pre_key"
            elif char == "\\":
                state, value_end = "value_escape", None
            else:
                if char not in WHITESPACE:
                    value_end = None
                elif value_end is None:
                    value_end = len(value)
                value.append(char)
        elif state == "value_escape":
            state = "value"
            if char not in NEWLINE:
                value.append(char)
        elif state == "single_quote":
            if char == "'":
                state = "pre_value"
            else:
                value.append(char)
        elif state == "double_quote":
            if char == '"':
                state = "pre_value"
            elif char == "\\":
                state = "double_quote_escape"
            else:
                value.append(char)
        elif state == "double_quote_escape":
            state = "double_quote"
            if char in SHELL_NEED_ESCAPE:
                value.append(char)
            elif char != "\n":
                value += ["\\", char]
        elif state == "comment":
            if char == "\\":
                state = "comment_escape"
            elif char in NEWLINE:
                state = "pre_key"
        elif state == "comment_escape":
            state = "pre_key" if char in NEWLINE else "comment"
    if state not in ("pre_key", "key", "comment", "comment_escape"):
        if state == "value" and value_end is not None:
            del value[value_end:]
        push()
    return found


def main(argv: list[str]) -> int:
    """envfile.py FILE COMMAND [ARGUMENT...]: exec COMMAND with FILE's settings added."""
    if len(argv) < 3:
        print(f"usage: {argv[0]} ENV_FILE COMMAND [ARGUMENT...]", file=sys.stderr)
        return 2
    try:
        settings = parse(Path(argv[1]).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {argv[1]}: {exc}", file=sys.stderr)
        return 1
    os.environ.update(settings)
    try:
        os.execvp(argv[2], argv[2:])
    except OSError as exc:
        print(f"cannot run {argv[2]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    return 0  # not reached: execvp replaced this process


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
