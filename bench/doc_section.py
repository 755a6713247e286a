#!/usr/bin/env python3
"""Replaces one section of docs/BENCHMARKS.md, the text between
<!-- BEGIN name --> and <!-- END name -->, or adds it (before the section
named by `before`, else at the end).

usage as a program: bench/doc_section.py NAME FILE   (FILE holds the new text)"""
import os
import sys

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "BENCHMARKS.md")


def replace_section(name, section, before=None):
    begin, end = "<!-- BEGIN %s -->" % name, "<!-- END %s -->" % name
    doc = open(DOC).read()
    if begin in doc:
        doc = doc[:doc.index(begin) + len(begin)] + "\n" + section + doc[doc.index(end):]
    elif before and "<!-- BEGIN %s -->" % before in doc:
        anchor = "<!-- BEGIN %s -->" % before
        doc = doc.replace(anchor, begin + "\n" + section + end + "\n\n" + anchor, 1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + begin + "\n" + section + end + "\n"
    open(DOC, "w").write(doc)


if __name__ == "__main__":
    replace_section(sys.argv[1], open(sys.argv[2]).read())
