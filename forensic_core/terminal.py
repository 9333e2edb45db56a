"""Text that reaches a terminal from untrusted places: file names, plugin metadata, model output.

A file called ``$'\\x1b[2J'evil.png`` clears the screen when its name is printed; one with a newline in its name
forges a result line (``a.png: real``) in the output of a batch. :func:`printable` makes such text inert: every
control character is shown as a visible escape instead of being interpreted. Backslashes are left as they are,
so ordinary names read as before.
"""

from __future__ import annotations

__all__ = ["printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every character Python does not call printable shown as a visible escape.

    That covers C0 controls (newline, carriage return, tab and ESC, so ANSI sequences cannot act), DEL, C1
    controls, line and paragraph separators, format characters (bidirectional overrides that reorder a name,
    "Trojan Source"; zero-width characters that hide in one), spaces other than the ASCII space, unassigned and
    private-use code points, and lone surrogates (the bytes of a file name that is not valid UTF-8, shown as
    ``\\xNN``). Letters, digits, punctuation and symbols of every script are kept.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: an undecodable byte of a file name
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
