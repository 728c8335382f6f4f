"""Reference renderer for goformer's chat template tests.

Renders each case with Python's jinja2 configured the way Hugging Face
transformers renders chat templates (sandboxed, trim_blocks, lstrip_blocks,
raise_exception, strftime_now, a tojson that keeps non-ASCII characters).
stdin: JSON array of {template, vars}; stdout: JSON array of {text} or {error}.
"""
import json
import sys
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime(2026, 11, 26, 12, 0, 0).strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

out = []
for case in json.load(sys.stdin):
    try:
        out.append({"text": env.from_string(case["template"]).render(**case["vars"])})
    except Exception as e:  # the error text is compared loosely
        out.append({"error": str(e)})
json.dump(out, sys.stdout)
