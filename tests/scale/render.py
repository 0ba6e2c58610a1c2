"""Renders GET /status mapping templates like tests/vtl/render.py, and also reports the
request overrides a template sets ($context.requestOverride), which decide the DynamoDB
action of the integration (Scan, or Query on the status index).

Reads a JSON list of cases on stdin: {"template", "body"?, "params"?}; writes a JSON list of
{"ok": rendered, "overrides": {...}} or {"error": message}.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vtl"))

import airspeed  # noqa: E402
import render  # noqa: E402


def render_case(case):
    params = case.get("params") or {}
    for where in ("path", "querystring", "header"):
        params.setdefault(where, {})
    context = {
        "requestId": "c0ffee00-0000-4000-8000-000000000000",
        "stage": "prod",
        "requestOverride": {"header": {}, "querystring": {}, "path": {}},
    }
    namespace = {
        "input": render.Input(case.get("body"), params),
        "util": render.Util(),
        "context": context,
    }
    text = airspeed.Template(case["template"]).merge(namespace)
    return {"ok": text, "overrides": context["requestOverride"]}


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append(render_case(case))
        except Exception as exc:  # a template the engine cannot render is a test failure
            results.append({"error": "%s: %s" % (type(exc).__name__, exc)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
