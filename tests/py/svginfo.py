#!/usr/bin/python3
"""svginfo.py FILE.svg: what a `muster plot` chart holds, as one JSON
object: {"width", "height", "charts": [{"metric", "title", "area":
[x, y, w, h], "series": [{"label", "stroke", "points"}], "legend":
[label...], "xticks": [...], "yticks": [...], "axis_titles": [...]}]}.
Parsing it with xml.etree is the test that it is well-formed XML.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def cls(e):
    return (e.get("class") or "").split()


def main():
    root = ET.parse(sys.argv[1]).getroot()
    assert root.tag == NS + "svg", root.tag
    out = {"width": float(root.get("width")), "height": float(root.get("height")),
           "charts": []}
    for g in root.iter(NS + "g"):
        if "chart" not in cls(g):
            continue
        c = {"metric": g.get("data-metric"), "series": [], "legend": [],
             "xticks": [], "yticks": [], "axis_titles": []}
        for e in g.iter():
            k = cls(e)
            if e.tag == NS + "path" and "series" in k:
                pts = re.findall(r"[ML]([-0-9.]+),([-0-9.]+)", e.get("d"))
                c["series"].append({"label": e.get("data-series"), "stroke": e.get("stroke"),
                                    "points": len(pts)})
            elif e.tag == NS + "g" and "legend-entry" in k:
                c["legend"].append(e.get("data-series"))
            elif e.tag == NS + "text" and "tick" in k:
                c["xticks" if "x" in k else "yticks"].append(float(e.text))
            elif e.tag == NS + "text" and "axis-title" in k:
                c["axis_titles"].append(e.text)
            elif e.tag == NS + "text" and "title" in k:
                c["title"] = e.text
            elif e.tag == NS + "rect" and "plot-area" in k:
                c["area"] = [float(e.get(a)) for a in ("x", "y", "width", "height")]
        out["charts"].append(c)
    print(json.dumps(out))


main()
