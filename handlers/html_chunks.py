"""Cutting an HTML message into pieces Telegram accepts (at most 4,096 characters each).

Used by ``handlers.common.send_html``; on its own because it is a small parser of its own.
"""

from __future__ import annotations

import re

from telegram.constants import MessageLimit

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH  # 4096

# One piece of an HTML message: a tag, a character reference ("&amp;") or one character.
_HTML_ATOM = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|.", re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")


def _units(text: str) -> int:
    """Telegram's length: UTF-16 code units (an emoji counts 2)."""
    return len(text) + sum(ord(c) > 0xFFFF for c in text)


def _tag_name(tag: str) -> str:
    return tag.strip("</>").split(None, 1)[0].lower() if len(tag) > 2 else ""


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split an HTML message into chunks of at most ``limit`` UTF-16 units, each valid HTML.

    A cut is made at the last line break that fits, else at a space in the chunk's second half,
    else anywhere — but never inside a tag or a character reference like ``&amp;``. Tags open
    at the cut are closed at the end of the chunk and opened again at the start of the next,
    so ``<i>`` around a long remark stays italic across both messages and neither is refused.
    Nothing is dropped: the break (line break or space) ends its chunk, where Telegram trims it.
    """
    if len(text) <= limit // 2 or _units(text) <= limit:  # nearly every message: one piece
        return [text] if _TAG.sub("", text).strip() else []
    atoms = _HTML_ATOM.findall(text)
    chunks: list[str] = []
    start, open_tags = 0, ()
    while start < len(atoms):
        end, open_after = _fill(atoms, start, open_tags, limit)
        chunk = ("".join(open_tags) + "".join(atoms[start:end])
                 + "".join(f"</{_tag_name(t)}>" for t in reversed(open_after)))
        if any(not a.startswith("<") and not a.isspace() for a in atoms[start:end]):
            chunks.append(chunk)  # (a chunk of only blanks and tags would be refused as empty)
        start, open_tags = end, open_after
    return chunks


def _fill(atoms: list[str], start: int, open_tags: tuple[str, ...],
          limit: int) -> tuple[int, tuple[str, ...]]:
    """Where the chunk starting at ``atoms[start]`` (inside ``open_tags``) ends, and the tags
    open there."""
    stack = list(open_tags)
    used = _units("".join(stack))
    closing = sum(len(_tag_name(t)) + 3 for t in stack)
    newline = space = anywhere = None  # (end index, open tags) of the best cuts so far
    for index in range(start, len(atoms)):
        atom = atoms[index]
        is_tag = atom.startswith("<") and len(atom) > 1
        if is_tag and atom.startswith("</"):
            if stack:
                closing -= len(_tag_name(stack.pop())) + 3
        elif is_tag:
            stack.append(atom)
            closing += len(_tag_name(atom)) + 3
        used += _units(atom)
        if used + closing > limit:
            break
        cut = (index + 1, tuple(stack))
        if atom == "\n":
            newline = cut
        elif atom == " " and used > limit // 2:
            space = cut
        if not (is_tag and not atom.startswith("</")):  # not right after an opening tag
            anywhere = cut
    else:
        return len(atoms), tuple(stack)
    for best in (newline, space, anywhere):
        if best is not None:
            return best
    return start + 1, _after(atoms[start], open_tags)  # a lone atom wider than the limit


def _after(atom: str, open_tags: tuple[str, ...]) -> tuple[str, ...]:
    if atom.startswith("</"):
        return open_tags[:-1]
    if atom.startswith("<") and len(atom) > 1:
        return (*open_tags, atom)
    return open_tags
