"""tools/slurm/grade-array.sh: a class graded as a Slurm array job gives the unsharded summary.

Two ways: the script's task and summary steps run by hand with the variables sbatch sets (always),
and the whole script submitted to a real single-node Slurm started for the test on 127.0.0.1
(munged, slurmctld and slurmd from Debian's slurm-wlm, with a generated slurm.conf in a temporary
folder; needs root and those programs, skipped otherwise; everything it starts is stopped after).
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from batch_helpers import CELL_TIMEOUT, copy_class, read_summary, without_folder

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "slurm", "grade-array.sh")
CONCLAB = os.environ.get("CONCLAB_BIN", "conclab")


def some_students(graded_class):
    return {s for i, s in enumerate(sorted(graded_class["expected"])) if i % 14 == 0}


def script(*args, env=None, timeout=120):
    return subprocess.run(["sh", SCRIPT, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, CONCLAB=CONCLAB, **(env or {})))


def test_array_tasks_then_summary_by_hand(graded_class, tmp_path):
    chosen = some_students(graded_class)
    subs, source = copy_class(graded_class, tmp_path, chosen)
    outdir = str(tmp_path / "graded")
    graded = []
    for task in (4, 5, 6):  # an array --array=4-6: its tasks know their place from the minimum
        run = script("task", subs, source, outdir, "--timeout", CELL_TIMEOUT,
                     env={"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": "4",
                          "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_CPUS_PER_TASK": "2"})
        assert run.returncode == 0, run.stderr
        graded += [line.split(":")[0].split("] ")[1] for line in run.stderr.splitlines() if line.startswith("[")]
    assert sorted(graded) == sorted(chosen)  # each submission graded by exactly one task
    run = script("summary", subs, source, outdir)
    assert run.returncode == 0, run.stderr
    whole = without_folder(read_summary(graded_class["outdir"]), graded_class["subs"])
    assert without_folder(read_summary(outdir), subs) == {s: whole[s] for s in chosen}


def test_script_refuses_bad_use(tmp_path):
    assert script("task", "a", "b", "c").returncode != 0  # outside an array task
    run = script("submit", "-n", "x", str(tmp_path), str(tmp_path), str(tmp_path))
    assert run.returncode == 2 and "-n" in run.stderr
    run = script("bogus")
    assert run.returncode == 2


# ---- a real Slurm ----------------------------------------------------------------------------

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SLURM_CONF = """ClusterName=conclabtest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=conclabnode NodeAddr=127.0.0.1 NodeHostname={host} CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture
def slurm(tmp_path):
    """A one-node Slurm cluster on 127.0.0.1 for this test only: SLURM_CONF for its clients."""
    if os.geteuid() != 0 or not all(shutil.which(d) for d in DAEMONS):
        pytest.skip("a real Slurm needs root and slurm-wlm + munge installed")
    root = str(tmp_path / "slurm")
    for d in ("munge", "state", "spool"):
        os.makedirs(os.path.join(root, d))
    os.chmod(os.path.join(root, "munge"), 0o755)
    with open(os.path.join(root, "munge", "key"), "wb") as f:
        f.write(os.urandom(1024))
    os.chmod(os.path.join(root, "munge", "key"), 0o400)
    conf = os.path.join(root, "slurm.conf")
    with open(conf, "w") as f:
        f.write(SLURM_CONF.format(root=root, ctld_port=free_port(), d_port=free_port(), host=socket.gethostname()))
    env = dict(os.environ, SLURM_CONF=conf)
    log = open(os.path.join(root, "daemons.log"), "w")
    started = []
    try:
        m = os.path.join(root, "munge")
        started.append(subprocess.Popen(["munged", "-F", "-f", "-S", m + "/socket", "--key-file=" + m + "/key",
                                         "--pid-file=" + m + "/pid", "--seed-file=" + m + "/seed",
                                         "--log-file=" + m + "/log"], stdout=log, stderr=log))
        wait_for(lambda: os.path.exists(m + "/socket"), "munged's socket")
        started.append(subprocess.Popen(["slurmctld", "-D", "-i"], env=env, stdout=log, stderr=log))
        started.append(subprocess.Popen(["slurmd", "-D", "-N", "conclabnode"], env=env, stdout=log, stderr=log))
        wait_for(lambda: "idle" in subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                                                  text=True).stdout, "the node to be idle")
        yield env
    finally:
        for p in reversed(started):
            p.terminate()
        for p in reversed(started):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def wait_for(ready, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("Slurm: timed out waiting for " + what)
        time.sleep(0.2)


def test_submitted_to_a_real_slurm(graded_class, tmp_path, slurm):
    chosen = some_students(graded_class)
    subs, source = copy_class(graded_class, tmp_path, chosen)
    outdir = str(tmp_path / "graded")
    run = script("submit", "-n", "3", subs, source, outdir, "--timeout", CELL_TIMEOUT, env=slurm)
    assert run.returncode == 0, run.stderr
    assert "array job" in run.stdout and "summary job" in run.stdout
    queue = ["squeue", "-h"]
    wait_for(lambda: subprocess.run(queue, env=slurm, capture_output=True, text=True).stdout.strip() == ""
             and os.path.exists(os.path.join(outdir, "summary.csv")), "the jobs to finish", timeout=180)
    logs = sorted(f for f in os.listdir(outdir) if f.startswith("slurm-"))
    assert len(logs) == 4, logs  # three tasks and the summary
    whole = without_folder(read_summary(graded_class["outdir"]), graded_class["subs"])
    assert without_folder(read_summary(outdir), subs) == {s: whole[s] for s in chosen}
