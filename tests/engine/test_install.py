"""`conclab install`: every destination README promises, from the outside — the kernelspec lands
where jupyter_core would look for it, kernel.json is valid and starts this very binary, a second
run changes nothing, and usage errors exit 2.

The system-wide destinations (/usr/local/share/jupyter as root, /usr/share/jupyter with
--sys-prefix) are tried in a private mount namespace (`unshare --map-root-user --mount`) with a
scratch folder mounted over them, so the test never touches the machine's own kernelspecs.
"""
import json
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

SPEC_FILES = {"kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"}


@pytest.fixture(scope="session")
def conclab():
    binary = os.environ.get("CONCLAB_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("CONCLAB_BIN must name the built conclab binary (ctest sets it)")
    return os.path.realpath(binary)


def clean_env(**extra):
    """The environment without the variables that steer the destination, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_DATA_DIR", "XDG_DATA_HOME", "HOME")}
    env.update(extra)
    return env


def install(conclab, *args, env=None, wrap=()):
    return subprocess.run([*wrap, conclab, "install", *args], capture_output=True, text=True, timeout=60,
                          env=env if env is not None else clean_env())


def assert_valid_spec(spec_dir, conclab):
    """The folder holds kernel.json and the logos; kernel.json starts this binary as a kernel."""
    assert os.path.isdir(spec_dir), "no kernelspec at %s" % spec_dir
    assert set(os.listdir(spec_dir)) == SPEC_FILES, os.listdir(spec_dir)
    with open(os.path.join(spec_dir, "kernel.json")) as f:
        spec = json.load(f)
    assert spec["argv"] == [conclab, "kernel", "-f", "{connection_file}"], spec["argv"]
    assert os.path.isabs(spec["argv"][0]) and os.access(spec["argv"][0], os.X_OK)
    assert spec["display_name"] == "C (conclab)" and spec["language"] == "c"
    assert spec["interrupt_mode"] == "message"
    for logo in SPEC_FILES - {"kernel.json"}:
        assert os.path.getsize(os.path.join(spec_dir, logo)) > 0, logo


def snapshot(spec_dir):
    return {name: os.stat(os.path.join(spec_dir, name)).st_mtime_ns for name in os.listdir(spec_dir)}


def test_prefix(conclab, tmp_path):
    prefix = tmp_path / "prefix"
    done = install(conclab, "--prefix", str(prefix))
    assert done.returncode == 0, done.stderr
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "conclab"
    assert_valid_spec(spec_dir, conclab)
    assert str(spec_dir) in done.stdout, "the output should say where it went: %r" % done.stdout
    before = snapshot(spec_dir)
    again = install(conclab, "--prefix=%s" % prefix)
    assert again.returncode == 0, again.stderr
    assert snapshot(spec_dir) == before, "a second run rewrote unchanged files"


def test_prefix_is_found_by_jupyter_client(conclab, tmp_path):
    prefix = tmp_path / "found"
    assert install(conclab, "--prefix", str(prefix)).returncode == 0
    listed = subprocess.run(["/usr/bin/python3", "-c",
                             "from jupyter_client.kernelspec import KernelSpecManager as M;"
                             "s = M().get_kernel_spec('conclab'); print(s.resource_dir); print(s.argv[0])"],
                            capture_output=True, text=True, timeout=60,
                            env=clean_env(JUPYTER_PATH=str(prefix / "share" / "jupyter"),
                                          HOME=str(tmp_path), JUPYTER_DATA_DIR=str(tmp_path / "empty")))
    assert listed.returncode == 0, listed.stderr
    resource_dir, argv0 = listed.stdout.split()
    assert resource_dir == str(prefix / "share" / "jupyter" / "kernels" / "conclab")
    assert argv0 == conclab


@pytest.mark.parametrize("where", ["JUPYTER_DATA_DIR", "XDG_DATA_HOME", "HOME", "relative XDG_DATA_HOME"])
def test_user(conclab, tmp_path, where):
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home))
    expected = home / ".local" / "share" / "jupyter" / "kernels" / "conclab"
    if where == "JUPYTER_DATA_DIR":
        env.update(JUPYTER_DATA_DIR=str(tmp_path / "jd"), XDG_DATA_HOME=str(tmp_path / "xdg"))
        expected = tmp_path / "jd" / "kernels" / "conclab"  # it wins over XDG_DATA_HOME
    elif where == "XDG_DATA_HOME":
        env.update(XDG_DATA_HOME=str(tmp_path / "xdg"))
        expected = tmp_path / "xdg" / "jupyter" / "kernels" / "conclab"
    elif where == "relative XDG_DATA_HOME":
        env.update(XDG_DATA_HOME="relative/xdg")  # ignored, as jupyter_core ignores it
    done = install(conclab, "--user", env=env)
    assert done.returncode == 0, done.stderr
    assert_valid_spec(expected, conclab)


def in_namespace(mount_over):
    """A command prefix: run as root in a private mount namespace with a folder mounted over another."""
    source, target = mount_over
    return ["unshare", "--map-root-user", "--mount", "sh", "-c",
            'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", source, target]


def namespaces_work():
    try:
        return subprocess.run(["unshare", "--map-root-user", "--mount", "true"], timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.parametrize("args, system_dir", [
    (("--sys-prefix",), "/usr/share"),
    ((), "/usr/local/share"),          # no option, as root: system-wide
], ids=["sys-prefix", "default-as-root"])
def test_system_destinations(conclab, tmp_path, args, system_dir):
    if not namespaces_work():
        pytest.fail("unshare --map-root-user --mount is refused here: the system destinations cannot "
                    "be tried without touching the machine")
    scratch = tmp_path / "system"
    scratch.mkdir()
    done = install(conclab, *args, wrap=in_namespace((str(scratch), system_dir)))
    assert done.returncode == 0, done.stderr
    assert_valid_spec(scratch / "jupyter" / "kernels" / "conclab", conclab)


def test_default_as_a_user_is_like_user(conclab):
    # pytest's own temporary folders are private to root: nobody needs one it can reach
    scratch = tempfile.mkdtemp(prefix="conclab-install-")
    try:
        os.chmod(scratch, 0o755)
        home = os.path.join(scratch, "home")
        os.mkdir(home)
        wrap = ()
        if os.geteuid() == 0:  # become nobody, who may write only the scratch home
            shutil.chown(home, user="nobody")
            wrap = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
        done = install(conclab, env=clean_env(HOME=home), wrap=wrap)
        assert done.returncode == 0, done.stderr
        assert_valid_spec(os.path.join(home, ".local", "share", "jupyter", "kernels", "conclab"), conclab)
    finally:
        shutil.rmtree(scratch)


@pytest.mark.parametrize("args, complaint", [
    (("--user", "--prefix", "/tmp/x"), "choose only one"),
    (("--prefix",), "--prefix needs a directory"),
    (("--prefix=",), "--prefix needs a directory"),
    (("--everywhere",), "unknown option"),
])
def test_usage_errors_exit_2(conclab, args, complaint):
    done = install(conclab, *args)
    assert done.returncode == 2 and complaint in done.stderr, (done.returncode, done.stderr)


def test_unwritable_destination_is_a_clear_error(conclab, tmp_path):
    prefix = tmp_path / "locked"
    prefix.mkdir()
    (prefix / "share").write_text("a file where a folder should be")
    done = install(conclab, "--prefix", str(prefix))
    assert done.returncode not in (0, 2) and str(prefix) in done.stderr, (done.returncode, done.stderr)
    assert stat.S_ISREG(os.stat(prefix / "share").st_mode), "the file in the way was replaced"
