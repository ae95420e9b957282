"""lab_notebook6.py: the JupyterLab 3.6.8 build served by Notebook 6's own server.

Where Debian's jupyter_server (or jupyterlab_server) is missing but Notebook 6 (jupyter-notebook
6.4) is there, `conclab lab` runs ConclabNotebookLab below, or `conclab lab --server=notebook`
asks for it. Notebook 6 already serves everything a notebook needs (contents, sessions, kernels
with the legacy websocket JSON that @jupyterlab/services 6.6 speaks, kernelspecs, terminals,
nbconvert); this extension adds what the JupyterLab front-end asks of jupyterlab_server, in the
same formats (its REST API, rest-api.yml in jupyterlab_server), with this module's own code:

  GET  /lab, /lab/tree/PATH, /lab/workspaces/NAME  the page, with JupyterLab's page config
  GET  /static/conclab_lab/FILE                     the webpack bundle (dist/static)
  GET  /lab/api/settings[/ID], PUT /lab/api/settings/ID
                                                    schemas from the build, user settings (raw JSON5)
  GET  /lab/api/themes/FILE                         theme CSS (dist/themes)
  GET/PUT/DELETE /lab/api/workspaces[/NAME]         the layout restored on reload
  GET  /lab/api/translations[/LOCALE]               English only: no language packs
  GET  /api/me                                      who is logged in
  GET  /conclab/mathjax/FILE                        Debian's MathJax

It can also be enabled in any Notebook 6 (--NotebookApp.nbserver_extensions=lab_notebook6=True
with this folder on PYTHONPATH). Settings and workspaces live in the same per-user folders as
with jupyter_server (lab_common.user_dirs), so a student's choices follow them across servers.
"""
import hashlib
import json
import os
import re

from jinja2 import Environment, FileSystemLoader
from jupyter_core.paths import jupyter_data_dir
from notebook.base.handlers import APIHandler, FileFindHandler, IPythonHandler
from notebook.notebookapp import NotebookApp
from notebook.utils import url_path_join
from tornado import web
from traitlets import Unicode

import lab_common

try:  # JupyterLab writes settings as JSON5 (comments); Debian's python3-json5 reads them
    import json5 as settings_parser
except ImportError:  # plain JSON then: settings with comments count as empty on the server
    settings_parser = json

SETTINGS_SUFFIX = ".jupyterlab-settings"
WORKSPACE_SUFFIX = ".jupyterlab-workspace"


class Lab:
    """Where everything is, computed once when the extension loads."""

    def __init__(self, nbapp):
        self.app = nbapp
        self.dist = lab_common.dist_dir()
        self.schemas = os.path.join(self.dist, "schemas")
        self.user_settings, self.workspaces = lab_common.user_dirs(jupyter_data_dir())
        self.bundle = lab_common.bundle(self.dist)
        self.templates = Environment(loader=FileSystemLoader(lab_common.TEMPLATES_DIR), autoescape=True)
        self.overrides = read_json(os.path.join(lab_common.APP_SETTINGS_DIR, "overrides.json"), {})
        self.admin_page_config = read_json(os.path.join(lab_common.APP_SETTINGS_DIR, "page_config.json"), {})

    def page_config(self, tree_path, workspace):
        base = self.app.base_url
        full = lambda *parts: url_path_join(base, *parts)  # noqa: E731
        config = {
            "appName": "JupyterLab", "appNamespace": "conclab_lab", "appVersion": lab_common.APP_VERSION,
            "baseUrl": base, "wsUrl": self.app.websocket_url or "",
            "fullStaticUrl": full("static/conclab_lab"), "conclabBundle": self.bundle,
            "fullMathjaxUrl": full(lab_common.MATHJAX_ROUTE, "MathJax.js") if lab_common.have_mathjax() else "",
            "mathjaxConfig": lab_common.MATHJAX_CONFIG,
            "mode": "multiple-document", "notebookStartsKernel": True, "cacheFiles": True, "store_id": 0,
            "treePath": tree_path, "workspace": workspace, "preferredPath": "/",
            "serverRoot": self.app.notebook_dir,
            "terminalsAvailable": self.app.web_app.settings.get("terminals_available", False),
            "token": self.app.token, "quitButton": self.app.quit_button,
            "buildAvailable": False, "buildCheck": False, "exposeAppInBrowser": False,
            "federated_extensions": [], "disabledExtensions": [], "ignorePlugins": [],
        }
        # Each URL twice, as jupyterlab_server gives them: relative to the server, and full.
        for key, path in (("app", ""), ("settings", "api/settings"), ("themes", "api/themes"),
                          ("workspacesApi", "api/workspaces"), ("translationsApi", "api/translations"),
                          ("tree", "tree"), ("licenses", "api/licenses"), ("listings", "api/listings"),
                          ("labextensions", "extensions")):
            config[key + "Url"] = url_path_join("/lab", path)
            config["full" + key[0].upper() + key[1:] + "Url"] = full("lab", path)
        config.update(self.admin_page_config)
        return config

    # ---- settings: one schema per plugin in the build, the user's raw text beside it ----

    def plugin_ids(self):
        ids = []
        for folder, _, files in os.walk(self.schemas):
            package = os.path.relpath(folder, self.schemas)
            ids += ["%s:%s" % (package, f[:-5]) for f in files if f.endswith(".json")]
        return sorted(ids, reverse=True)  # the order jupyterlab_server answers in

    def schema_path(self, plugin_id):
        package, _, plugin = plugin_id.partition(":")
        path = os.path.normpath(os.path.join(self.schemas, package, plugin + ".json"))
        if not plugin or not path.startswith(self.schemas + os.sep) or not os.path.isfile(path):
            raise web.HTTPError(404, "no settings schema %r" % plugin_id)
        return path

    def user_path(self, plugin_id):
        package, _, plugin = plugin_id.partition(":")
        path = os.path.normpath(os.path.join(self.user_settings, package, plugin + SETTINGS_SUFFIX))
        if not path.startswith(self.user_settings + os.sep):
            raise web.HTTPError(404, "no settings %r" % plugin_id)
        return path

    def plugin(self, plugin_id):
        """One plugin's entry, as GET /lab/api/settings/ID answers it."""
        schema_path = self.schema_path(plugin_id)
        schema = read_json(schema_path, {})
        # An administrator's overrides.json changes the defaults the schema declares.
        for key, value in self.overrides.get(plugin_id, {}).items():
            prop = schema.setdefault("properties", {}).setdefault(key, {})
            if isinstance(value, dict) and isinstance(prop.get("default"), dict):
                prop["default"] = {**prop["default"], **value}
            else:
                prop["default"] = value
        package = read_json(os.path.join(os.path.dirname(schema_path), "package.json.orig"), {})
        entry = {"id": plugin_id, "schema": schema, "version": package.get("version", "N/A"),
                 "raw": "{}", "settings": {}, "warning": None, "last_modified": None, "created": None}
        path = self.user_path(plugin_id)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                entry["raw"] = f.read() or "{}"
            try:
                entry["settings"] = settings_parser.loads(entry["raw"])
            except ValueError as err:
                entry["warning"] = "cannot read %s: %s" % (path, err)
        return entry

    # ---- workspaces: one JSON file per name ----

    def workspace_path(self, name):
        # Readable and unique: the name's letters, then a short hash of the whole name.
        readable = re.sub(r"[^A-Za-z0-9_-]+", "-", name.strip("/")).strip("-").lower()[:100]
        digest = hashlib.sha256(name.strip("/").encode()).hexdigest()[:4]
        return os.path.join(self.workspaces, "%s-%s%s" % (readable, digest, WORKSPACE_SUFFIX))


def read_json(path, missing):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return missing


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)  # a reload never sees half a file


class LabPage(IPythonHandler):
    def initialize(self, lab):
        self.lab = lab

    @web.authenticated
    def get(self, workspace=None, tree_path=None):
        config = self.lab.page_config(tree_path or "", workspace or "default")
        page = self.lab.templates.get_template("index.html").render(
            page_config=config, base_url=self.base_url, ws_url=self.ws_url)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(page)


class LabApi(APIHandler):
    def initialize(self, lab):
        self.lab = lab

    def reply(self, body):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class Settings(LabApi):
    @web.authenticated
    def get(self, plugin_id):
        if plugin_id:
            return self.reply(self.lab.plugin(plugin_id))
        if self.get_argument("ids_only", "") == "true":
            return self.reply({"settings": [{"id": i} for i in self.lab.plugin_ids()]})
        self.reply({"settings": [self.lab.plugin(i) for i in self.lab.plugin_ids()]})

    @web.authenticated
    def put(self, plugin_id):
        self.lab.schema_path(plugin_id)  # 404 for a plugin the build does not have
        try:
            raw = json.loads(self.request.body)["raw"]
            settings_parser.loads(raw)
        except (ValueError, KeyError, TypeError) as err:
            raise web.HTTPError(400, "settings must be {\"raw\": JSON text}: %s" % err)
        write_text(self.lab.user_path(plugin_id), raw)
        self.set_status(204)
        self.finish()


class Workspaces(LabApi):
    @web.authenticated
    def get(self, name):
        if not name:
            values = []
            if os.path.isdir(self.lab.workspaces):
                for f in sorted(os.listdir(self.lab.workspaces)):
                    if f.endswith(WORKSPACE_SUFFIX):
                        values.append(read_json(os.path.join(self.lab.workspaces, f), {}))
            ids = [v.get("metadata", {}).get("id") for v in values]
            return self.reply({"workspaces": {"ids": ids, "values": values}})
        empty = {"data": {}, "metadata": {"id": name}}
        self.reply(read_json(self.lab.workspace_path(name), empty))

    @web.authenticated
    def put(self, name):
        try:
            workspace = json.loads(self.request.body)
            same = workspace["metadata"]["id"].strip("/") == name.strip("/")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise web.HTTPError(400, "a workspace is {\"data\": ..., \"metadata\": {\"id\": ...}}: %s" % err)
        if not same:
            raise web.HTTPError(400, "the workspace's metadata.id is not %r" % name)
        write_text(self.lab.workspace_path(name), json.dumps(workspace))
        self.set_status(204)
        self.finish()

    @web.authenticated
    def delete(self, name):
        try:
            os.remove(self.lab.workspace_path(name))
        except FileNotFoundError:
            raise web.HTTPError(404, "no workspace %r" % name)
        self.set_status(204)
        self.finish()


class Translations(LabApi):
    """English only: the front-end's own strings. A locale asked for is 'not installed', and
    JupyterLab then stays in English, as jupyterlab_server answers without language packs."""

    @web.authenticated
    def get(self, locale):
        if not locale:
            return self.reply({"data": {"en": {"displayName": "English", "nativeName": "English"}}, "message": ""})
        self.reply({"data": {}, "message": "Language pack %r not installed!" % locale})


class Me(LabApi):
    @web.authenticated
    def get(self):
        self.reply(lab_common.identity(self.get_current_user()))


def load_jupyter_server_extension(nbapp):
    """Notebook 6 calls this for each enabled nbserver_extension; ConclabNotebookLab calls it itself."""
    lab = Lab(nbapp)
    dist = lab.dist
    routes = [
        (r"lab/?", LabPage, {"lab": lab}),
        (r"lab/tree/(?P<tree_path>.*)", LabPage, {"lab": lab}),
        (r"lab/workspaces/(?P<workspace>[^/]+)(?:/tree/(?P<tree_path>.*))?/?", LabPage, {"lab": lab}),
        (r"lab/api/settings/?(.*)", Settings, {"lab": lab}),
        (r"lab/api/workspaces/?(.*)", Workspaces, {"lab": lab}),
        (r"lab/api/translations/?(.*)", Translations, {"lab": lab}),
        (r"lab/api/themes/(.*)", FileFindHandler, {"path": [os.path.join(dist, "themes")]}),
        (r"static/conclab_lab/(.*)", FileFindHandler, {"path": [os.path.join(dist, "static")]}),
        (r"api/me", Me, {"lab": lab}),
    ]
    if lab_common.have_mathjax():
        routes.append((lab_common.MATHJAX_ROUTE + "/(.*)", FileFindHandler, {"path": [lab_common.MATHJAX_DIR]}))
    nbapp.web_app.add_handlers(".*$", [(url_path_join(nbapp.base_url, r), *rest) for r, *rest in routes])
    nbapp.log.info("conclab lab: JupyterLab %s from %s, on Notebook 6's server", lab_common.APP_VERSION, dist)


def _jupyter_server_extension_paths():
    return [{"module": "lab_notebook6"}]


class ConclabNotebookLab(NotebookApp):
    """Notebook 6's server opening JupyterLab: /lab is the default page."""

    name = "conclab-lab"
    description = "JupyterLab 3.6.8 for the conclab C kernel, served by Notebook 6's server"
    default_url = Unicode("/lab", config=True, help="The page the server opens")

    def init_webapp(self):
        super().init_webapp()
        load_jupyter_server_extension(self)
