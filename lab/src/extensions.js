// extensions.js — the JupyterLab 3.6.8 plugins this build is made of.
//
// Every `-extension` package in package.json must be listed here once (webpack.config.js checks
// it). Mime extensions render one output type and are handed to the application separately.

export const extensions = [
  require('@jupyterlab/application-extension'),
  require('@jupyterlab/apputils-extension'),
  require('@jupyterlab/celltags-extension'),
  require('@jupyterlab/codemirror-extension'),
  require('@jupyterlab/completer-extension'),
  require('@jupyterlab/console-extension'),
  require('@jupyterlab/csvviewer-extension'),
  require('@jupyterlab/docmanager-extension'),
  require('@jupyterlab/docprovider-extension'),
  require('@jupyterlab/documentsearch-extension'),
  require('@jupyterlab/filebrowser-extension'),
  require('@jupyterlab/fileeditor-extension'),
  require('@jupyterlab/help-extension'),
  require('@jupyterlab/htmlviewer-extension'),
  require('@jupyterlab/hub-extension'),
  require('@jupyterlab/imageviewer-extension'),
  require('@jupyterlab/inspector-extension'),
  require('@jupyterlab/launcher-extension'),
  require('@jupyterlab/logconsole-extension'),
  require('@jupyterlab/mainmenu-extension'),
  require('@jupyterlab/markdownviewer-extension'),
  require('@jupyterlab/mathjax2-extension'),
  require('@jupyterlab/notebook-extension'),
  require('@jupyterlab/rendermime-extension'),
  require('@jupyterlab/running-extension'),
  require('@jupyterlab/settingeditor-extension'),
  require('@jupyterlab/shortcuts-extension'),
  require('@jupyterlab/statusbar-extension'),
  require('@jupyterlab/terminal-extension'),
  require('@jupyterlab/theme-dark-extension'),
  require('@jupyterlab/theme-light-extension'),
  require('@jupyterlab/toc-extension'),
  require('@jupyterlab/tooltip-extension'),
  require('@jupyterlab/translation-extension'),
  require('@jupyterlab/ui-components-extension'),
];

export const mimeExtensions = [
  require('@jupyterlab/javascript-extension'),
  require('@jupyterlab/json-extension'),
  require('@jupyterlab/pdf-extension'),
];

// Plugins left out, with why. The announcements plugin polls /lab/api/news, which only the
// `jupyterlab` Python package serves (and it would fetch news from the internet).
export const leftOut = new Set(['@jupyterlab/apputils-extension:announcements']);
