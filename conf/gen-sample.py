#!/usr/bin/env python3
"""Writes conf/sendercheck.conf from the option table in common/engine/options.c,
so that the sample documents every option exactly as the table does (a
unit test checks it). Run after changing the table: conf/gen-sample.py"""
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, "..", "common", "engine", "options.c")).read()
table = src[src.index("config_options[] = {"):src.index("const size_t config_n_options")]
# Set in the sample, unlike the built-in default: a packaged or installed
# daemon runs as its own user, while a bare default stays as it is started.
SAMPLE_SETS = {"UserID": "sendercheck"}
rows = re.findall(r'\{ "([\w-]+)", (\w+), "([^"]*)",\s*((?:"(?:[^"\\]|\\.)*"\s*)+),([^}]*)\}', table)
out = ["# sendercheck.conf: configuration of the sendercheck milter.",
       "#",
       '# Format: one "Key value" per line; "#" starts a comment; keys are',
       "# case-insensitive. Every option is listed below with its one-line",
       "# description and its default; a commented-out line shows the default,",
       "# a line that is not commented out sets another value.",
       "# Check a file with: sendercheck -n -c FILE",
       "# SIGHUP (or SIGUSR1) makes the daemon read this file again; options",
       "# whose changes take effect at restart keep their running value.",
       ""]
for name, _type, default, doc, rest in rows:
    doc = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', doc))
    out.append("## %s: %s" % (name, doc))
    out.append("## Default: %s" % (default or "(empty)"))
    if "OPTF_RESTART" in rest:
        out.append("## Changes take effect at restart, not at reload.")
    if name in SAMPLE_SETS:
        out.append("%s %s" % (name, SAMPLE_SETS[name]))
    else:
        out.append("#%s %s" % (name, default) if default else "#%s" % name)
    out.append("")
with open(os.path.join(here, "sendercheck.conf"), "w") as f:
    f.write("\n".join(out))
print("%d options" % len(rows))
