// test_lab_notebook6.mjs — `conclab lab --server=notebook`: the same JupyterLab 3.6 build served by
// Notebook 6's own server (lab/server/lab_notebook6.py), where jupyter_server is not installed.
//
// Starts the server (the binary under test, CONCLAB_BIN) on 127.0.0.1 with a free port, a token and
// a private Jupyter home whose kernelspec `conclab-test` runs that binary; in headless Chromium:
// the application loads (the launcher shows, no page error, no failed request to the lab's own
// API), a small notebook opens from the file browser on the conclab kernel, its two cells run with
// Shift-Enter (printf text; an SVG from cl_display_svg), a setting (the dark theme) is written
// through the settings API and read back after a reload, then the server stops on SIGTERM,
// leaving no kernel running.
//
//   CONCLAB_BIN=build/kernel/conclab node tests/ui/test_lab_notebook6.mjs
//
// Environment: CONCLAB_BIN (required), CONCLAB_UI_ARTIFACTS (screenshots and the server log),
// CONCLAB_CHROMIUM (default /usr/bin/chromium). One line per check, then "N passed, N failed".
// Exit 0 when all passed; 77 (skip) when Chromium, playwright-core or Notebook 6 is missing;
// 1 otherwise (a front-end that was not built is a failure).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS, PYTHON, assert, check, conclabBinary, failedOutside, guardRun, launchChromium,
  loadPlaywright, log, makeJupyterHome, noteProcesses, once, removeJupyterHome, runMain, skip, sleep, startServer,
  stopServer, summary, tail, tally, waitForServer, writeNotebook, CHROMIUM,
} from './harness.mjs';

const NOTEBOOK = 'nb6_test.ipynb';
const WAIT_MS = 20000;
const WATCHDOG_MS = 100000;
const CELLS = [
  'printf("served by notebook %d\\n", 6);',
  'cl_display_svg("<svg xmlns=\'http://www.w3.org/2000/svg\' width=\'80\' height=\'20\'>' +
    '<rect id=\'nb6-mark\' width=\'80\' height=\'20\' fill=\'teal\'/></svg>");',
];

// ---- what the test needs --------------------------------------------------------------------

async function prerequisites() {
  if (!fs.existsSync(CHROMIUM)) skip(`Chromium not found at ${CHROMIUM} (Debian package chromium)`);
  const nb6 = spawnSync(PYTHON, ['-c', 'import notebook.notebookapp'], { stdio: 'ignore' });
  if (nb6.status !== 0) skip('Notebook 6 is not installed (Debian package jupyter-notebook)');
  try {
    return await loadPlaywright();
  } catch (err) {
    skip(err.message);
  }
}

// The private home (harness.mjs) with the small notebook in its root.
function home(conclab) {
  const d = makeJupyterHome(conclab, { prefix: 'conclab-lab-nb6-' });
  writeNotebook(path.join(d.root, NOTEBOOK), CELLS);
  return d;
}

// ---- the server -----------------------------------------------------------------------------

function start(conclab, d, logFile) {
  return startServer({
    name: 'conclab lab', dirs: d, logFile, cwd: d.home,
    command: (port, token) => [conclab, 'lab', d.root, '--server=notebook', '--no-browser', `--port=${port}`,
      '--ServerApp.port_retries=0', `--ServerApp.token=${token}`, '--allow-root'],
  });
}

// conclab kernels started below the server (pid, start time), to see them gone at the end;
// stopServer() kills whatever the server started that outlives it.
function kernelsBelow(server) {
  return noteProcesses(server).filter((p) => p.cmd.includes('kernel'));
}

// ---- the page -------------------------------------------------------------------------------

const PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)';

async function runCells(page) {
  await page.locator(`${PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]`).waitFor({ timeout: WAIT_MS });
  await page.locator(`${PANEL} .jp-Cell`).first().click();
  await page.keyboard.press('Escape');  // command mode: Shift-Enter runs and moves on
  for (let i = 0; i < CELLS.length; i++) await page.keyboard.press('Shift+Enter');
}

async function main() {
  const { chromium } = await prerequisites();
  const conclab = conclabBinary();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const logFile = path.join(ARTIFACTS, 'lab-notebook6-server.log');
  const d = home(conclab);
  let server = null;
  let browser = null;
  // Stops the browser and the server once, whichever way the run ends (guardRun: SIGTERM,
  // SIGINT, the watchdog).
  const cleanup = once(async () => {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server, { graceMs: 500 });
    removeJupyterHome(d);
  });
  const disarm = guardRun({ watchdogMs: WATCHDOG_MS, cleanup });
  try {
    await check('conclab lab --server=notebook starts Notebook 6\'s server', async () => {
      server = await start(conclab, d, logFile);   // set first: cleanup stops it whatever happens
      await waitForServer(server);
      const text = fs.readFileSync(logFile, 'utf8');
      assert(/Jupyter Notebook 6\./.test(text) && /on Notebook 6's server/.test(text), `not Notebook 6:\n${tail(logFile)}`);
      return `port ${server.port}`;
    });
    if (!server) return;
    browser = await launchChromium(chromium);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const errors = [];
    const failedRequests = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => { if (r.status() >= 400 && new URL(r.url()).port === String(server.port)) failedRequests.push(`${r.status()} ${new URL(r.url()).pathname}`); });

    await check('JupyterLab loads: the launcher with C (conclab), no page error, no failed request', async () => {
      await page.goto(`${server.base}/lab?token=${server.token}`);
      await page.locator('.jp-LauncherCard', { hasText: 'C (conclab)' }).first().waitFor({ timeout: 30000 });
      await sleep(500);
      assert(!errors.length, `page errors: ${errors.join('; ')}`);
      assert(!failedRequests.length, `failed requests: ${failedRequests.join(', ')}`);
      const config = await page.evaluate(() => JSON.parse(document.getElementById('jupyter-config-data').textContent));
      return `appVersion ${config.appVersion}, ${config.conclabBundle}`;
    });
    await check(`${NOTEBOOK} opens from the file browser on the conclab kernel`, async () => {
      await page.locator('.jp-DirListing-item', { hasText: NOTEBOOK }).dblclick();
      await page.locator(`${PANEL} .jp-KernelName`, { hasText: 'C (conclab)' }).waitFor({ timeout: WAIT_MS });
    });
    await check('its cells run: printf text and an SVG from cl_display_svg', async () => {
      await runCells(page);
      await page.locator(`${PANEL} .jp-OutputArea-output`, { hasText: 'served by notebook 6' }).waitFor({ timeout: WAIT_MS });
      await page.locator(`${PANEL} .jp-RenderedSVG svg #nb6-mark, ${PANEL} .jp-OutputArea-output img[src*="svg"]`).first().waitFor({ timeout: WAIT_MS });
      await page.screenshot({ path: path.join(ARTIFACTS, 'lab-notebook6-cells.png') });
      assert(!errors.length, `page errors: ${errors.join('; ')}`);
    });
    await check('a setting is saved through the settings API: the dark theme survives a reload', async () => {
      const themeMenu = page.locator('.lm-MenuBar-item', { hasText: /^Settings$/ });
      await themeMenu.click();
      const item = (label) => page.locator('.lm-Menu:visible .lm-Menu-item', { has: page.locator('.lm-Menu-itemLabel', { hasText: label }) }).last();
      await item(/^Theme$/).hover();
      await item(/^JupyterLab Dark$/).click();
      await page.waitForFunction(() => document.body.dataset.jpThemeLight === 'false', null, { timeout: WAIT_MS });
      await sleep(500);
      await page.reload();
      await page.locator(PANEL).waitFor({ timeout: 30000 });
      await page.waitForFunction(() => document.body.dataset.jpThemeLight === 'false', null, { timeout: WAIT_MS });
      const saved = path.join(d.data, 'conclab', 'lab', 'user-settings', '@jupyterlab', 'apputils-extension', 'themes.jupyterlab-settings');
      assert(fs.existsSync(saved), `no ${saved}`);
      assert(!failedRequests.length, `failed requests: ${failedRequests.join(', ')}`);
      return 'the notebook came back too (workspace)';
    });
    const kernels = kernelsBelow(server);
    await check('the server stops on SIGTERM and no kernel is left', async () => {
      await browser.close();
      browser = null;
      const left = await stopServer(server, { graceMs: 500 });
      assert(!server.killed, 'the server ignored SIGTERM for 15 s (killed)');
      assert(kernels.length >= 1, 'no kernel was seen below the server');
      assert(!left.length, `processes left running: ${left.map((k) => `${k.pid} ${k.cmd}`).join('; ')}`);
      return `exit ${server.exit.code ?? server.exit.signal}, ${kernels.length} kernel(s) stopped`;
    });
  } catch (err) {
    failedOutside(err);
  } finally {
    disarm();
    await cleanup();
  }
  if (tally.aborted) return new Promise(() => {});   // guardRun is cleaning up, and ends the process
  if (tally.failed) log(`# server log (${logFile}):\n${tail(logFile, 25, '# ')}`);
  summary();
}

runMain(main);
