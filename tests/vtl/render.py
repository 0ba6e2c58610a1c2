"""Renders API Gateway mapping templates with a real VTL engine (airspeed-ext, the engine
LocalStack uses), with the $input, $util and $context objects API Gateway provides.

Reads a JSON list of cases on stdin: {"template", "body", "params"?: {"querystring", "header",
"path"}, "context"?: {...}}; writes a JSON list of {"ok": rendered, "status": override} or
{"error": message}, where override is what the template set in
$context.responseOverride.status (null if nothing), and "overrides" what it set in
$context.requestOverride (the integration's headers, such as X-Amz-Target).
"""

import base64
import json
import sys
import urllib.parse

import airspeed


def escape_javascript(value):
    """Apache Commons Lang 2 StringEscapeUtils.escapeJavaScript, which API Gateway uses:
    escapes ' as \\' (not valid JSON: templates must undo it), / as \\/, and every UTF-16
    code unit outside printable ASCII as \\uXXXX."""
    if value is None:
        return None
    text = str(value)
    out = []
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        ch = int.from_bytes(units[i:i + 2], "little")
        c = chr(ch) if ch < 0xD800 or ch > 0xDFFF else None
        if ch > 0x7F:
            out.append("\\u%04X" % ch)
        elif ch < 32:
            named = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
            out.append(named.get(ch, "\\u%04X" % ch))
        elif c == "'":
            out.append("\\'")
        elif c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "/":
            out.append("\\/")
        else:
            out.append(c)
    return "".join(out)


def json_path(document, path):
    """The subset of JSONPath the templates use: $ and $.a.b."""
    if path == "$":
        return document
    assert path.startswith("$."), path
    node = document
    for part in path[2:].split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class Input:
    def __init__(self, body, params):
        self._body = body or ""
        try:
            self._doc = json.loads(self._body) if self._body else {}
        except ValueError:
            self._doc = {}
        self._params = params

    @property
    def body(self):
        return self._body

    def path(self, p):
        return json_path(self._doc, p)

    def json(self, p):
        value = json_path(self._doc, p)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def params(self, name=None):
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            if name in self._params.get(where, {}):
                return self._params[where][name]
        return ""


class Util:
    def escapeJavaScript(self, value):
        return escape_javascript(value)

    def base64Encode(self, value):
        return base64.b64encode(str(value).encode("utf-8")).decode("ascii")

    def base64Decode(self, value):
        return base64.b64decode(str(value).encode("ascii")).decode("utf-8")

    def urlEncode(self, value):
        return urllib.parse.quote_plus(str(value), safe="")

    def urlDecode(self, value):
        return urllib.parse.unquote_plus(str(value))

    def parseJson(self, value):
        return json.loads(value)


def render(case):
    params = case.get("params") or {}
    for where in ("path", "querystring", "header"):
        params.setdefault(where, {})
    context = {
        "requestId": "c0ffee00-0000-4000-8000-000000000000",
        "requestTimeEpoch": 1790000000000,
        "stage": "prod",
        "responseOverride": {"header": {}},
        "requestOverride": {"header": {}, "querystring": {}, "path": {}},
    }
    context.update(case.get("context") or {})
    namespace = {
        "input": Input(case.get("body"), params),
        "util": Util(),
        "context": context,
    }
    rendered = airspeed.Template(case["template"]).merge(namespace)
    return rendered, context["responseOverride"].get("status"), context["requestOverride"]


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            rendered, status, overrides = render(case)
            results.append({"ok": rendered, "status": status, "overrides": overrides})
        except Exception as exc:  # a template the engine cannot render is a test failure
            results.append({"error": "%s: %s" % (type(exc).__name__, exc)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
