"""test_timeline.py — the pictures of a run (issue 13, items 4-8) through jupyter_client.

%%timeline draws one lane per thread, process and task from the run itself; the tests read the
SVG the notebook receives (well-formed, self-contained, the lanes and time span expected) and the
Chrome trace --save writes (json.load, names, states), and check what the pictures claim against
what the workloads must do: Semaphore(3) never lets more than 3 threads in, two CPU-bound threads
under the emulated GIL never run at once, gather's tasks end when their sleeps do. Also --live
redraws in place while the cell runs, %%cpu draws one row per core, cl_chart_bars and
cl_trace_begin/end work from a cell, and bad options are refused.
"""
import json
import os
import xml.etree.ElementTree as ET

import pytest

from kernel_session import describe_failure, stream_text

SVG = "{http://www.w3.org/2000/svg}"


def run_ok(k, code, timeout=60):
    content, msgs = k.run(code, timeout=timeout)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    return msgs


def svgs(msgs):
    """(msg_type, display_id, root element) of each SVG shown, in order."""
    out = []
    for m in msgs:
        if m["msg_type"] in ("display_data", "update_display_data") and "image/svg+xml" in m["content"]["data"]:
            text = m["content"]["data"]["image/svg+xml"]
            root = ET.fromstring(text)  # raises on anything not well-formed
            out.append((m["msg_type"], m["content"]["transient"].get("display_id"), root))
    return out


def self_contained(root):
    assert root.tag == SVG + "svg" and root.get("viewBox") and root.get("width") and root.get("height")
    for el in root.iter():
        assert el.tag.split("}")[1] not in ("script", "style", "image", "foreignObject", "a"), el.tag
        for name, value in el.attrib.items():
            assert "nan" not in value.lower().split() and "inf" not in value.lower().split(), (el.tag, name, value)
            assert not value.startswith("http") or name == "xmlns", (el.tag, name, value)


def lanes(root):
    return {g.get("data-lane"): g for g in root.iter(SVG + "g") if g.get("class") == "lane"}


def axis_end(root):
    axis = next(g for g in root.iter(SVG + "g") if "time-axis" in (g.get("class") or ""))
    return float(axis.get("data-end"))


def trace_events(path):
    with open(path) as f:
        data = json.load(f)
    return data["traceEvents"] if isinstance(data, dict) else data


def thread_names(events):
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}


def most_at_once(intervals):
    """The largest number of intervals (start, end) that overlap at one moment."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_semaphore_of_three_never_lets_four_in(k, tmp_path):
    trace = tmp_path / "sem.json"
    msgs = run_ok(k, r'''%%timeline --save ''' + str(trace) + r'''
cl_semaphore *slots = cl_semaphore_new(3);
cl_semaphore_set_name(slots, "slots");
void *sem_worker(void *arg) { (void)arg; cl_semaphore_acquire(slots); cl_sleep(0.1); cl_semaphore_release(slots); return NULL; }
cl_thread *sem_threads[10];
for (int i = 0; i < 10; i++) sem_threads[i] = cl_thread_start(sem_worker, NULL);
for (int i = 0; i < 10; i++) cl_thread_join(sem_threads[i]);
''')
    assert "Trace saved to %s" % trace in stream_text(msgs)
    (kind, _, root), = svgs(msgs)
    self_contained(root)
    assert set(lanes(root)) == {"main"} | {"Thread-%d" % i for i in range(1, 11)}, sorted(lanes(root))
    assert 0.35 <= axis_end(root) < 2.0  # four rounds of 0.1 s
    titles = [t.text for t in root.iter(SVG + "title")]
    assert any(t.startswith('semaphore "slots"') for t in titles), titles[:20]

    events = trace_events(trace)
    names = thread_names(events)
    holding = [(e["ts"], e["ts"] + e["dur"]) for e in events
               if e["ph"] == "X" and e["name"] in ("sleeping", "sleep") and names.get((e["pid"], e["tid"]), "").startswith("Thread-")]
    assert len(holding) == 10, holding
    assert most_at_once(holding) == 3  # the picture's claim, from the recorded run
    waiting = [e for e in events if e["ph"] == "X" and (e.get("args") or {}).get("what") == 'semaphore "slots"']
    assert len(waiting) >= 6  # 7 of 10 had to wait; the first 3 may not be recorded as waiting
    assert {"X", "M"} <= {e["ph"] for e in events}


def test_two_busy_threads_under_the_gil_never_run_at_once(k, tmp_path):
    trace = tmp_path / "gil.json"
    msgs = run_ok(k, r'''%%timeline --save ''' + str(trace) + r'''
cl_gil_enable();
volatile long gil_sink;
void *gil_spin(void *arg) { (void)arg; double end = cl_now() + 0.3; long n = 0; while (cl_now() < end) n++; gil_sink = n; return NULL; }
cl_thread *gil_a = cl_thread_start_named("spin-a", gil_spin, NULL);
cl_thread *gil_b = cl_thread_start_named("spin-b", gil_spin, NULL);
cl_thread_join(gil_a);
cl_thread_join(gil_b);
cl_gil_disable();
''')
    (_, _, root), = svgs(msgs)
    assert {"spin-a", "spin-b"} <= set(lanes(root))
    states = {r.get("class").split()[1] for r in lanes(root)["spin-a"].iter(SVG + "rect") if "span" in (r.get("class") or "")}
    assert "state-gil" in states, states  # the picture shows it waiting for the GIL
    events = trace_events(trace)
    names = thread_names(events)
    running = {n: [(e["ts"], e["ts"] + e["dur"]) for e in events if e["ph"] == "X" and e["name"] == "running"
                   and names.get((e["pid"], e["tid"])) == n] for n in ("spin-a", "spin-b")}
    assert running["spin-a"] and running["spin-b"]
    overlap = sum(max(0.0, min(a1, b1) - max(a0, b0)) for a0, a1 in running["spin-a"] for b0, b1 in running["spin-b"])
    total = sum(e - s for s, e in running["spin-a"] + running["spin-b"])
    assert overlap <= 0.01 * total, (overlap, total)  # hand-off instants only, never both at work


def test_gather_shows_a_lane_per_task_ending_with_its_sleep(k, tmp_path):
    trace = tmp_path / "gather.json"
    msgs = run_ok(k, r'''%%timeline --save ''' + str(trace) + r'''
void *ga_nap(void *arg) { cl_async_sleep((long)arg / 10.0); return arg; }
void *ga_main(void *arg) {
    (void)arg;
    cl_future *f[3] = {cl_async_create_task_ex("nap-2", 0, ga_nap, (void *)2L), cl_async_create_task_ex("nap-1", 0, ga_nap, (void *)1L),
                       cl_async_create_task_ex("nap-3", 0, ga_nap, (void *)3L)};
    cl_async_gather(f, 3, 0);
    return NULL;
}
double ga_t0 = cl_now();
cl_async_run(ga_main, NULL, NULL);
printf("gather took %.2f s\n", cl_now() - ga_t0);
''')
    (_, _, root), = svgs(msgs)
    tasks = {name: g for name, g in lanes(root).items() if g.get("data-kind") == "task"}
    assert {"nap-1", "nap-2", "nap-3"} <= {n.split()[-1] for n in tasks} | set(tasks), sorted(lanes(root))
    took = float(stream_text(msgs).split("gather took ")[1].split()[0])
    assert 0.28 <= took < 0.5  # the longest, not the sum (0.6)
    events = trace_events(trace)
    spans = {}  # a task's async events share its id: the first names the task, the last ends it
    for key in {e["id"] for e in events if e["ph"] == "b"}:
        mine = [e for e in events if e.get("id") == key and e["ph"] in "be"]
        spans[mine[0]["name"]] = (max(e["ts"] for e in mine) - mine[0]["ts"]) / 1e6
    naps = {n: d for n, d in spans.items() if "nap-" in n}
    assert len(naps) == 3, spans
    for name, seconds in naps.items():
        want = int(name[-1]) / 10.0
        assert want - 0.01 <= seconds <= want + 0.15, (name, seconds)


def test_a_forked_process_gets_its_own_lane(k):
    msgs = run_ok(k, r'''%%timeline
int pr_child(void *arg) { (void)arg; cl_sleep(0.1); return 0; }
cl_process *pr = cl_process_start_named("helper-process", pr_child, NULL);
cl_process_join(pr);
''')
    (_, _, root), = svgs(msgs)
    pids = {g.get("data-pid") for g in lanes(root).values()}
    assert len(pids) == 2, [(n, g.get("data-pid")) for n, g in lanes(root).items()]


def test_live_timeline_redraws_in_place_while_the_cell_runs(k):
    code = r'''%%timeline --live
void *lv_work(void *arg) { (void)arg; for (int i = 0; i < 6; i++) cl_sleep(0.25); return NULL; }
cl_thread *lv = cl_thread_start_named("slow-worker", lv_work, NULL);
cl_thread_join(lv);
'''
    content, msgs = k.run(code, timeout=60)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    shown = svgs(msgs)
    assert shown[0][0] == "display_data"
    first_id = shown[0][1]
    updates = [s for s in shown[1:]]
    assert len(updates) >= 2 and all(kind == "update_display_data" and i == first_id for kind, i, _ in updates)
    ends = [axis_end(root) for _, _, root in shown[1:]]
    assert ends == sorted(ends) and ends[-1] >= 1.4  # it grew while the cell ran
    assert "slow-worker" in lanes(shown[-1][2])
    # updates came while it ran, not all at the end
    times = [m["_t"] for m in msgs if m["msg_type"] == "update_display_data"]
    assert times[-1] - times[0] >= 0.5


def test_cpu_chart_has_a_row_per_core_and_one_for_the_cell(k):
    msgs = run_ok(k, r'''%%cpu
volatile long cpu_sink;
void *cpu_spin(void *arg) { (void)arg; double end = cl_now() + 0.4; long n = 0; while (cl_now() < end) n++; cpu_sink = n; return NULL; }
cl_thread *cpu_a = cl_thread_start(cpu_spin, NULL), *cpu_b = cl_thread_start(cpu_spin, NULL);
cl_thread_join(cpu_a);
cl_thread_join(cpu_b);
''')
    (_, _, root), = svgs(msgs)
    self_contained(root)
    text = " ".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
    for core in range(os.cpu_count()):
        assert "cpu%d" % core in text, text[:500]
    assert "this process" in text


def test_bar_chart_and_traced_region_from_code(k):
    msgs = run_ok(k, r'''
double bc_seq[3] = {4.0, 4.1, 3.9}, bc_thr[3] = {2.1, 2.0, 2.2};
cl_bar bc_bars[2] = {{"sequential", bc_seq, 3, NULL}, {"threads", bc_thr, 3, NULL}};
cl_chart_bars("Two ways, three trials each", "s", bc_bars, 2);
cl_trace_begin("a traced region");
cl_sleep(0.05);
cl_trace_end();
''')
    shown = svgs(msgs)
    assert len(shown) == 2
    bar_text = " ".join("".join(t.itertext()) for t in shown[0][2].iter(SVG + "text"))
    assert "sequential" in bar_text and "threads" in bar_text and "Two ways" in bar_text
    region = shown[1][2]
    assert "a traced region" in " ".join("".join(t.itertext()) for t in region.iter(SVG + "text"))
    assert 0.04 <= axis_end(region) < 1.0


@pytest.mark.parametrize("magic, complaint", [
    ("%%timeline --bogus", "%%timeline takes --live, --cpu and --save FILE"),
    ("%%cpu now", "%%cpu takes nothing after it"),
])
def test_bad_options_are_refused(k, magic, complaint):
    content, msgs = k.run(magic + "\nprintf(\"never\\n\");")
    assert content["status"] == "error" and content["ename"] == "MagicError"
    assert complaint in content["evalue"]
    assert "never" not in stream_text(msgs)


def test_a_child_that_returns_from_a_live_timeline_cell_does_not_hang_it(k):
    code = r"""%%timeline --live
pid_t ret_child = fork();
if (ret_child > 0) { waitpid(ret_child, NULL, 0); printf("parent done\n"); }
"""
    content, msgs = k.run(code, timeout=20)
    assert content["status"] in ("ok", "error"), describe_failure(code, content, msgs)
    k.run_ok('printf("alive\\n");')
