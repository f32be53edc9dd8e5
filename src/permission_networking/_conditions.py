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

A rule may also say when it *applies*, by an expression over ``action`` and
``channel`` alone: a plan, whose action and channel are constants, leaves
out the conditions of a rule that does not apply to them.

A rule may name values its expressions read (*lets*), each an expression
over the same names. A plan works out each such value once, before its
rules, and shares it between rules that name the same expression over the
same settings and helpers: under a law, etiquette's marketing rule and the
law's own consent rule look for the contact's consent once.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import linecache

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import CodeType
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from ._decision import WARNING_CODES, checked_reasons


if TYPE_CHECKING:
    from ._decision import Reason
    from ._policy import Policy
    from ._relationship import Relationship
    from ._rules import Codes, Request, Rule, RuleCheck
    from ._values import Action, Channel, PurposeLike

__all__ = [
    "Checked",
    "Conditions",
    "Denial",
    "Deny",
    "DenyWith",
    "Entries",
    "PlanCodes",
    "PlanPasses",
    "Suggest",
    "codes_of",
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
class Checked:
    """
    The codes of the denying reasons of the rule's own check, which is run.

    For a rule whose conditions say only when it allows (``unless``), and
    leave the rest to its check.
    """


Denial: TypeAlias = Deny | DenyWith | Checked
"""
One part of what a rule denies with.
"""


@attrs.frozen
class Conditions:
    """
    What a rule's check denies with, for `compile_plan` and `compile_rule`.

    Attributes:
        denials: In the order the check reports their reasons.
        unless: An expression under which the rule denies nothing; None for none.
        names: Where the expressions' other names are found: the globals of
            the module that defines the check.
        check: The rule's check, which `Checked` runs.
        applies: An expression over ``action`` and ``channel`` alone, under
            which the rule may deny; None for always. Where it does not
            hold, the rule denies nothing.
        lets: Names the other expressions read, each with the expression
            that gives its value; worked out before them, in order.
    """

    denials: tuple[Denial, ...]
    unless: str | None
    names: Mapping[str, object] = attrs.field(repr=False, eq=False)
    check: RuleCheck | None = attrs.field(default=None, repr=False, eq=False)
    applies: str | None = None
    lets: tuple[tuple[str, str], ...] = ()

    def expressions(self) -> Iterator[str]:
        """
        Every expression: ``applies``, the lets' and ``unless`` first.
        """
        if self.applies is not None:
            yield self.applies
        for _, expression in self.lets:
            yield expression
        if self.unless is not None:
            yield self.unless
        for denial in self.denials:
            if isinstance(denial, Deny):
                yield denial.when
            elif isinstance(denial, DenyWith):
                yield denial.codes


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


class _Names:
    """
    How an expression's names read in the function it is compiled into.

    *variables* maps the request's and the relationship's names to what they
    are called there. With a *policy*, ``policy.X`` becomes a constant bound
    in *bound*, as does every helper the expression reads (found in
    *names*, under *prefix*); without one, ``policy`` stays a variable.
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


_Binding: TypeAlias = tuple[str, str, str]
# A name a rewritten expression reads, and what it is bound to: a setting of
# the policy ("setting", attribute), the policy itself ("policy", ""), or a
# helper of the check's module ("helper", name).


class _Rewriter(ast.NodeTransformer):
    # Rewrites one expression for *names*, noting what each new name is bound to.

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.bindings: list[_Binding] = []

    def _bind(self, binding: _Binding, node: ast.AST) -> ast.Name:
        self.bindings.append(binding)
        return ast.copy_location(ast.Name(binding[0], ast.Load()), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        target = node.value
        policy = self.names.policy
        if policy is not None and isinstance(target, ast.Name) and target.id == "policy":
            getattr(policy, node.attr)  # an unknown setting fails here, not in a guard
            name = f"{self.names.prefix}P_{node.attr}"
            return self._bind((name, "setting", node.attr), node)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        names = self.names
        if name == "policy" and names.policy is not None:
            return self._bind((f"{names.prefix}P", "policy", ""), node)
        variable = names.variables.get(name)
        if variable is not None:
            return ast.copy_location(ast.Name(variable, ast.Load()), node)
        if name in names.names:
            return self._bind((f"{names.prefix}N_{name}", "helper", name), node)
        if hasattr(builtins, name):
            return node
        msg = f"a denial condition reads {name!r}, which is neither a variable nor defined"
        raise NameError(msg)


# Expressions rewritten, by what the rewriting reads: a policy built anew with
# other settings compiles its plans without parsing a condition again. Each
# entry keeps the helpers' mapping it was keyed by id on alive.
_REWRITTEN: dict[tuple[object, ...], tuple[str, tuple[_Binding, ...], Mapping[str, object]]] = {}
_REWRITTEN_MAX = 4096


def _rewrite(expression: str, names: _Names) -> str:
    return _rewritten(expression, names)[0]


def _rewritten(expression: str, names: _Names) -> tuple[str, tuple[_Binding, ...]]:
    # The expression as it reads here, and the names it binds.
    key = (
        expression,
        names.prefix,
        tuple(names.variables.items()),
        id(names.names),
        names.policy is None,
    )
    found = _REWRITTEN.get(key)
    if found is None or found[2] is not names.names:
        rewriter = _Rewriter(names)
        tree = rewriter.visit(ast.parse(expression.strip(), mode="eval"))
        found = (f"({ast.unparse(tree)})", tuple(rewriter.bindings), names.names)
        if len(_REWRITTEN) >= _REWRITTEN_MAX:
            _REWRITTEN.clear()
        _REWRITTEN[key] = found
    text, bindings, _ = found
    for name, kind, key_ in bindings:
        if kind == "setting":
            names.bound[name] = getattr(names.policy, key_)
        elif kind == "policy":
            names.bound[name] = names.policy
        else:
            names.bound[name] = names.names[key_]
    return text, bindings


# Code by source: the source names the settings and helpers it reads without
# their values, so plans of the same rules share it whatever their settings.
_CODE: dict[str, CodeType] = {}
_CODE_MAX = 1024


def _define(source: str, bound: dict[str, object], title: str) -> dict[str, Any]:
    # Run *source* with *bound* as its globals and return them, with what it
    # defined; the source is kept in linecache, so that a traceback through a
    # compiled function shows its lines.
    code = _CODE.get(source)
    if code is None:
        digest = hashlib.blake2s(source.encode(), digest_size=6).hexdigest()
        filename = f"<permission_networking {title} {digest}>"
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        code = compile(source, filename, "exec")
        if len(_CODE) >= _CODE_MAX:
            # Their sources go too: linecache never lets go of them itself.
            for forgotten in _CODE.values():
                linecache.cache.pop(forgotten.co_filename, None)
            _CODE.clear()
        _CODE[source] = code
    namespace: dict[str, Any] = dict(bound)
    exec(code, namespace)  # noqa: S102
    return namespace


def codes_of(reasons: Iterable[Reason] | None) -> Codes:
    """
    Return the codes of the denying reasons among *reasons*, each once, in order.

    Raises:
        TypeError: *reasons* is not a sequence of `Reason` values (see
            `checked_reasons`): a rule check that forgot to return, or
            returned something else, fails, and so denies with
            ``rule_error``, rather than allow.
    """
    found = checked_reasons(reasons)
    if not found:
        return ()
    return tuple(dict.fromkeys(r.code for r in found if r.code not in WARNING_CODES))


_Parts: TypeAlias = "tuple[str | None, list[tuple[str, str | None]]]"
# A rule's conditions as they read in a function written: the ``unless``
# expression, and each denial as (expression, its code), where the code is
# None when the expression gives the codes itself.


def applies(conditions: Conditions, action: Action, channel: Channel | None) -> bool:
    """
    Whether a rule with *conditions* may deny *action* on *channel*.
    """
    if conditions.applies is None:
        return True
    code = _APPLIES.get(conditions.applies)
    if code is None:
        code = _APPLIES[conditions.applies] = compile(
            conditions.applies.strip(), "<applies>", "eval"
        )
    names = conditions.names
    scope = names if isinstance(names, dict) else dict(names)
    return bool(eval(code, scope, {"action": action, "channel": channel}))  # noqa: S307


_APPLIES: dict[str, CodeType] = {}


def _parts(spec: Conditions, names: _Names, request: str, policy: str) -> _Parts:
    prefix = names.prefix
    unless = None if spec.unless is None else _rewrite(spec.unless, names)
    denials: list[tuple[str, str | None]] = []
    for denial in spec.denials:
        if isinstance(denial, Deny):
            denials.append((_rewrite(denial.when, names), denial.code))
        elif isinstance(denial, DenyWith):
            denials.append((_rewrite(denial.codes, names), None))
        else:
            names.bound[f"{prefix}check"] = spec.check
            names.bound[f"{prefix}codes_of"] = codes_of
            denials.append((f"{prefix}codes_of({prefix}check(rel, {request}, {policy}))", None))
    return unless, denials


def _denies(parts: _Parts) -> str | None:
    # One expression that holds when the rule denies; None when it never does.
    unless, denials = parts
    if not denials:
        return None
    denies = " or ".join(expression for expression, _ in denials)
    return f"(not {unless} and ({denies}))" if unless is not None else f"({denies})"


def _codes_lines(parts: _Parts, bound: dict[str, object], prefix: str) -> list[str]:
    # Statements that add the codes the rule denies with to ``found``.
    unless, denials = parts
    lines: list[str] = []
    indent = "    "
    if unless is not None and denials:
        lines.append(f"    if not {unless}:")
        indent = "        "
    for n, (expression, code) in enumerate(denials):
        if code is not None:
            constant = f"{prefix}K{n}"
            bound[constant] = (code,)
            lines.append(f"{indent}if {expression}:")
            lines.append(f"{indent}    found = found + {constant}")
        else:
            lines.append(f"{indent}codes = {expression}")
            lines.append(f"{indent}if codes:")
            lines.append(f"{indent}    found = found + codes")
    return lines


def _dedupe(parts: Sequence[_Parts], bound: dict[str, object]) -> list[str]:
    # Each code once: two rules (or parts) may deny with the same code.
    codes = [code for _, denials in parts for _, code in denials]
    static = [code for code in codes if code is not None]
    if len(static) == len(codes) and len(set(static)) == len(static):
        return []
    bound["_unique"] = _unique
    return ["    if len(found) > 1:", "        found = _unique(found)"]


def compile_rule(conditions: Conditions, name: str) -> SlowTest:
    """
    Return a rule's denial test, ``(rel, req, policy) -> codes``, compiled from its *conditions*.
    """
    bound: dict[str, object] = {}
    from ._rules import Request  # noqa: PLC0415  (_rules imports this module)

    variables = {name: name for name in ("rel", "at", "policy", *Request._fields)}
    variables.update((name, name) for name, _ in conditions.lets)
    names = _Names(variables, conditions.names, "_", bound, None)
    parts = _parts(conditions, names, "req", "policy")
    lines = ["def test(rel, req, policy):", "    action, at, channel, purpose, group = req"]
    if conditions.applies is not None:
        lines.extend([f"    if not {_rewrite(conditions.applies, names)}:", "        return ()"])
    lines.extend(f"    {name} = {_rewrite(value, names)}" for name, value in conditions.lets)
    lines += ["    found = ()", *_codes_lines(parts, bound, "_"), "    return found"]
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
        self.lets: list[str] = []
        self._shared: list[tuple[object, str]] = []

    def _let(self, expression: str, names: _Names) -> str:
        # The variable that holds the value of *expression*, as *names* read
        # it: a new one, assigned in `lets`, unless an earlier rule's is the
        # same expression over the same settings and helpers.
        text, bindings = _rewritten(expression, names)
        values = [self.bound[name] for name, _, _ in bindings]
        key = (
            expression,
            tuple(names.variables.items()),
            [
                (kind, what, type(value), value)
                for (_, kind, what), value in zip(bindings, values, strict=True)
            ],
        )
        for seen, variable in self._shared:
            if seen == key:
                return variable
        variable = f"_{self.tag}v{len(self._shared)}"
        self._shared.append((key, variable))
        self.lets.append(f"{variable} = {text}")
        return variable

    def _variables(self, spec: Conditions, leaf: Policy, prefix: str) -> Mapping[str, str]:
        # What the rule's expressions read, its lets' names included.
        if not spec.lets:
            return self.variables
        variables = dict(self.variables)
        for name, expression in spec.lets:
            names = _Names(variables, spec.names, prefix, self.bound, leaf)
            variables[name] = self._let(expression, names)
        return variables

    def parts(self, entries: Entries) -> list[_Parts]:
        """
        Each rule of *entries* as it reads here; the values of their lets go to `lets`.
        """
        v = self.variables
        # A Request, for the checks of rules without conditions, or whose conditions run them.
        request = f"_request(({v['action']}, at, {v['channel']}, {v['purpose']}, group))"
        action: Any = self.bound[v["action"]]
        channel: Any = self.bound[v["channel"]]
        found: list[_Parts] = []
        for n, (leaf, _, spec) in enumerate(entries):
            if isinstance(spec, Conditions) and not applies(spec, action, channel):
                continue
            prefix = f"_{self.tag}{n}_"
            self.bound[f"{prefix}P"] = leaf
            if isinstance(spec, Conditions):
                variables = self._variables(spec, leaf, prefix)
                names = _Names(variables, spec.names, prefix, self.bound, leaf)
                found.append(_parts(spec, names, request, f"{prefix}P"))
            else:
                self.bound[f"{prefix}test"] = spec
                found.append((None, [(f"{prefix}test(rel, {request}, {prefix}P)", None)]))
        return found

    @staticmethod
    def denies(parts: Sequence[_Parts]) -> str:
        """
        One expression that holds when any rule denies.
        """
        return " or ".join(filter(None, map(_denies, parts))) or "False"

    def codes(self, parts: Sequence[_Parts]) -> list[str]:
        """
        Statements that leave in ``found`` the codes the rules deny with, each once.
        """
        lines = ["    found = ()", *(f"    {line}" for line in self.lets)]
        for n, rule in enumerate(parts):
            lines.extend(_codes_lines(rule, self.bound, f"_{self.tag}{n}_"))
        return lines + _dedupe(parts, self.bound)


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
    parts = writer.parts(entries)
    source = "\n".join(
        [
            "def passes(rel, at, purpose, group):",
            *(f"    {line}" for line in writer.lets),
            f"    return not ({writer.denies(parts)})",
            "",
            "",
            "def codes(rel, at, purpose, group):",
            *writer.codes(parts),
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
        parts = writer.parts(entries)
        lines.extend(
            [
                "    try:",
                *(f"        {line}" for line in writer.lets),
                f"        if not ({writer.denies(parts)}):",
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
