"""lab_jupyter_server.py: the JupyterLab 3.6.8 build served by Debian's jupyter_server.

Run by conclab_lab.py (`conclab lab`), or loaded as a jupyter_server extension named
`conclab_lab` by a student's server on JupyterHub (hub/jupyterhub_config.py puts this folder on
PYTHONPATH and enables it). jupyterlab_server's LabServerApp does the real work (settings,
themes, workspaces, translations, licenses); this file only tells it where the build is, fills
in the page config JupyterLab reads, and serves Debian's MathJax and /api/me.
"""
import json
import os

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from jupyterlab_server import LabServerApp
from tornado import web

import lab_common


class MeHandler(JupyterHandler):
    """GET /api/me: who is logged in (jupyter_server 1.23 would answer 404 on every page load)."""

    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(lab_common.identity(self.get_current_user())))


class ConclabLab(LabServerApp):
    name = "conclab_lab"
    app_name = "JupyterLab"
    app_version = lab_common.APP_VERSION
    description = "JupyterLab 3.6.8 for the conclab C kernel, served by jupyter_server"
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = True

    def initialize_settings(self):
        dist = lab_common.dist_dir()
        self.static_dir = os.path.join(dist, "static")
        self.schemas_dir = os.path.join(dist, "schemas")
        self.themes_dir = os.path.join(dist, "themes")
        self.templates_dir = lab_common.TEMPLATES_DIR
        self.app_settings_dir = lab_common.APP_SETTINGS_DIR
        self.user_settings_dir, self.workspaces_dir = lab_common.user_dirs(jupyter_data_dir())
        base_url = self.serverapp.base_url  # /user/NAME/ behind JupyterHub
        mathjax = url_path_join(base_url, lab_common.MATHJAX_ROUTE, "MathJax.js")
        # LabHandler only fills in what is not here yet: an empty MathJax URL keeps its CDN
        # default out, and the front-end then leaves math as typed.
        self.settings["page_config_data"] = {
            "conclabBundle": lab_common.bundle(dist),
            "fullMathjaxUrl": mathjax if lab_common.have_mathjax() else "",
            "mathjaxConfig": lab_common.MATHJAX_CONFIG,
            "token": self.serverapp.token,  # JupyterHub's singleuser app clears it (cookie auth)
            "quitButton": getattr(self.serverapp, "quit_button", True),
            "buildAvailable": False,
            "buildCheck": False,
            "exposeAppInBrowser": False,
        }
        super().initialize_settings()

    def initialize_templates(self):
        # LabServerApp reads these two before initialize_settings runs.
        self.static_dir = os.path.join(lab_common.dist_dir(), "static")
        self.templates_dir = lab_common.TEMPLATES_DIR
        super().initialize_templates()

    def initialize_handlers(self):
        super().initialize_handlers()
        self.handlers.append(("/api/me", MeHandler))
        if os.path.isdir(lab_common.MATHJAX_DIR):
            self.handlers.append(("/%s/(.*)" % lab_common.MATHJAX_ROUTE, FileFindHandler,
                                  {"path": [lab_common.MATHJAX_DIR]}))


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": ConclabLab}]
