"""Final result codes a command handler returns; the front end renders them (CMEE for +CME)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CME_TEXT: dict[int, str] = {
    3: "operation not allowed",
    4: "operation not supported",
    16: "incorrect password",
    50: "Incorrect parameters",
    400: "invalid input value",
    405: "file not found",
    406: "invalid file name",
    407: "file already existed",
}


@dataclass(frozen=True)
class Final:
    kind: str  # "OK" | "ERROR" | "CME"
    code: int = 0
    then: Callable[[], None] | None = None  # runs right after the result is written

    def render(self, cmee: int) -> str:
        if self.kind != "CME":
            return self.kind
        if cmee == 0:
            return "ERROR"
        if cmee == 2:
            return f"+CME ERROR: {CME_TEXT.get(self.code, str(self.code))}"
        return f"+CME ERROR: {self.code}"


OK = Final("OK")
ERROR = Final("ERROR")


def cme(code: int) -> Final:
    return Final("CME", code)
