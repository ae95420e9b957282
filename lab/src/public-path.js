// public-path.js — where webpack loads the lazy chunks from, decided in the browser.
//
// The server puts the static URL of this build (with its base_url, which differs behind
// JupyterHub) in the page config; chunks must come from there, so this module runs first.
import { PageConfig, URLExt } from '@jupyterlab/coreutils';

// eslint-disable-next-line no-undef
__webpack_public_path__ = URLExt.join(PageConfig.getOption('fullStaticUrl'), '/');
