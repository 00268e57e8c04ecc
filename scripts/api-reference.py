#!/usr/bin/env python3
"""Writes docs/api-reference.md from proto/kspm/v1/posture.proto: every RPC, message, field
and enum value with the comment the contract gives it (buf lint requires one on each).

    scripts/api-reference.py           # rewrite docs/api-reference.md
    scripts/api-reference.py --check   # exit 1 when docs/api-reference.md is not current
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROTO = ROOT / "proto/kspm/v1/posture.proto"
DOC = ROOT / "docs/api-reference.md"


def cell(text):
    return text.replace("|", "\\|").strip()


def parse(text):
    service, messages, enums = [], [], []
    stack = []  # (kind, name, rows, doc)
    comment = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            comment.append(line[2:].strip())
            continue
        doc = " ".join(comment)
        if not line:
            comment = []
            continue
        m = re.match(r"(service|message|enum)\s+(\w+)\s*\{(\s*\})?", line)
        if m:
            kind, name, closed = m.groups()
            full = ".".join([s[1] for s in stack if s[0] != "service"] + [name])
            if closed:
                {"service": service, "message": messages, "enum": enums}[kind].append((full, doc, []))
            else:
                stack.append((kind, full, [], doc))
            comment = []
            continue
        if line.startswith("}"):
            kind, name, rows, doc_ = stack.pop()
            {"service": service, "message": messages, "enum": enums}[kind].append((name, doc_, rows))
            comment = []
            continue
        if stack:
            kind = stack[-1][0]
            if kind == "service":
                m = re.match(r"rpc\s+(\w+)\s*\((stream\s+)?([\w.]+)\)\s*returns\s*\((stream\s+)?([\w.]+)\)\s*;", line)
                if not m:
                    sys.exit(f"{PROTO.name}: cannot read `{line}` in service {stack[-1][1]}")
                if m:
                    name, _, req, stream, resp = m.groups()
                    stack[-1][2].append((name, req, ("stream " if stream else "") + resp, doc))
            elif kind == "message":
                m = re.match(r"((?:repeated|optional)\s+)?(map\s*<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(\[[^\]]*\])?\s*;\s*(//.*)?$", line)
                if not m:
                    sys.exit(f"{PROTO.name}: cannot read `{line}` in message {stack[-1][1]}")
                label, ty, name, num, _, trailing = m.groups()
                if trailing:
                    doc = (doc + " " + trailing[2:].strip()).strip()
                stack[-1][2].append((name, (label or "") + ty, num, doc))
            elif kind == "enum":
                m = re.match(r"(\w+)\s*=\s*(\d+)\s*;", line)
                if not m:
                    sys.exit(f"{PROTO.name}: cannot read `{line}` in enum {stack[-1][1]}")
                stack[-1][2].append((m.group(1), m.group(2), doc))
        comment = []
    return service, messages, enums


def render(service, messages, enums):
    out = [
        "# kspm.v1 API reference",
        "",
        "Generated from [`proto/kspm/v1/posture.proto`](../proto/kspm/v1/posture.proto) by",
        "`scripts/api-reference.py` (a test fails when it is not current). How to call it,",
        "authenticate and page: [`api.md`](api.md).",
        "",
    ]
    for name, doc, rpcs in service:
        out += [f"## Service `{name}`", "", doc, "", "| RPC | Request | Response | What it does |", "|---|---|---|---|"]
        for rpc, req, resp, rdoc in rpcs:
            out.append(f"| `{rpc}` | [`{req}`](#{req.lower()}) | `{resp}` | {cell(rdoc)} |")
        out.append("")
    out += ["## Messages", ""]
    for name, doc, fields in sorted(messages):
        out += [f"### {name}", "", doc, ""]
        if fields:
            out += ["| Field | Type | # | Meaning |", "|---|---|---|---|"]
            for fname, ty, num, fdoc in fields:
                out.append(f"| `{fname}` | `{ty}` | {num} | {cell(fdoc)} |")
            out.append("")
    out += ["## Enums", ""]
    for name, doc, values in sorted(enums):
        out += [f"### {name}", "", doc, "", "| Value | # | Meaning |", "|---|---|---|"]
        for vname, num, vdoc in values:
            out.append(f"| `{vname}` | {num} | {cell(vdoc)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main():
    text = render(*parse(PROTO.read_text()))
    if "--check" in sys.argv[1:]:
        if DOC.read_text() != text if DOC.exists() else True:
            sys.exit("docs/api-reference.md is not current: run scripts/api-reference.py")
        return
    DOC.write_text(text)


if __name__ == "__main__":
    main()
