"""
Denial conditions: what a rule denies with, as expressions fused into one function per plan.

A rule's check builds the reasons a decision shows, with their messages. Its
*conditions* say only which codes it would deny with, as Python expressions
over the relationship and the request, so that the guards can ask every rule
of a plan at once: `compile_plan` writes one function that evaluates the
conditions of all the plan's rules inline, with the policy's settings and the
request's channel bound as constants, the way attrs writes ``__init__``.
A guarded send then pays one call for the whole policy instead of one per
rule, and a screening one call per contact.

The expressions read these names:

``rel``
    The `Relationship`.
``at``
    The request's time, an aware `datetime` in UTC.
``channel``, ``purpose``, ``group``, ``action``
    The request's resolved fields.
``policy``
    The policy (a part of a combination) the rule belongs to; ``policy.X``
    reads a setting, which a compiled plan binds as a constant.

Any other name is looked up in the module that defines the rule's check
(its helpers), then in the builtins.
"""

from __future__ import annotations

import ast
import builtins
import linecache

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import count
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs


if TYPE_CHECKING:
    from ._policy import Policy
    from ._relationship import Relationship
    from ._rules import Codes, Request, Rule
    from ._values import Action, Channel, PurposeLike

__all__ = [
    "Conditions",
    "Deny",
    "DenyWith",
    "Entries",
    "PlanCodes",
    "PlanPasses",
    "Suggest",
    "compile_plan",
    "compile_rule",
    "compile_suggestions",
]


@attrs.frozen
class Deny:
    """
    A code a rule denies with when an expression holds.

    Attributes:
        code: The reason code, a plain string.
        when: The expression.
    """

    code: str
    when: str


@attrs.frozen
class DenyWith:
    """
    Codes a rule denies with, given by an expression: a tuple, empty when it does not deny.
    """

    codes: str


@attrs.frozen
class Conditions:
    """
    What a rule's check denies with, for `compile_plan` and `compile_rule`.

    Attributes:
        denials: In the order the check reports their reasons.
        unless: An expression under which the rule denies nothing; None for none.
        names: Where the expressions' other names are found: the globals of
            the module that defines the check.
    """

    denials: tuple[Deny | DenyWith, ...]
    unless: str | None
    names: Mapping[str, object] = attrs.field(repr=False, eq=False)

    def expressions(self) -> Iterator[str]:
        """
        Every expression, ``unless`` first.
        """
        if self.unless is not None:
            yield self.unless
        for denial in self.denials:
            yield denial.when if isinstance(denial, Deny) else denial.codes


PlanPasses: TypeAlias = "Callable[[Relationship, datetime, PurposeLike | None, str | None], bool]"
"""
A compiled plan's allowed path: whether no rule denies; a rule that fails raises.
"""

PlanCodes: TypeAlias = "Callable[[Relationship, datetime, PurposeLike | None, str | None], Codes]"
"""
A compiled plan's codes: each denying code once, in the rules' order; empty when allowed.
"""

SlowTest: TypeAlias = "Callable[[Relationship, Request, Policy], Codes]"
"""
How a rule without conditions is asked for its denying codes.
"""


class _Names(ast.NodeTransformer):
    """
    Rewrite an expression's names into those of the function it is compiled into.

    *variables* maps the request's and the relationship's names to what they
    are called there. With a *policy*, ``policy.X`` becomes a constant bound
    in *bound*; without one, ``policy`` stays a variable.
    """

    def __init__(
        self,
        variables: Mapping[str, str],
        names: Mapping[str, object],
        prefix: str,
        bound: dict[str, object],
        policy: Policy | None,
    ) -> None:
        self.variables = variables
        self.names = names
        self.prefix = prefix
        self.bound = bound
        self.policy = policy

    def _bind(self, name: str, value: object, node: ast.AST) -> ast.Name:
        self.bound[name] = value
        return ast.copy_location(ast.Name(name, ast.Load()), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        target = node.value
        if self.policy is not None and isinstance(target, ast.Name) and target.id == "policy":
            value = getattr(self.policy, node.attr)
            return self._bind(f"{self.prefix}P_{node.attr}", value, node)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        if name == "policy" and self.policy is not None:
            return self._bind(f"{self.prefix}P", self.policy, node)
        variable = self.variables.get(name)
        if variable is not None:
            return ast.copy_location(ast.Name(variable, ast.Load()), node)
        if name in self.names:
            return self._bind(f"{self.prefix}N_{name}", self.names[name], node)
        if hasattr(builtins, name):
            return node
        msg = f"a denial condition reads {name!r}, which is neither a variable nor defined"
        raise NameError(msg)


def _rewrite(expression: str, names: _Names) -> str:
    tree = ast.parse(expression.strip(), mode="eval")
    return f"({ast.unparse(names.visit(tree))})"


_COUNTER: Final = count()


def _define(source: str, bound: dict[str, object], title: str) -> dict[str, Any]:
    # Run *source* with *bound* as its globals and return them, with what it
    # defined; the source is kept in linecache, so that a traceback through a
    # compiled function shows its lines.
    filename = f"<permission_networking {title} #{next(_COUNTER)}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    namespace: dict[str, Any] = dict(bound)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace


def _codes_lines(
    conditions: Conditions,
    rewrite: Callable[[str], str],
    bound: dict[str, object],
    prefix: str,
    indent: str,
) -> list[str]:
    # Statements that add the codes *conditions* deny with to ``found``.
    lines: list[str] = []
    inner = indent
    if conditions.unless is not None:
        lines.append(f"{indent}if not {rewrite(conditions.unless)}:")
        inner = indent + "    "
    for n, denial in enumerate(conditions.denials):
        if isinstance(denial, Deny):
            code = f"{prefix}K{n}"
            bound[code] = (denial.code,)
            lines.append(f"{inner}if {rewrite(denial.when)}:")
            lines.append(f"{inner}    found = found + {code}")
        else:
            lines.append(f"{inner}codes = {rewrite(denial.codes)}")
            lines.append(f"{inner}if codes:")
            lines.append(f"{inner}    found = found + codes")
    if not conditions.denials:
        lines.append(f"{inner}pass")
    return lines


def compile_rule(conditions: Conditions, name: str) -> SlowTest:
    """
    Return a rule's denial test, ``(rel, req, policy) -> codes``, compiled from its *conditions*.
    """
    bound: dict[str, object] = {}
    variables = {
        name: name for name in ("rel", "at", "policy", "action", "channel", "purpose", "group")
    }
    names = _Names(variables, conditions.names, "_", bound, None)

    def rewrite(expression: str) -> str:
        return _rewrite(expression, names)

    lines = [
        "def test(rel, req, policy):",
        "    action, at, channel, purpose, group = req",
        "    found = ()",
        *_codes_lines(conditions, rewrite, bound, "_", "    "),
        "    return found",
    ]
    test: SlowTest = _define("\n".join(lines) + "\n", bound, f"denial test of {name}")["test"]
    return test


Entries: TypeAlias = "Sequence[tuple[Policy, Rule, Conditions | SlowTest]]"
"""
A plan's rules in order, each with its part and either its `Conditions` or,
for a rule without, a test that gives its denying codes from a `Request`.
"""


class _Writer:
    """
    Writes the source of a plan's functions, binding what the expressions read in *bound*.

    *variables* names the request's fields in the function written: a
    plan's channel and action are constants, its purpose and group arguments.
    """

    def __init__(self, bound: dict[str, object], variables: Mapping[str, str], tag: str) -> None:
        self.bound = bound
        self.variables = {"rel": "rel", "at": "at", "group": "group", **variables}
        self.tag = tag

    def request(self) -> str:
        # A Request, for the tests of rules without conditions.
        v = self.variables
        return f"_request(({v['action']}, at, {v['channel']}, {v['purpose']}, group))"

    def denies(self, entries: Entries) -> str:
        # One expression that holds when any rule of *entries* denies.
        parts: list[str] = []
        for n, (leaf, _, spec) in enumerate(entries):
            prefix = f"_{self.tag}{n}_"
            if not isinstance(spec, Conditions):
                self.bound[f"{prefix}test"] = spec
                self.bound[f"{prefix}P"] = leaf
                parts.append(f"{prefix}test(rel, {self.request()}, {prefix}P)")
                continue
            if not spec.denials:
                continue
            rewrite = self.rewriter(spec, prefix, leaf)
            denies = " or ".join(
                rewrite(d.when if isinstance(d, Deny) else d.codes) for d in spec.denials
            )
            if spec.unless is not None:
                denies = f"not {rewrite(spec.unless)} and ({denies})"
            parts.append(f"({denies})")
        return " or ".join(parts) or "False"

    def rewriter(self, spec: Conditions, prefix: str, leaf: Policy) -> Callable[[str], str]:
        names = _Names(self.variables, spec.names, prefix, self.bound, leaf)

        def rewrite(expression: str) -> str:
            return _rewrite(expression, names)

        return rewrite

    def codes(self, entries: Entries) -> list[str]:
        # Statements that leave in ``found`` the codes *entries* deny with, each once.
        lines = ["    found = ()"]
        static: list[str] = []
        dynamic = False
        for n, (leaf, _, spec) in enumerate(entries):
            prefix = f"_{self.tag}{n}_"
            if not isinstance(spec, Conditions):
                lines.append(f"    codes = {prefix}test(rel, {self.request()}, {prefix}P)")
                lines.append("    if codes:")
                lines.append("        found = found + codes")
                dynamic = True
                continue
            lines.extend(
                _codes_lines(spec, self.rewriter(spec, prefix, leaf), self.bound, prefix, "    ")
            )
            static.extend(d.code for d in spec.denials if isinstance(d, Deny))
            dynamic = dynamic or any(isinstance(d, DenyWith) for d in spec.denials)
        if dynamic or len(set(static)) < len(static):
            self.bound["_unique"] = _unique
            lines.append("    if len(found) > 1:")
            lines.append("        found = _unique(found)")
        return lines


def _title(action: Action, channel: Channel | None) -> str:
    return f"{action.value} on {'any channel' if channel is None else channel.value}"


def compile_plan(
    entries: Entries,
    action: Action,
    channel: Channel | None,
    make_request: Callable[..., Request],
) -> tuple[PlanPasses, PlanCodes]:
    """
    Fuse the denial conditions of a plan's rules for *action* on *channel* into two functions.

    Args:
        entries: The plan's rules; see `Entries`.
        action: The action, bound as a constant.
        channel: The resolved channel, bound as a constant.
        make_request: Builds the `Request` a test without conditions needs,
            from ``(action, at, channel, purpose, group)``.

    Returns:
        ``(passes, codes)``, both called as ``f(rel, at, purpose, group)``:
        whether no rule denies, and the codes the rules deny with, each once,
        in order. A rule that fails makes either raise.
    """
    bound: dict[str, object] = {"_action": action, "_channel": channel, "_request": make_request}
    writer = _Writer(bound, {"channel": "_channel", "action": "_action", "purpose": "purpose"}, "r")
    source = "\n".join(
        [
            "def passes(rel, at, purpose, group):",
            f"    return not ({writer.denies(entries)})",
            "",
            "",
            "def codes(rel, at, purpose, group):",
            *writer.codes(entries),
            "    return found",
            "",
        ]
    )
    defined = _define(source, bound, f"plan of {_title(action, channel)}")
    return defined["passes"], defined["codes"]


Suggest: TypeAlias = "Callable[[Relationship, datetime, str | None], tuple[Action, ...]]"
"""
The actions a denial suggests that their plans allow, from ``(rel, at, group)``.
"""


def compile_suggestions(
    alternatives: Sequence[tuple[Action, Channel | None, PurposeLike | None, Entries]],
    make_request: Callable[..., Request],
) -> Suggest:
    """
    Fuse the plans of the actions a denial may suggest into one function.

    Args:
        alternatives: In the order they are suggested, each action with its
            resolved channel and purpose, and its plan's rules.
        make_request: As for `compile_plan`.

    Returns:
        A function of ``(rel, at, group)`` that returns the actions whose
        plans allow them, in order: one shared tuple for each combination. An
        action whose rules fail is left out.
    """
    bound: dict[str, object] = {"_request": make_request}
    lines = ["def suggest(rel, at, group):", "    found = 0"]
    for k, (action, channel, purpose, entries) in enumerate(alternatives):
        bound[f"_a{k}_action"] = action
        bound[f"_a{k}_channel"] = channel
        bound[f"_a{k}_purpose"] = purpose
        names = {f: f"_a{k}_{f}" for f in ("action", "channel", "purpose")}
        writer = _Writer(bound, names, f"a{k}r")
        lines.extend(
            [
                "    try:",
                f"        if not ({writer.denies(entries)}):",
                f"            found |= {1 << k}",
                "    except Exception:",
                "        pass",
            ]
        )
    actions = [action for action, _, _, _ in alternatives]
    bound["_SUGGESTED"] = tuple(
        tuple(action for k, action in enumerate(actions) if mask & (1 << k))
        for mask in range(1 << len(actions))
    )
    lines.append("    return _SUGGESTED[found]")
    title = "suggestions after " + ", ".join(a.value for a in actions)
    suggest: Suggest = _define("\n".join(lines) + "\n", bound, title)["suggest"]
    return suggest


def _unique(codes: Codes) -> Codes:
    # Each code once, in order: two rules (or parts) may deny with the same code.
    if len(set(codes)) == len(codes):
        return codes
    return tuple(dict.fromkeys(codes))
