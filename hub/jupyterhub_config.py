# jupyterhub_config.py — Debian's JupyterHub 3.0 for a class taking the conclab labs.
#
# Each student logs in with their own Unix account and gets their own Jupyter server, running as
# them, with the conclab kernel (the system-wide kernelspec `conclab install` wrote), the labs
# copied into their home on first login, and per-student limits in the kernel's environment.
#
# `conclab hub-config` prints or writes a copy of this file with the settings block filled in
# (see `conclab hub-config --help`); this file also runs as it is:
#     jupyterhub -f /usr/local/share/conclab/hub/jupyterhub_config.py
# Everything below the settings block is ordinary JupyterHub configuration: edit freely.

# ---- BEGIN class settings (conclab hub-config writes this block) ----
CLASS_GROUP = "conclab-class"  # members of this Unix group may log in (useradd -G); "" for none
CLASS_USERS = []               # and these Unix users
CLASS_ADMINS = []              # and these, who also administer the hub (/hub/admin)
HUB_IP = "127.0.0.1"           # where the hub listens; "0.0.0.0" or "" opens it to the network
HUB_PORT = 8000                # students browse http://HUB_IP:HUB_PORT/
HUB_API_PORT = 8081            # internal: the hub's API, on 127.0.0.1
PROXY_API_PORT = 8001          # internal: the proxy's API, on 127.0.0.1
STATE_DIR = "/var/lib/conclab-hub"  # database, cookie secret, proxy token, pid files
PROXY = "/usr/local/share/conclab/hub/node_modules/configurable-http-proxy/bin/configurable-http-proxy"
LABS_DIR = "/usr/local/share/conclab/notebooks"  # copied into each home; "" copies nothing
LABS_FOLDER = "conclab-labs"   # ... into ~/LABS_FOLDER
LABS_EXCLUDE = ["solutions"]   # names under LABS_DIR that are not copied
DEFAULT_URL = ""               # "" = /lab where conclab's JupyterLab front-end is installed, else /tree
LAB_FRONTEND = "/usr/local/share/conclab/lab"  # its install folder, looked for when DEFAULT_URL is ""
LIMITS = {                     # the kernel's environment (README: Limits); "" leaves the default
    "CONCLAB_MEMORY_LIMIT": "1G",
    "CONCLAB_PROCESS_LIMIT": "64",
    "CONCLAB_TIMEOUT": "",
}
CPU_CORES = 1                  # per student (server and kernels together), cgroup cpu quota; 0 none
MEMORY = "3G"                  # per student, all their processes: cgroup memory limit; "" none
TASKS = 1500                   # per student, processes and threads: cgroup pids limit; 0 none
IDLE_MINUTES = 60              # idle kernels, then idle servers, stop after this long; 0 never
# ---- END class settings ----

import os
import re
import pwd
import grp
import secrets
import subprocess

from jupyterhub.auth import PAMAuthenticator
from jupyterhub.spawner import LocalProcessSpawner

c = get_config()  # noqa: F821 (traitlets provides it)

# ---- state: kept together, readable by root only -------------------------------------------
os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)


def state_file(name):
    return os.path.join(STATE_DIR, name)


def secret_from_file(path):
    """A token kept across restarts, created on first start; only the hub's user may read it."""
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    with open(path) as f:
        return f.read().strip()


c.JupyterHub.db_url = "sqlite:///" + state_file("jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = state_file("cookie_secret")  # the hub creates it, mode 0600
c.JupyterHub.pid_file = state_file("jupyterhub.pid")

# ---- the hub and its proxy: public side on HUB_IP, internal APIs on loopback --------------
c.JupyterHub.ip = HUB_IP
c.JupyterHub.port = HUB_PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = HUB_API_PORT
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % PROXY_API_PORT
c.ConfigurableHTTPProxy.command = [PROXY]
c.ConfigurableHTTPProxy.pid_file = state_file("proxy.pid")
c.ConfigurableHTTPProxy.auth_token = secret_from_file(state_file("proxy_auth_token"))
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every student's server


# ---- who may log in: local Unix users, checked by PAM ---------------------------------------
class ClassAuthenticator(PAMAuthenticator):
    """PAM passwords; open to CLASS_GROUP's members, CLASS_USERS and CLASS_ADMINS, nobody else
    (JupyterHub alone would let every local user in when no list is given)."""

    def check_allowed(self, username, authentication=None):
        if username in CLASS_USERS or username in CLASS_ADMINS:
            return True
        if not CLASS_GROUP:
            return False
        try:
            return username in grp.getgrnam(CLASS_GROUP).gr_mem
        except KeyError:
            self.log.error("conclab: no Unix group %r (groupadd %s)", CLASS_GROUP, CLASS_GROUP)
            return False


c.JupyterHub.authenticator_class = ClassAuthenticator
c.Authenticator.allowed_users = set(CLASS_USERS)  # (the group is checked above)
c.Authenticator.admin_users = set(CLASS_ADMINS)

# ---- each student's server: Debian's jupyterhub-singleuser, started as the student -------
LAB_SERVER = os.path.join(LAB_FRONTEND, "server")  # conclab_lab.py: a jupyter_server extension
LAB_BUILT = os.path.isfile(os.path.join(LAB_FRONTEND, "dist", "static", "build.json")) and \
    os.path.isfile(os.path.join(LAB_SERVER, "conclab_lab.py"))


def front_end_url():
    if DEFAULT_URL:
        return DEFAULT_URL
    return "/lab" if LAB_BUILT else "/tree"


url = front_end_url()
# /tree is the classic Notebook 6 server's page; everything else runs on jupyter_server.
app = "notebook.notebookapp.NotebookApp" if url.startswith("/tree") else "jupyter_server.serverapp.ServerApp"
app_name = app.rsplit(".", 1)[1]

# ---- per-student limits on the whole server: a cgroup each, made by the hub (root) ---------
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_PARENT = "conclab-hub"


def size_in_bytes(text):
    number, unit = re.fullmatch(r"([0-9.]+)([KMGT]?)", str(text).upper()).groups()
    return int(float(number) * 1024 ** "_KMGT".index(unit or "_"))


def cgroup_settings():
    """{controller: {file: value}} for cgroup v2 (one tree) or v1 (a tree per controller)."""
    period = 100000
    quota = int(CPU_CORES * period) if CPU_CORES else 0
    memory = size_in_bytes(MEMORY) if MEMORY else 0
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        v2 = {}
        if quota:
            v2["cpu.max"] = "%d %d" % (quota, period)
        if memory:
            v2["memory.max"] = str(memory)
        if TASKS:
            v2["pids.max"] = str(TASKS)
        return {"": v2} if v2 else {}
    v1 = {}
    if quota:
        v1["cpu"] = {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(quota)}
    if memory:
        v1["memory"] = {"memory.limit_in_bytes": str(memory)}
    if TASKS:
        v1["pids"] = {"pids.max": str(TASKS)}
    return v1


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def own_cgroup(controller):
    """The hub's own cgroup in this controller's tree (v1), or in the single tree (v2: "")."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers.split(",") == [controller] or controller in controllers.split(",") or controllers == controller:
                return os.path.join(CGROUP_ROOT, controller, path.lstrip("/"))
    return os.path.join(CGROUP_ROOT, controller)


def student_cgroup(controller, name, files):
    """CGROUP_PARENT/name below the hub's own cgroup, so the class stays inside whatever holds
    the hub. v2 forbids controllers below a group that holds processes (the hub's own, under
    systemd): there the class goes below the root instead."""
    parents = [os.path.join(own_cgroup(controller), CGROUP_PARENT)]
    if not controller:
        parents.append(os.path.join(CGROUP_ROOT, CGROUP_PARENT))
    for i, parent in enumerate(parents):
        try:
            os.makedirs(parent, exist_ok=True)
            if not controller:  # v2: let the students' groups use the controllers
                write(os.path.join(parent, "cgroup.subtree_control"),
                      " ".join(sorted({"+" + f.split(".")[0] for f in files})))
            here = os.path.join(parent, name)
            os.makedirs(here, exist_ok=True)
            return here
        except OSError:
            if i == len(parents) - 1:
                raise


class ClassSpawner(LocalProcessSpawner):
    """Debian's local spawner, plus a cgroup per student holding their server and every kernel
    and process it starts: CPU_CORES, MEMORY and TASKS apply to all of them together. The server
    joins it in the child, before it drops root and execs, so nothing escapes. Where cgroups
    cannot be written (no root, a container), the hub logs why and runs without them."""

    def student_cgroups(self):
        dirs = []
        for controller, files in cgroup_settings().items():
            try:
                here = student_cgroup(controller, self.user.name, files)
                for name, value in files.items():
                    write(os.path.join(here, name), value)
                dirs.append(here)
            except OSError as e:
                self.log.warning("conclab: no %s cgroup limit for %s: %s", controller or "v2", self.user.name, e)
        return dirs

    def make_preexec_fn(self, name):
        drop_root = super().make_preexec_fn(name)
        dirs = self.student_cgroups()

        def preexec():
            for d in dirs:
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write("0")  # this process: the server about to exec
            drop_root()

        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        for controller in cgroup_settings():  # the empty group; it is made again at next start
            for parent in (own_cgroup(controller), os.path.join(CGROUP_ROOT, controller)):
                try:
                    os.rmdir(os.path.join(parent, CGROUP_PARENT, self.user.name))
                except OSError:
                    pass


c.JupyterHub.spawner_class = ClassSpawner
c.Spawner.cmd = ["/usr/bin/jupyterhub-singleuser"]
c.Spawner.default_url = url
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.environment = {"JUPYTERHUB_SINGLEUSER_APP": app}
# The kernel inherits its server's environment: that is how the limits reach it.
c.Spawner.environment.update({name: str(value) for name, value in LIMITS.items() if str(value)})
c.Spawner.args = []
if IDLE_MINUTES:
    seconds = int(IDLE_MINUTES * 60)
    c.Spawner.args += [
        "--MappingKernelManager.cull_idle_timeout=%d" % seconds,
        "--MappingKernelManager.cull_interval=%d" % min(300, seconds),
        "--%s.shutdown_no_activity_timeout=%d" % (app_name, seconds),
    ]
# conclab's JupyterLab in each student's jupyter_server: the extension conclab_lab (from
# LAB_SERVER, on PYTHONPATH) serves /lab, its settings, themes, workspaces (per student, in
# ~/.local/share/jupyter/conclab/lab), Debian's MathJax and /api/me, under /user/NAME/.
if LAB_BUILT and app_name == "ServerApp":
    c.Spawner.environment["PYTHONPATH"] = LAB_SERVER
    c.Spawner.environment["CONCLAB_LAB_DIST"] = os.path.join(LAB_FRONTEND, "dist")
    c.Spawner.args.append("--ServerApp.jpserver_extensions=conclab_lab=True")


# ---- the labs, copied into each home: missing files only, as the student ----------------
def copy_labs(spawner):
    """Copies LABS_DIR into ~/LABS_FOLDER before each start. Only files the student does not
    have are copied (cp -n), so an edited lab is never overwritten; a deleted one comes back
    fresh, and labs added later arrive at the next start. The copy runs with the student's own
    rights, so no link in their home can make it write anywhere they could not."""
    if not LABS_DIR or not os.path.isdir(LABS_DIR):
        return
    user = pwd.getpwnam(spawner.user.name)
    if not os.path.isdir(user.pw_dir):
        raise RuntimeError("conclab: %s has no home directory %s (useradd -m)" % (user.pw_name, user.pw_dir))
    dest = os.path.join(user.pw_dir, LABS_FOLDER)
    sources = [os.path.join(LABS_DIR, name) for name in sorted(os.listdir(LABS_DIR)) if name not in LABS_EXCLUDE]
    env = {"PATH": "/usr/bin:/bin", "HOME": user.pw_dir}
    as_student = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[], env=env, cwd=user.pw_dir,
                      stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    done = subprocess.run(["mkdir", "-p", "--", dest], **as_student)
    if done.returncode == 0 and sources:
        done = subprocess.run(["cp", "-R", "-n", "--", *sources, dest + "/"], **as_student)
    if done.returncode != 0:
        spawner.log.warning("conclab: copying the labs to %s: %s", dest, done.stderr.strip())


c.Spawner.pre_spawn_hook = copy_labs
