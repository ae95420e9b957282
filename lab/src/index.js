// index.js — starts the JupyterLab application in the page served by conclab_lab.py.
//
// The page holds a JSON page config (PageConfig) written by the server: URLs, the workspace,
// the tree path to open, the plugins a user disabled. We give the application every plugin of
// extensions.js except those left out or disabled, start it, and let it restore the workspace.
import './public-path';
import { PageConfig } from '@jupyterlab/coreutils';
import { JupyterLab } from '@jupyterlab/application';
import { extensions, mimeExtensions, leftOut } from './extensions';
import 'conclab-lab-style';
import './style.css';   // after JupyterLab's own styles, which it adds to

// The plugins of one package, without those we leave out or the user disabled.
function pluginsOf(mod) {
  let plugins = mod.default || mod;
  if (!Array.isArray(plugins)) plugins = [plugins];
  return plugins.filter((p) => !leftOut.has(p.id) && !PageConfig.Extension.isDisabled(p.id));
}

// MathJax comes from the local copy the server found (Debian's libjs-mathjax); without one,
// math stays as typed rather than fetched from a CDN, and the typesetter plugin is not started.
function withoutMathJax(plugins) {
  if (PageConfig.getOption('fullMathjaxUrl')) return plugins;
  return plugins.filter((p) => p.id !== '@jupyterlab/mathjax2-extension:plugin');
}

async function main() {
  const app = new JupyterLab({ mimeExtensions: mimeExtensions.flatMap(pluginsOf) });
  app.registerPlugins(withoutMathJax(extensions.flatMap(pluginsOf)));
  await app.start();
  await app.restored;
  // A marker for anyone (a test, a person in devtools) who wants to know the shell is ready.
  document.body.dataset.conclabLab = 'ready';
}

window.addEventListener('load', () => {
  main().catch((err) => {
    console.error('conclab lab: the application did not start', err);
    document.body.textContent = `JupyterLab did not start: ${err}`;
  });
});
