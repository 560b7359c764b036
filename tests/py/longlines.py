"""Checks muster's output of ranks that wrote long lines (t1700).

usage: longlines.py NRANKS NLINES LEN TAGGED < output
Each rank R wrote NLINES lines of LEN times the digit R.  Every output
line must hold one rank's digits only: "[R] " + digits, or "[R]+ " +
digits (the rest of rank R's line, records.h), or without --tag bare
digits.  Joined, each rank's pieces give its lines back whole.  Prints
what is wrong and exits 1.
"""
import re
import sys

n, nlines, length, tagged = (int(a) for a in sys.argv[1:5])
lines = {r: [] for r in range(n)}
last = None
bad = 0
for raw in sys.stdin.buffer.read().decode().split("\n")[:-1]:
    m = re.match(r"^\[(\d+)\](\+?) (.*)$", raw, re.S)
    if m:
        r, cont, text = int(m.group(1)), m.group(2) == "+", m.group(3)
        if not cont and not tagged:
            print("a tag without --tag:", raw[:20]); bad = 1
    elif tagged:
        print("an untagged line:", raw[:20]); bad = 1
        continue
    else:
        r, cont, text = (int(raw[0]) if raw else -1), False, raw
    if r not in lines or text.strip(str(r)) != "":
        print("a line that mixes ranks or bytes:", raw[:20]); bad = 1
        continue
    if cont:
        if not lines[r]:
            print("a continuation before any line of rank", r); bad = 1
            continue
        lines[r][-1] += text
    else:
        lines[r].append(text)
for r in range(n):
    got = [len(l) for l in lines[r]]
    if got != [length] * nlines:
        print("rank", r, "lines", got[:10], "want", nlines, "x", length)
        bad = 1
sys.exit(bad)
