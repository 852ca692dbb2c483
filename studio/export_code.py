"""Text helpers of the Studio's Python export: literals, names, and lines laid out as ``ruff format`` lays them out.

The exporter writes formatted code itself rather than piping it through a formatter: every shape it emits is one of
the few below, whose layout at the project's line length (120) is fixed: a line that fits stays flat; a call that
does not fit puts its arguments on one indented line, or one per line with a trailing comma; a boolean chain that
does not fit goes in parentheses, one operand per line, and a comparison too long for its line breaks before its
operators.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

LINE = 120
INDENT = "    "


def number(value: float | int) -> str:
    """A float literal as ruff writes it: repr of the float, without '+' in the exponent (1e16, 1e-05)."""
    return repr(float(value)).replace("e+", "e")


def whole(value: int) -> str:
    """An int literal."""
    return str(int(value))


def camel(name: str) -> str:
    """'rsi2_pullback' -> 'Rsi2Pullback'."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def fits(indent: int, text: str) -> bool:
    """Whether text fits on one line at this indent (in spaces)."""
    return indent + len(text) <= LINE


def wrap(text: str, indent: int) -> list[str]:
    """Prose wrapped to the line length at this indent (docstrings), never breaking a word or a hyphenated one."""
    pad = " " * indent
    return textwrap.wrap(
        text, width=LINE, initial_indent=pad, subsequent_indent=pad, break_long_words=False, break_on_hyphens=False
    ) or [pad.rstrip()]


def docstring(paragraphs: list[str | list[str]], indent: int) -> list[str]:
    """A docstring: one line when one short paragraph; else quotes on their own lines, paragraphs wrapped.

    A paragraph given as a list of lines is kept as written (indented, not wrapped): tables, the Parameters section.
    """
    pad = " " * indent
    if len(paragraphs) == 1 and isinstance(paragraphs[0], str) and fits(indent, f'"""{paragraphs[0]}"""'):
        return [f'{pad}"""{paragraphs[0]}"""']
    lines = [f'{pad}"""']
    for i, paragraph in enumerate(paragraphs):
        if i:
            lines.append("")
        if isinstance(paragraph, str):
            lines.extend(wrap(paragraph, indent))
        else:
            lines.extend(f"{pad}{line}".rstrip() for line in paragraph)
    lines.append(f'{pad}"""')
    return lines


def call(head: str, args: list[str], indent: int, tail: str = "") -> list[str]:
    """head(args)tail laid out as ruff does: flat, else the arguments on one line, else one per line."""
    pad, inner = " " * indent, " " * (indent + 4)
    flat = f"{head}({', '.join(args)}){tail}"
    if fits(indent, flat):
        return [pad + flat]
    joined = ", ".join(args)
    if fits(indent + 4, joined):
        return [f"{pad}{head}(", inner + joined, f"{pad}){tail}"]
    lines = [f"{pad}{head}("]
    for arg in args:
        if fits(indent + 4, f"{arg},") or " and " not in arg:
            lines.append(f"{inner}{arg},")
        else:  # a condition too long for its line breaks before each `and`
            first, *rest = arg.split(" and ")
            lines += [inner + first, *(f"{inner}and {part}" for part in rest[:-1]), f"{inner}and {rest[-1]},"]
    return [*lines, f"{pad}){tail}"]


@dataclass(frozen=True)
class Comparison:
    """operands[0] ops[0] operands[1] ... : one comparison, chained for 'between'."""

    operands: tuple[str, ...]
    ops: tuple[str, ...]

    def flat(self) -> str:
        """The comparison on one line."""
        text = self.operands[0]
        for op, operand in zip(self.ops, self.operands[1:], strict=True):
            text += f" {op} {operand}"
        return text

    def broken(self, prefix: str) -> list[str]:
        """The comparison broken before each operator (when it does not fit its line), prefix on the first."""
        return [prefix + self.operands[0], *(f"{op} {o}" for op, o in zip(self.ops, self.operands[1:], strict=True))]


Term = Comparison | str  # a comparison, or an expression that is never broken (a method call, an attribute)


def flat(term: Term) -> str:
    """A term on one line."""
    return term if isinstance(term, str) else term.flat()


def returned_chain(terms: list[Term], op: str, indent: int) -> list[str]:
    """`return t1 op t2 ...` laid out as ruff does (op 'and' or 'or'; one term returns just that term)."""
    pad, inner = " " * indent, " " * (indent + 4)
    text = f" {op} ".join(flat(t) for t in terms)
    if fits(indent, f"return {text}"):
        return [f"{pad}return {text}"]
    if fits(indent + 4, text):
        return [f"{pad}return (", inner + text, f"{pad})"]
    lines = [f"{pad}return ("]
    for i, term in enumerate(terms):
        prefix = f"{op} " if i else ""
        line = prefix + flat(term)
        if fits(indent + 4, line) or isinstance(term, str):
            lines.append(inner + line)
        else:
            lines.extend(inner + part for part in term.broken(prefix))
    lines.append(f"{pad})")
    return lines


def block(lines: list[str], indent: int) -> list[str]:
    """Lines indented by `indent` more spaces (blank lines stay empty)."""
    pad = " " * indent
    return [pad + line if line else "" for line in lines]
