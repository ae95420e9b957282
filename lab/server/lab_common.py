"""lab_common.py: what both servers of `conclab lab` share (jupyter_server and Notebook 6).

Where the build is, the bundle it names, Debian's MathJax, the per-user settings and workspaces
folders, and the identity /api/me answers. No Jupyter server is imported here, so either server
can use it whichever is installed.
"""
import getpass
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
APP_VERSION = "3.6.8"
MATHJAX_DIR = "/usr/share/javascript/mathjax"  # Debian's libjs-mathjax
MATHJAX_CONFIG = "TeX-AMS_HTML-full,Safe"
MATHJAX_ROUTE = "conclab/mathjax"  # under the server's base_url
TEMPLATES_DIR = os.path.join(HERE, "templates")
# Administrators' overrides.json and page_config.json (see JupyterLab's docs) go here.
APP_SETTINGS_DIR = os.path.join(HERE, "settings")


def fail(message):
    print(f"conclab lab: {message}", file=sys.stderr)
    sys.exit(1)


def dist_dir():
    """The built front-end: $CONCLAB_LAB_DIST (set by `conclab lab` and by the hub's spawner),
    else the dist/ beside this folder (the installed and the source layouts are both lab/{server,dist})."""
    dist = os.environ.get("CONCLAB_LAB_DIST") or os.path.join(os.path.dirname(HERE), "dist")
    if not os.path.isfile(os.path.join(dist, "static", "build.json")):
        raise FileNotFoundError(f"no JupyterLab build at '{dist}' (no static/build.json): run ./install.sh")
    return dist


def bundle(dist):
    """The scripts the page loads, as webpack named them in static/build.json."""
    with open(os.path.join(dist, "static", "build.json"), encoding="utf-8") as f:
        return json.load(f)["main"]


def have_mathjax():
    return os.path.isfile(os.path.join(MATHJAX_DIR, "MathJax.js"))


def user_dirs(jupyter_data_dir):
    """A student's own settings and workspaces: beside their Jupyter data, apart from any other
    JupyterLab's (whose version may differ). The same for both servers."""
    own = os.path.join(jupyter_data_dir, "conclab", "lab")
    return os.path.join(own, "user-settings"), os.path.join(own, "workspaces")


def identity(user):
    """The body of GET /api/me. JupyterLab 3.6 asks; neither jupyter_server 1.23 nor Notebook 6
    knows the call. Behind JupyterHub the user is the hub's (a dict with a name); with a token,
    the server knows the browser only by a random id: the person is the one who started it."""
    name = user.get("name") if isinstance(user, dict) and user.get("name") else getpass.getuser()
    person = {"username": name, "name": name, "display_name": name,
              "initials": name[:1].upper(), "avatar_url": None, "color": None}
    return {"identity": person, "permissions": {}}
