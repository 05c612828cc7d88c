"""Grafana's math expression language, parsed as Grafana parses it (grafana/grafana
pkg/expr/mathexp/parse: lex.go, parse.go, node.go), into a small tree the preview evaluates.

Grammar (parse.go), loosest first; every binary operator is left-associative, and a unary
operator applies to the factor right after it (``-$A ** 2`` is ``(-$A) ** 2``):

    O -> A {"||" A}     A -> C {"&&" C}     C -> P {("==" | "!=" | ">" | ">=" | "<" | "<=") P}
    P -> M {("+" | "-") M}     M -> E {("*" | "/" | "%") E}     E -> F {"**" F}
    F -> number | func "(" args ")" | $var | ${var name} | "(" O ")" | "!" F | "-" F
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

# lex.go: a run of these characters is one operator token, so "$A*-1" is refused as "*-".
SYMBOLS = "!<>=&|+-*/%"
OPERATORS = {"!", "&&", "||", ">", "<", ">=", "<=", "==", "!=", "+", "-", "*", "**", "/", "%"}
LEVELS = [{"||"}, {"&&"}, {"==", "!=", ">", ">=", "<", "<="}, {"+", "-"}, {"*", "/", "%"}, {"**"}]


class MathSyntaxError(ValueError):
    """An expression Grafana refuses to parse."""


@dataclass(frozen=True)
class Constant:
    value: float


@dataclass(frozen=True)
class Var:
    name: str  # the refId, without "$" or braces


@dataclass(frozen=True)
class Text:
    value: str  # a quoted string: no builtin takes one, so it only ever fails the type check


@dataclass(frozen=True)
class Unary:
    op: str
    arg: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Constant | Var | Text | Unary | Binary | Call


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "var", "func", "op", "(", ")", ",", "string", "eof"
    text: str

    def __str__(self) -> str:
        return "EOF" if self.kind == "eof" else f'"{self.text[:10]}"'


def parse(text: str, arity: Mapping[str, int]) -> Node:
    """The tree of ``text``; ``arity`` names the functions and how many arguments each takes."""
    return _Parser(list(_tokens(text)), arity).parse()


def variables(node: Node) -> list[str]:
    """The refIds the expression reads, in order of appearance."""
    match node:
        case Var(name):
            return [name]
        case Unary(_, arg):
            return variables(arg)
        case Binary(_, left, right):
            return variables(left) + variables(right)
        case Call(_, args):
            return [name for arg in args for name in variables(arg)]
    return []


def _tokens(text: str) -> Iterator[_Token]:
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "$":
            end, name = _variable(text, i + 1)
            yield _Token("var", name)
            i = end
        elif c in SYMBOLS:
            end = _run(text, i, lambda ch: ch in SYMBOLS)
            if text[i:end] not in OPERATORS:
                raise MathSyntaxError(f'unexpected "{text[i:end]}"')
            yield _Token("op", text[i:end])
            i = end
        elif c.isdigit() or c == ".":
            end = _number_end(text, i)
            yield _Token("number", text[i:end])
            i = end
        elif c.isalpha():
            end = _run(text, i, lambda ch: ch.isalpha() or ch == "_")
            yield _Token("func", text[i:end])
            i = end
        elif c in "(),":
            yield _Token(c, c)
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise MathSyntaxError("unterminated string")
            yield _Token("string", text[i + 1 : end])
            i = end + 1
        else:
            raise MathSyntaxError(f"invalid character: {c}")
    yield _Token("eof", "")


def _run(text: str, start: int, accept: Callable[[str], bool]) -> int:
    end = start
    while end < len(text) and accept(text[end]):
        end += 1
    return end


def _is_varchar(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdigit()


def _variable(text: str, start: int) -> tuple[int, str]:
    """lexVar: ``$name`` (letters, digits, "_") or ``${any name}`` (spaces allowed too)."""
    if text.startswith("{", start):
        end = text.find("}", start)
        if end < 0:
            raise MathSyntaxError("unterminated variable missing closing }")
        name = text[start + 1 : end]
        if not all(_is_varchar(c) or c.isspace() for c in name):
            raise MathSyntaxError("unsupported variable character")
        if not name:
            raise MathSyntaxError("incomplete variable")
        return end + 1, name
    end = _run(text, start, _is_varchar)
    if end == start:
        raise MathSyntaxError("incomplete variable")
    return end, text[start:end]


def _number_end(text: str, start: int) -> int:
    """scanNumber: [0x]digits[.digits][e[+-]digits]; a bad spelling fails in _number."""
    i = start
    digits = "0123456789"
    if text.startswith(("0x", "0X"), i):
        digits += "abcdefABCDEF"
        i += 2
    i = _run(text, i, lambda ch: ch in digits)
    if text.startswith(".", i):
        i = _run(text, i + 1, lambda ch: ch in digits)
    if i < len(text) and text[i] in "eE":
        i += 1
        if i < len(text) and text[i] in "+-":
            i += 1
        i = _run(text, i, lambda ch: ch in "0123456789")
    return i


def _number(text: str) -> float:
    """newNumber: Go's ParseUint(text, 0) first (so "0x1f" is hex and "010" octal), then
    ParseFloat."""
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return float(int(text, 16))
    if re.fullmatch(r"0[0-7]+", text):
        return float(int(text, 8))
    try:
        return float(text)
    except ValueError:
        raise MathSyntaxError(f'illegal number syntax: "{text}"') from None


class _Parser:
    def __init__(self, tokens: list[_Token], arity: Mapping[str, int]) -> None:
        self.tokens = tokens
        self.at = 0
        self.arity = arity

    def parse(self) -> Node:
        node = self.binary(0)
        self.expect("eof", "root input")
        self.check(node)
        return node

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def next(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, kind: str, context: str) -> None:
        token = self.next()
        if token.kind != kind:
            raise MathSyntaxError(f"unexpected {token} in {context}")

    def binary(self, level: int) -> Node:
        if level == len(LEVELS):
            return self.factor()
        node = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in LEVELS[level]:
            node = Binary(self.next().text, node, self.binary(level + 1))
        return node

    def factor(self) -> Node:
        token = self.next()
        if token.kind == "number":
            return Constant(_number(token.text))
        if token.kind == "var":
            return Var(token.text)
        if token.kind == "func":
            return self.call(token.text)
        if token.kind == "op" and token.text in ("!", "-"):
            return Unary(token.text, self.factor())
        if token.kind == "(":
            node = self.binary(0)
            self.expect(")", "input: F()")
            return node
        raise MathSyntaxError(f"unexpected {token} in input: F()")

    def call(self, name: str) -> Call:
        if name not in self.arity:
            raise MathSyntaxError(f"non existent function {name}")
        self.expect("(", "func")
        args: list[Node] = []
        while (token := self.peek()).kind != ")":
            if token.kind == "string":
                args.append(Text(self.next().text))
            else:
                args.append(self.binary(0))
        self.next()
        return Call(name, tuple(args))

    def check(self, node: Node) -> None:
        """FuncNode.Check: the argument count, and no string where a number is wanted."""
        match node:
            case Call(name, args):
                if len(args) != self.arity[name]:
                    few = len(args) < self.arity[name]
                    raise MathSyntaxError(
                        f"parse: {'not enough' if few else 'too many'} arguments for {name}"
                    )
                for arg in args:
                    if isinstance(arg, Text):
                        raise MathSyntaxError(f"parse: expected a number for {name}, got string")
                    self.check(arg)
            case Unary(_, arg):
                self.check(arg)
            case Binary(_, left, right):
                self.check(left)
                self.check(right)
