"""Save-time syntax check of a rule: compiled, never run.

Python goes through `compile()` (the symbol-table errors `ast.parse` lets through included).
JavaScript is compiled by QuickJS, the engine the workers run it in, wrapped the same way the
worker wraps it (`var __identaRule = <script>`) inside `new Function(...)`: constructing the
function compiles the body without calling it, so nothing in the script executes.
"""

from __future__ import annotations

import ast
import re

from identa.core.errors import InvalidInput

JS_MEMORY = 32 << 20
JS_STACK = 512 * 1024
JS_TIME_S = 2.0
# `new Function(body)` puts two lines of its own before the body.
JS_LINE_OFFSET = 2
JS_POSITION = re.compile(r"at <input>:(\d+)")


class RuleSyntaxError(InvalidInput):
    code = "invalid_body"


def check_python(script: str) -> None:
    try:
        tree = ast.parse(script, filename="<rule>")
        compile(tree, "<rule>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise RuleSyntaxError(f"SyntaxError: {exc.msg} (line {exc.lineno})") from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise RuleSyntaxError(f"SyntaxError: {exc}") from None
    if not any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "rule"
        for node in tree.body
    ):
        raise RuleSyntaxError("a Python rule must define rule(user, context, configuration, api)")


def _js_message(raw: str, script: str) -> str:
    first = raw.split("\n", 1)[0].strip() or "SyntaxError"
    found = JS_POSITION.search(raw)
    if found is None:
        return first
    line = int(found.group(1)) - JS_LINE_OFFSET
    lines = script.count("\n") + 1
    if line > lines:
        return f"{first} (at the end of the script)"
    return f"{first} (line {max(line, 1)})"


def check_javascript(script: str) -> None:
    import quickjs  # type: ignore[import-untyped]

    body = script.lstrip()
    if not body.startswith(("function", "async function", "(")):
        raise RuleSyntaxError("a JavaScript rule must be a function (user, context, callback)")
    context = quickjs.Context()
    context.set_memory_limit(JS_MEMORY)
    context.set_max_stack_size(JS_STACK)
    context.set_time_limit(JS_TIME_S)
    construct = context.get("Function")
    try:
        construct("var __identaRule = " + body + "\n;return __identaRule;")
    except quickjs.JSException as exc:
        # Leading whitespace was stripped: report lines of the script as saved.
        skipped = script[: len(script) - len(body)].count("\n")
        message = _js_message(str(exc), body)
        found = re.search(r"\(line (\d+)\)$", message)
        if found is not None and skipped:
            message = message[: found.start()] + f"(line {int(found.group(1)) + skipped})"
        raise RuleSyntaxError(message) from None


def check_syntax(script: str, runtime: str) -> None:
    """Raises RuleSyntaxError (an InvalidInput) with the compiler's message."""
    if runtime == "python":
        check_python(script)
    else:
        check_javascript(script)
