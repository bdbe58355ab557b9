"""Where a browser may be sent back to after signing in."""

from __future__ import annotations


def safe_next(target: str | None, default: str = "/app") -> str:
    """A same-site path to go to after sign-in; anything else (other hosts, `//x`, `/\\x`) is refused."""
    # Browsers drop tabs and newlines from URLs and read "\\" as "/": "/\t/x" and "/\\x" mean "//x".
    unsafe = any(ord(c) < 0x20 or c in "\\\x7f" for c in target or "")
    if not target or unsafe or not target.startswith("/") or target.startswith("//"):
        return default
    return target
