"""check_svg.py — the runtime's pictures, checked as a browser, nbconvert or a grader reads them.

Runs test_charts OUT_DIR, which draws every picture from hand-made models and writes a manifest
(one JSON object a line: the file, its kind and what its model holds); then parses each picture
as XML and checks it against that: self-contained SVG with xmlns and viewBox, no NaN or infinity
in any number, the lanes, the lane cap's message, time axes with 3 to 12 ticks from 0 to at most
the duration, legends that list exactly the states drawn, CPU rows per core, one group per bar
label with whiskers and a dot per trial.

Usage: check_svg.py TEST_CHARTS OUT_DIR
"""
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
NUMERIC_ATTRIBUTES = {"x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy", "r",
                      "font-size", "stroke-width", "opacity", "fill-opacity", "data-t", "data-end"}
problems = []


def problem(file, message):
    problems.append("%s: %s" % (file, message))


def classes(element):
    return element.get("class", "").split()


def find_class(root, name, tag="*"):
    return [e for e in root.iter(SVG + tag if tag != "*" else tag) if name in classes(e)]


def text_of(element):
    return "".join(element.itertext())


def check_document(file, root):
    """What every picture must be: self-contained, scalable SVG with finite numbers."""
    if root.tag != SVG + "svg":
        problem(file, "root is %s, not an svg element in the SVG namespace" % root.tag)
    view = root.get("viewBox", "").split()
    if len(view) != 4 or not all(NUMBER.fullmatch(v) for v in view):
        problem(file, "no usable viewBox: %r" % root.get("viewBox"))
    for name in ("width", "height"):
        if not NUMBER.fullmatch(root.get(name, "")):
            problem(file, "root has no numeric %s" % name)
    for element in root.iter():
        tag = element.tag.replace(SVG, "")
        if tag in ("script", "style", "image", "foreignObject", "use"):
            problem(file, "<%s> makes the picture depend on more than itself" % tag)
        for name, value in element.attrib.items():
            if "href" in name:
                problem(file, "%s=%r links outside the picture" % (name, value))
            if re.search(r"nan|inf", value, re.I) and (name in NUMERIC_ATTRIBUTES or name in ("d", "points")):
                problem(file, "%s=%r on <%s> is not a finite number" % (name, value, tag))
            if name in NUMERIC_ATTRIBUTES and not NUMBER.fullmatch(value):
                problem(file, "%s=%r on <%s> is not a plain number" % (name, value, tag))
            if name in ("d", "points"):
                for n in NUMBER.findall(value):
                    if not math.isfinite(float(n)):
                        problem(file, "%s holds %s" % (name, n))


def check_time_axis(file, root, duration):
    axes = find_class(root, "time-axis", "g")
    if len(axes) != 1:
        problem(file, "%d time axes, want 1" % len(axes))
        return
    end = float(axes[0].get("data-end"))
    ticks = [float(t.get("data-t")) for t in find_class(axes[0], "tick", "text")]
    if not 3 <= len(ticks) <= 12:
        problem(file, "%d ticks on the time axis, want 3 to 12" % len(ticks))
    if not ticks or ticks[0] != 0:
        problem(file, "the time axis does not start at 0: %s" % ticks[:1])
    if ticks and ticks[-1] > end * (1 + 1e-9):
        problem(file, "last tick %g is past the axis end %g" % (ticks[-1], end))
    if duration > 0 and abs(end - duration) > duration * 1e-5:
        problem(file, "the axis ends at %g, the trace lasted %g" % (end, duration))
    steps = [round(b - a, 12) for a, b in zip(ticks, ticks[1:])]
    if steps and (min(steps) <= 0 or max(steps) - min(steps) > max(steps) * 1e-6):
        problem(file, "ticks are not evenly spaced: %s" % ticks)
    labels = [text_of(t) for t in find_class(axes[0], "tick", "text")]
    if len(set(labels)) != len(labels):
        problem(file, "tick labels repeat: %s" % labels)


def check_timeline(file, root, want):
    lanes = find_class(root, "lane", "g")
    names = [g.get("data-lane") for g in lanes]
    shown = want["shown"]
    if len(lanes) != shown:
        problem(file, "%d lanes drawn, want %d" % (len(lanes), shown))
    if sorted(names) != sorted(want["names"][:shown]) and want["lanes"] <= shown:
        problem(file, "lane names %s, want %s" % (names, want["names"]))
    if not set(names) <= set(want["names"]):
        problem(file, "lanes not in the model: %s" % (set(names) - set(want["names"])))
    more = [text_of(t) for t in find_class(root, "more-lanes", "text")]
    hidden = want["lanes"] - shown
    if hidden and more != ["%d more lanes not shown" % hidden]:
        problem(file, "lane cap message %s, want '%d more lanes not shown'" % (more, hidden))
    if not hidden and more:
        problem(file, "a lane cap message with every lane shown: %s" % more)
    drawn = set()
    for rect in find_class(root, "span", "rect"):
        drawn |= {c[6:] for c in classes(rect) if c.startswith("state-")}
    untitled = 0
    for lane in lanes:  # a span has its hover text, or shares its merged run's
        for child in lane:
            if child.tag == SVG + "rect" and "span" in classes(child):
                untitled += child.find(SVG + "title") is None
            elif child.tag == SVG + "g" and "merged" in classes(child):
                untitled += child.find(SVG + "title") is None or not find_class(child, "span", "rect")
    if untitled:
        problem(file, "%d spans or merged runs without a hover <title>" % untitled)
    legend = {g.get("data-state") for g in find_class(root, "legend-entry", "g")}
    if legend != drawn:
        problem(file, "legend %s, states drawn %s" % (sorted(legend), sorted(drawn)))
    if not drawn <= set(want["states"]):
        problem(file, "states drawn that the model does not have: %s" % (drawn - set(want["states"])))
    if want["lanes"] <= shown and len(find_class(root, "flow", "g")) != want["flows"]:
        problem(file, "%d arrows, want %d" % (len(find_class(root, "flow", "g")), want["flows"]))
    notes = " ".join(text_of(t) for t in find_class(root, "note", "text"))
    if want["dropped"] and "%d events dropped" % want["dropped"] not in notes:
        problem(file, "the note does not say %d events were dropped: %r" % (want["dropped"], notes))
    if want["cpu_cores"] and len(find_class(root, "cpu-row", "g")) != want["cpu_cores"] + 1:
        problem(file, "CPU rows missing under the lanes")
    check_time_axis(file, root, want["duration"])


def check_cpu(file, root, want):
    rows = find_class(root, "cpu-row", "g")
    cores = sorted(int(g.get("data-core")) for g in rows if g.get("data-core") is not None)
    if cores != list(range(want["cores"])):
        problem(file, "rows for cores %s, want 0..%d" % (cores, want["cores"] - 1))
    if len([g for g in rows if "process" in classes(g)]) != 1:
        problem(file, "no single row for the process")
    for g in rows:
        if not find_class(g, "cpu-label", "text") or g.find(SVG + "path") is None:
            problem(file, "a CPU row without its label or its area")
    check_time_axis(file, root, want["duration"])


def check_bars(file, root, want):
    groups = find_class(root, "bar-group", "g")
    labels = [g.get("data-label") for g in groups]
    if labels != want["labels"]:
        problem(file, "bar groups %s, want %s" % (labels, want["labels"]))
    bars = find_class(root, "bar", "g")
    if len(bars) != want["bars"]:
        problem(file, "%d bars, want %d" % (len(bars), want["bars"]))
    for bar in bars:
        trials = len(find_class(bar, "trial", "circle"))
        if trials > 1 and len(find_class(bar, "whisker", "g")) != 1:
            problem(file, "a bar of %d trials without a whisker" % trials)
    dots = len(find_class(root, "trial", "circle"))
    if dots != want["trials"]:
        problem(file, "%d trial dots, want %d" % (dots, want["trials"]))
    legend = [g.get("data-series") for g in find_class(root, "legend-entry", "g")]
    if legend != want["series"]:
        problem(file, "legend %s, want %s" % (legend, want["series"]))
    width = float(root.get("width", "0"))
    for value in find_class(root, "value", "text"):  # the text after a bar stays in the picture
        right = float(value.get("x", "0")) + len(text_of(value)) * float(value.get("font-size", "11")) * 0.58
        if right > width:
            problem(file, "value text %r ends at x=%.0f, past the picture's width %.0f" % (text_of(value), right, width))
    axes = find_class(root, "value-axis", "g")
    ticks = [float(text_of(t)) for t in find_class(axes[0], "tick", "text")] if axes else []
    if not 3 <= len(ticks) <= 12 or 0 not in ticks:
        problem(file, "value axis ticks %s: want 3 to 12 of them, 0 among them" % ticks)


def check_text(file, text, want):
    """Problems of one picture, given as text."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        problem(file, "not well-formed XML: %s" % e)
        return
    check_document(file, root)
    {"timeline": check_timeline, "cpu": check_cpu, "bars": check_bars}[want["kind"]](file, root, want)


# Broken copies of the pictures that the checks above must catch: a checker that passes
# everything would pass these too.
MUTATIONS = [
    ("timeline-100lanes.svg", "36 more lanes not shown", "35 more lanes not shown"),
    ("timeline-100lanes.svg", ' xmlns="http://www.w3.org/2000/svg"', ""),
    ("timeline-8lanes-every-state.svg", 'data-state="gil"', 'data-state="nothing"'),
    ("timeline-8lanes-every-state.svg", 'width="', 'width="nan'),
    ("timeline-2lanes-1ms.svg", 'data-lane="main"', 'data-lane="mian"'),
    ("timeline-escaping.svg", "&lt;b&gt;", "<b>"),
    ("cpu-synthetic.svg", 'data-core="3"', 'data-core="7"'),
    ("bars-sample.svg", 'class="whisker"', 'class="no-whisker"'),
    ("bars-sample.svg", 'data-label="threads"', 'data-label="thread"'),
    ("bars-long-unit.svg", "(median of 5)", "(median of 5, and a longer text than there is room for)"),
]


def self_test(out_dir, wants):
    global problems
    missed = []
    for file, old, new in MUTATIONS:
        text = open(os.path.join(out_dir, file)).read()
        if old not in text:
            missed.append("%s: no %r to break" % (file, old))
            continue
        saved, problems = problems, []
        check_text(file, text.replace(old, new, 1), wants[file])
        caught, problems = problems, saved
        if not caught:
            missed.append("%s: replacing %r by %r went unnoticed" % (file, old, new))
    return missed


def main():
    program, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    run = subprocess.run([program, out_dir], capture_output=True, text=True)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        problems.append("%s failed (exit %d)" % (program, run.returncode))
    wants = {}
    # names that are not UTF-8 read as the pictures write them: a U+FFFD per bad byte
    for line in open(os.path.join(out_dir, "manifest.jsonl"), encoding="utf-8", errors="replace"):
        want = json.loads(line)
        wants[want["file"]] = want
        check_text(want["file"], open(os.path.join(out_dir, want["file"]), "rb").read(), want)
    checked = len(wants)
    problems.extend("self-test: " + m for m in self_test(out_dir, wants))
    for p in problems:
        print(p)
    print("check_svg: %d pictures checked, %d problems" % (checked, len(problems)))
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
