// test_lab_ui.mjs — conclab in JupyterLab 3.6 (`conclab lab`), as a student uses it.
//
// Starts `conclab lab ROOT` (the binary under test, CONCLAB_BIN) on 127.0.0.1 with a free port, a
// token and a private Jupyter home whose kernelspec `conclab-test` runs that binary; ROOT is a
// temporary folder holding a copy of the lab notebooks/12.2-*.ipynb and a small test notebook.
// Headless Chromium, driven by Playwright with clicks and keys, then: opens the lab from the file
// browser, Run All, and reads the page (text, a timeline picture, ✓ checks, the exercise check's
// error with its traceback); in the test notebook: C highlighting (text/x-csrc), `printf?`'s
// manual page under the cell, an input box for `fgets`, HTML and Markdown displays, a display
// updated by its id; interrupts `while (1) {}` from the toolbar; completes `cl_thr` with Tab;
// shows cl_thread_start's and printf's documentation in the contextual help panel; restarts the
// kernel from the toolbar (confirmed) and sees the state gone; finds "C (conclab)" with its logo
// in the launcher and the kernel's help links in the Help menu; switches to the dark theme;
// reloads and gets the workspace back.
//
//   CONCLAB_BIN=build/kernel/conclab node tests/ui/test_lab_ui.mjs
//
// Environment: CONCLAB_BIN (required), CONCLAB_UI_ARTIFACTS (screenshots and the server log;
// default: the working directory), CONCLAB_CHROMIUM (default /usr/bin/chromium).
// Prints one line per check and closes with "N passed, N failed". Exit status 0 when all passed,
// 77 (ctest's SKIP_RETURN_CODE) when Chromium or the npm-installed playwright-core is missing,
// 1 otherwise; a JupyterLab front-end that was not built is a failure, not a skip.

import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS, CHROMIUM, KERNEL_NAME, LAB_PREFIX, assert, check, conclabBinary, copyLab, explained, failedOutside,
  guardRun, labNotebook, shownOnPurpose,
  launchChromium, loadPlaywright, log, makeJupyterHome, noteProcesses, once, removeJupyterHome, runMain, skip,
  sleep, startServer, stopServer, summary, tail, tally, waitForServer, writeNotebook,
} from './harness.mjs';

const TEST_NOTEBOOK = 'lab_ui_test.ipynb';

const WAIT_MS = 20000;
const LAB_MS = 90000;
const WATCHDOG_MS = 170000;

// The small notebook: cells run one by one with Shift-Enter or Ctrl-Enter, never with Run All.
const CELLS = [
  'int before_restart = 7;\nprintf("before_restart is %d\\n", before_restart);',
  'while (1) {}',
  '',
  'printf?',
  'char line[64];\nif (fgets(line, sizeof line, stdin)) printf("got %s", line);',
  'cl_display_html("<b id=\\"conclab-html\\">bold from C</b>");\ncl_display_markdown("# Heading from C\\n\\nA *Markdown* display.");',
  'cl_display_id shown = cl_display_text("counting: 1 of 2");\ncl_sleep(1.5);\ncl_update_text(shown, "counting: 2 of 2");',
];

// ---------------------------------------------------------------------------------------------
// What the test needs. Missing Chromium or playwright-core (npm) is a skip; the rest fails.

async function prerequisites() {
  if (!fs.existsSync(CHROMIUM)) skip(`Chromium not found at ${CHROMIUM} (Debian package chromium; ./install.sh installs it)`);
  try {
    return await loadPlaywright();
  } catch (err) {
    skip(err.message);
  }
}

// The private Jupyter home (harness.mjs), its root holding a copy of the lab and the test notebook.
function home(conclab) {
  const dirs = makeJupyterHome(conclab, { prefix: 'conclab-lab-ui-', logos: true });
  dirs.lab = copyLab(dirs.root);
  if (!dirs.lab) {
    removeJupyterHome(dirs);
    throw new Error(`no notebooks/${LAB_PREFIX}*.ipynb`);
  }
  writeNotebook(path.join(dirs.root, TEST_NOTEBOOK), CELLS);
  return dirs;
}

// ---------------------------------------------------------------------------------------------
// The server's API, to leave no session behind

async function api(server, method, what) {
  const res = await fetch(`${server.base}/api/${what}`, { method, headers: { Authorization: `token ${server.token}` } });
  if (!res.ok) throw new Error(`${method} /api/${what}: HTTP ${res.status}`);
  return res.status === 204 ? null : res.json();
}

// Deletes every session (and so its kernel) this test started; returns how many.
async function deleteSessions(server) {
  const sessions = await api(server, 'GET', 'sessions');
  for (const s of sessions) await api(server, 'DELETE', `sessions/${s.id}`);
  const kernels = await api(server, 'GET', 'kernels');
  for (const k of kernels) await api(server, 'DELETE', `kernels/${k.id}`);
  return sessions.length;
}

// ---------------------------------------------------------------------------------------------
// The page, read and driven as a person would

const PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)';

async function menu(page, top, ...items) {
  await page.locator('.lm-MenuBar-item', { hasText: new RegExp(`^${top}$`) }).click();
  for (const [i, item] of items.entries()) {
    // A label matches whole: "Run All Cells" is not "Restart Kernel and Run All Cells…".
    const label = item instanceof RegExp ? item : new RegExp(`^${item.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const entry = page.locator('.lm-Menu:visible .lm-Menu-item', { has: page.locator('.lm-Menu-itemLabel', { hasText: label }) }).last();
    if (i < items.length - 1) await entry.hover();
    else await entry.click();
  }
}

async function waitIdle(page, timeout = WAIT_MS) {
  await page.locator(`${PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]`).waitFor({ timeout });
}

// Opens a file from the file browser with a double click; picks the conclab kernel if asked.
async function openFromFileBrowser(page, name) {
  await page.locator('.jp-DirListing-item', { has: page.locator('.jp-DirListing-itemText', { hasText: name }) }).dblclick();
  const tab = page.locator('.lm-TabBar-tab.lm-mod-current', { hasText: name });
  await tab.waitFor({ timeout: WAIT_MS });
  // The session starts on the notebook's kernelspec; should JupyterLab ask, pick ours.
  const dialog = page.locator('.jp-Dialog', { hasText: 'Select Kernel' });
  const kernelName = page.locator(`${PANEL} .jp-KernelName`);
  const deadline = Date.now() + WAIT_MS;
  let kernel = '';
  while (Date.now() < deadline) {
    if (await dialog.isVisible().catch(() => false)) {
      await dialog.locator('select').selectOption({ label: 'C (conclab)' });
      await dialog.locator('.jp-mod-accept').click();
    }
    kernel = (await kernelName.innerText().catch(() => '')).trim();
    if (kernel === 'C (conclab)') break;
    await sleep(100);
  }
  await waitIdle(page);
  assert(kernel === 'C (conclab)', `the toolbar names the kernel "${kernel}"`);
}

// Everything a check needs of the visible notebook's code cells, from the DOM.
function readCells(page) {
  return page.evaluate((panelSel) => {
    const panel = document.querySelector(panelSel);
    const cells = [...panel.querySelectorAll('.jp-Cell')];
    const text = (c, q) => [...c.querySelectorAll(q)].map((e) => e.innerText).join('');
    return cells.map((c, i) => ({
      i,
      code: c.classList.contains('jp-CodeCell'),
      heading: (c.querySelector('.jp-RenderedMarkdown h2') || {}).innerText || '',
      prompt: (c.querySelector('.jp-InputPrompt') || {}).innerText || '',
      stdout: text(c, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]'),
      error: text(c, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
      svgInline: c.querySelectorAll('.jp-OutputArea-output svg.conclab-timeline').length,
      svgImages: [...c.querySelectorAll('.jp-RenderedSVG img, .jp-RenderedHTMLCommon img')]
        .filter((img) => img.src.startsWith('data:image/svg') && img.naturalWidth > 0).length,
    }));
  }, PANEL);
}

const ran = (prompt) => /\[\d+\]/.test(prompt);
const running = (prompt) => /\[\*\]/.test(prompt);

async function cellEditor(page, i) {
  return page.locator(`${PANEL} .jp-Cell`).nth(i).locator('.CodeMirror');
}

// Replaces a cell's text by typing, as a person would: click, select all, type.
async function setCell(page, i, code) {
  const editor = await cellEditor(page, i);
  await editor.click();
  await page.locator(`${PANEL} .jp-Notebook.jp-mod-editMode`).waitFor({ timeout: 5000 });
  await page.keyboard.press('Control+A');
  if (code) await page.keyboard.type(code);
  else await page.keyboard.press('Delete');
  const typed = await editor.evaluate((el) => el.CodeMirror.getValue());
  assert(typed === code, `typed ${JSON.stringify(code)} but the cell holds ${JSON.stringify(typed)}`);
  return editor;
}

// Runs cell i with Ctrl-Enter, as a person would, and returns once it has started ([*]).
async function startCell(page, i) {
  await (await cellEditor(page, i)).click();
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(({ sel, i }) => /\[[*\d]+\]/.test(document.querySelectorAll(sel + ' .jp-Cell')[i].querySelector('.jp-InputPrompt').innerText),
    { sel: PANEL, i }, { timeout: WAIT_MS });
}

// Waits until cell i shows an execution count ([n], not [*]).
async function cellDone(page, i, timeout = WAIT_MS) {
  await page.waitForFunction(({ sel, i }) => /\[\d+\]/.test(document.querySelectorAll(sel + ' .jp-Cell')[i].querySelector('.jp-InputPrompt').innerText),
    { sel: PANEL, i }, { timeout });
}

// The visible notebook's cell i, as a Playwright locator.
const cellAt = (page, i) => page.locator(`${PANEL} .jp-Cell`).nth(i);

// ---------------------------------------------------------------------------------------------
// The checks

async function runLab(page, dirs, shot) {
  await openFromFileBrowser(page, dirs.lab);
  await menu(page, 'Run', 'Run All Cells');
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel + ' .jp-InputPrompt')].some((p) => /\[\*\]/.test(p.innerText)),
    PANEL, { timeout: WAIT_MS });
  await page.waitForFunction((sel) => ![...document.querySelectorAll(sel + ' .jp-InputPrompt')].some((p) => /\[\*\]/.test(p.innerText)),
    PANEL, { timeout: LAB_MS, polling: 250 });
  await waitIdle(page);
  const cells = await readCells(page);
  const exercises = cells.findIndex((c) => /^Exercises/.test(c.heading));
  assert(exercises > 0, 'no "Exercises" heading rendered');
  const before = cells.filter((c) => c.code && c.i < exercises);
  const after = cells.filter((c) => c.code && c.i > exercises);
  const timelines = cells.filter((c) => c.svgInline || c.svgImages);
  if (timelines.length) {
    await page.locator(`${PANEL} .jp-Cell`).nth(timelines[0].i).scrollIntoViewIfNeeded();
    await page.locator(`${PANEL} .jp-Cell`).nth(Math.max(0, timelines[0].i - 1)).scrollIntoViewIfNeeded();
  }
  await page.screenshot({ path: shot });
  return { cells, exercises, before, after, timelines };
}

async function main() {
  const started = Date.now();
  const { chromium } = await prerequisites();
  const conclab = conclabBinary();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const out = (name) => path.join(ARTIFACTS, name);
  const serverLog = out('ui_lab_server.log');
  const shots = {
    launcher: out('ui_lab_launcher.png'), lab: out('ui_lab_12.2.png'), help: out('ui_lab_contextual_help.png'),
    dark: out('ui_lab_dark.png'), cells: out('ui_lab_test_cells.png'), failure: out('ui_lab_failure.png'),
  };
  for (const f of Object.values(shots)) fs.rmSync(f, { force: true });

  const dirs = home(conclab);
  let server = null;
  let browser = null;
  let page = null;
  // Stops the browser and the server once, whichever way the run ends (guardRun: SIGTERM,
  // SIGINT, the watchdog).
  const cleanup = once(async () => {
    if (server && !server.exited) {
      await deleteSessions(server).catch((e) => log(`# deleting the sessions: ${e.message}`));
    }
    if (browser) await browser.close().catch(() => {});
    if (server) server.leftovers = await stopServer(server);
    removeJupyterHome(dirs);
  });
  const disarm = guardRun({ watchdogMs: WATCHDOG_MS, cleanup });

  try {
    await check('conclab lab starts and prints its URL as jupyter lab does', async () => {
      server = await startServer({
        name: 'conclab lab', dirs, logFile: serverLog, cwd: dirs.home,
        command: (port, token) => [conclab, 'lab', dirs.root, '--no-browser', `--port=${port}`,
          '--ServerApp.port_retries=0', `--ServerApp.token=${token}`],
      });
      await waitForServer(server);
      // A token given on the command line is printed as "...", as jupyter lab does.
      const url = `http://127.0.0.1:${server.port}/lab?token=`;
      const printed = fs.readFileSync(serverLog, 'utf8');
      assert(printed.includes(url), `the output does not show ${url}…:\n${tail(serverLog)}`);
      return `${url}…`;
    }, { fatal: true });

    browser = await launchChromium(chromium);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    // Offline: anything JupyterLab would fetch from elsewhere than this server is refused.
    const outside = [];
    await context.route((url) => !url.href.startsWith(server.base), (route) => {
      outside.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const notFound = [];
    page.on('response', (res) => { if (res.status() === 404) notFound.push(res.url().replace(/\?.*/, '')); });

    await check('JupyterLab starts: launcher, file browser, no page error, nothing fetched from outside', async () => {
      await page.goto(`${server.base}/lab?token=${server.token}`, { timeout: WAIT_MS });
      await page.waitForSelector('body[data-conclab-lab="ready"]', { state: 'attached', timeout: WAIT_MS });
      await page.locator('.jp-Launcher').waitFor({ timeout: WAIT_MS });
      await page.locator('.jp-DirListing-item', { hasText: TEST_NOTEBOOK }).waitFor({ timeout: WAIT_MS });
      assert(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
      assert(outside.length === 0, `requests to elsewhere: ${outside.join(' ')}`);
      assert(notFound.length === 0, `404s: ${notFound.join(' ')}`);
      return `version ${await page.evaluate(() => JSON.parse(document.getElementById('jupyter-config-data').textContent).appVersion)}`;
    }, { fatal: true });

    await check('the launcher offers "C (conclab)" with the kernel\'s logo', async () => {
      const card = page.locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: 'C (conclab)' }).filter({
        has: page.locator(`img[src*="/kernelspecs/${KERNEL_NAME}/"]`),
      });
      await card.first().waitFor({ timeout: WAIT_MS });
      const logo = card.first().locator('img');
      await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await logo.elementHandle(), { timeout: 5000 });
      await page.screenshot({ path: shots.launcher });
      return `${await logo.getAttribute('src')}`;
    });

    let lab = null;
    await check(`the lab ${LAB_PREFIX}… opens from the file browser and Run All runs it to the first exercise`, async () => {
      lab = await runLab(page, dirs, shots.lab);
      // An error first: it explains why the cells after it did not run.
      const purpose = shownOnPurpose(labNotebook());
      const errors = lab.before.filter((c) => c.error && !explained(c.error, purpose[c.i]));
      const silent = lab.before.filter((c) => purpose[c.i].error && !c.error.includes(purpose[c.i].error));
      assert(silent.length === 0, `cells tagged raises-exception without their error: ${silent.map((c) => c.i)}`);
      assert(errors.length === 0, `an error before the exercises, cell ${errors[0] && errors[0].i}: ` +
        JSON.stringify(errors[0] && { stdout: errors[0].stdout.slice(-400), error: errors[0].error.slice(0, 400) }));
      const notRun = lab.before.filter((c) => !ran(c.prompt)).map((c) => c.i);
      assert(notRun.length === 0, `cells before the exercises that did not run: ${notRun}`);
      return `${lab.before.length} code cells ran; screenshot ${shots.lab}`;
    }, { fatal: true });

    await check('the lab shows text output', async () => {
      const printed = lab.before.filter((c) => c.stdout.trim());
      assert(printed.length >= 5, `only ${printed.length} cells printed text`);
      return JSON.stringify(printed[0].stdout.trim().split('\n')[0]);
    });

    await check('the lab shows a rendered SVG timeline', async () => {
      assert(lab.timelines.length >= 1, 'no timeline picture rendered (inline <svg> or loaded SVG image)');
      const t = lab.timelines[0];
      return `${lab.timelines.length} cells with a timeline; cell ${t.i}: ${t.svgInline ? 'inline svg' : 'SVG image'}`;
    });

    await check('the lab shows ✓ from its check cells', async () => {
      const ticks = lab.before.filter((c) => /^\u2713 /m.test(c.stdout));
      assert(ticks.length >= 3, `only ${ticks.length} cells show a \u2713`);
      return `${ticks.length} cells; ${JSON.stringify(ticks[0].stdout.trim().split('\n').find((l) => l.startsWith('\u2713')))}`;
    });

    await check('the unanswered exercise check shows an error output with its traceback, and Run All stops there', async () => {
      const stopped = lab.after.find((c) => c.error);
      assert(stopped, 'no error output after the Exercises heading');
      assert(/\u2717/.test(stopped.stdout + stopped.error), `no \u2717 in the failing check: ${JSON.stringify(stopped)}`);
      assert(stopped.error.trim().split('\n').length >= 1 && stopped.error.trim().length > 10,
        `the error output has no traceback text: ${JSON.stringify(stopped.error)}`);
      const later = lab.after.filter((c) => c.i > stopped.i && ran(c.prompt));
      assert(later.length === 0, `cells after the failed check ran: ${later.map((c) => c.i)}`);
      return `cell ${stopped.i}: ${JSON.stringify(stopped.error.trim().split('\n').slice(0, 2).join(' | '))}`;
    });

    await check('the Help menu lists the kernel\'s help links', async () => {
      await menu(page, 'Help');
      const item = page.locator('.lm-Menu:visible .lm-Menu-itemLabel', { hasText: 'C reference' });
      await item.waitFor({ timeout: 5000 });
      await page.keyboard.press('Escape');
      return '"C reference"';
    });

    await check('the test notebook opens from the file browser on "C (conclab)"', async () => {
      await openFromFileBrowser(page, TEST_NOTEBOOK);
    }, { fatal: true });

    await check('a cell runs with Shift-Enter and prints', async () => {
      const editor = await cellEditor(page, 0);
      await editor.click();
      await page.keyboard.press('Shift+Enter');
      await page.waitForFunction((sel) => /before_restart is 7/.test(document.querySelector(sel + ' .jp-Cell').innerText), PANEL, { timeout: WAIT_MS });
      await waitIdle(page);
    });

    await check('code cells are highlighted as C: CodeMirror in text/x-csrc, `int` a coloured C type, the string coloured', async () => {
      const seen = await (await cellEditor(page, 0)).evaluate((el) => {
        const tokens = (cls) => [...el.querySelectorAll(`.CodeMirror-code .cm-${cls}`)];
        const string = tokens('string')[0];
        const int = [...tokens('type'), ...tokens('keyword')].find((span) => span.textContent === 'int');
        return { mode: el.CodeMirror.getOption('mode'), name: el.CodeMirror.getMode().name,
          types: [...tokens('type'), ...tokens('keyword')].map((span) => span.textContent),
          intColour: int ? getComputedStyle(int).color : '',
          string: string ? string.textContent : '', stringColour: string ? getComputedStyle(string).color : '',
          textColour: getComputedStyle(el.querySelector('.CodeMirror-line > span')).color };
      });
      // The mode comes from the kernel's language_info (mimetype text/x-csrc): the file has none.
      assert(seen.mode === 'text/x-csrc' && seen.name === 'clike', `the editor's mode is ${JSON.stringify(seen.mode)} (${seen.name})`);
      assert(seen.types.includes('int'), `\`int\` is not a type or keyword token: ${JSON.stringify(seen)}`);
      assert(seen.string.includes('before_restart is'), `the string literal is not a string token: ${JSON.stringify(seen)}`);
      assert(seen.stringColour !== seen.textColour, `the string has the plain text's colour ${seen.textColour}`);
      // JupyterLab 3.6's editor theme has no colour for CodeMirror's .cm-type; lab/src/style.css
      // gives it one, else `int` would be tokenised as C yet show in the text colour.
      assert(seen.intColour !== seen.textColour, `\`int\` has the plain text's colour ${seen.textColour}`);
      return `mode ${seen.mode}; type/keyword tokens: ${seen.types.join(' ')}; int ${seen.intColour}, string ${seen.stringColour} on text ${seen.textColour}`;
    });

    await check('`printf?` shows printf\'s manual page under the cell', async () => {
      await startCell(page, 3);
      await cellDone(page, 3);
      // JupyterLab 3.6 shows an execute_reply's "page" payload as an output of the cell.
      const out = cellAt(page, 3).locator('.jp-OutputArea-output');
      await out.filter({ hasText: 'formatted output conversion' }).first().waitFor({ timeout: WAIT_MS });
      const text = await out.first().innerText();
      const mime = await out.first().getAttribute('data-mime-type');
      // A rendered display, not text the cell printed; the synopsis in a code block.
      assert(!/stdout|stderr/.test(mime), `the page came as ${mime}`);
      const synopsis = await out.first().locator('pre').allInnerTexts();
      assert(synopsis.some((t) => t.includes('#include <stdio.h>')), `no #include <stdio.h> in a code block of the page: ${JSON.stringify(text)}`);
      return `${mime}: ${JSON.stringify(text.split('\n')[0])}`;
    });

    await check('`fgets` on stdin opens an input box; the line typed there reaches the cell', async () => {
      await startCell(page, 4);
      const input = cellAt(page, 4).locator('.jp-Stdin input.jp-Stdin-input');
      await input.waitFor({ timeout: WAIT_MS });
      await input.click();
      await page.keyboard.type('typed in the lab');
      await page.keyboard.press('Enter');
      await cellDone(page, 4);
      const stdout = (await readCells(page))[4].stdout;
      assert(/got typed in the lab/.test(stdout), `the cell printed ${JSON.stringify(stdout)}`);
      return JSON.stringify(stdout.trim().split('\n').pop());
    });

    await check('cl_display_html shows an HTML element, cl_display_markdown a rendered heading', async () => {
      await startCell(page, 5);
      await cellDone(page, 5);
      const bold = cellAt(page, 5).locator('.jp-RenderedHTMLCommon b#conclab-html');
      await bold.waitFor({ timeout: WAIT_MS });
      assert((await bold.innerText()) === 'bold from C', `the <b> holds ${JSON.stringify(await bold.innerText())}`);
      const h1 = cellAt(page, 5).locator('.jp-RenderedMarkdown h1', { hasText: 'Heading from C' });
      await h1.waitFor({ timeout: WAIT_MS });
      const emphasis = await cellAt(page, 5).locator('.jp-RenderedMarkdown em').innerText();
      assert(emphasis === 'Markdown', `the *Markdown* is not emphasised: ${JSON.stringify(emphasis)}`);
      return `<b id="conclab-html">, <h1>${JSON.stringify((await h1.innerText()).trim())}`;
    });

    await check('a display updated by its id changes in place: one output, first "1 of 2" then "2 of 2"', async () => {
      await startCell(page, 6);
      const outputs = cellAt(page, 6).locator('.jp-OutputArea-output');
      // The cell sleeps 1.5 s between the display and its update: the first text shows meanwhile.
      await outputs.filter({ hasText: 'counting: 1 of 2' }).waitFor({ timeout: WAIT_MS });
      const firstSeen = Date.now();
      await outputs.filter({ hasText: 'counting: 2 of 2' }).waitFor({ timeout: WAIT_MS });
      const updatedAfter = Date.now() - firstSeen;
      await cellDone(page, 6);
      const texts = await outputs.evaluateAll((els) => els.map((e) => e.innerText.trim()));
      assert(texts.length === 1 && texts[0] === 'counting: 2 of 2', `the cell's outputs are ${JSON.stringify(texts)}`);
      await cellAt(page, 3).scrollIntoViewIfNeeded();
      await page.screenshot({ path: shots.cells });
      return `updated ${updatedAfter} ms after the first text showed`;
    });

    await check('the toolbar\'s interrupt button stops `while (1) {}` within 2 s', async () => {
      const editor = await cellEditor(page, 1);
      await editor.click();
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction((sel) => /\[\*\]/.test(document.querySelectorAll(sel + ' .jp-Cell')[1].querySelector('.jp-InputPrompt').innerText),
        PANEL, { timeout: WAIT_MS });
      await sleep(500);
      const pressed = Date.now();
      await page.locator(`${PANEL} .jp-Toolbar [data-command="kernelmenu:interrupt"]`).click();
      await page.waitForFunction((sel) => /\[\d+\]/.test(document.querySelectorAll(sel + ' .jp-Cell')[1].querySelector('.jp-InputPrompt').innerText),
        PANEL, { timeout: 5000, polling: 20 });
      const took = Date.now() - pressed;
      const cells = await readCells(page);
      assert(took <= 2000, `the cell stopped ${took} ms after the click`);
      return `stopped in ${took} ms${cells[1].error ? `; ${JSON.stringify(cells[1].error.trim().split('\n')[0])}` : ''}`;
    });

    await check('`cl_thr` + Tab lists cl_thread_start', async () => {
      await setCell(page, 2, 'cl_thr');
      // A person presses Tab again when no list shows; the note says how many presses it took.
      const item = page.locator('.jp-Completer .jp-Completer-item[data-value="cl_thread_start"]');
      let presses = 0;
      while (presses < 3) {
        presses++;
        await page.keyboard.press('Tab');
        if (await item.waitFor({ state: 'attached', timeout: presses < 3 ? 5000 : WAIT_MS }).then(() => true, () => false)) break;
      }
      await item.waitFor({ state: 'attached', timeout: 100 });
      const all = await page.locator('.jp-Completer .jp-Completer-item').evaluateAll((li) => li.map((e) => e.getAttribute('data-value')));
      await page.keyboard.press('Escape');
      return `${presses} Tab press(es); ${all.length} items: ${all.slice(0, 5).join(', ')}`;
    });

    await check('Help > Show Contextual Help shows cl_thread_start\'s documentation at the cursor', async () => {
      await menu(page, 'Help', 'Show Contextual Help');
      await page.locator('.jp-Inspector').waitFor({ timeout: WAIT_MS });
      await setCell(page, 2, 'cl_thread_start');
      // The panel replaces its content with each answer: read it afresh every time.
      const text = (await (await page.waitForFunction(() => {
        const el = document.querySelector('.jp-Inspector .jp-Inspector-content');
        return el && /cl_thread_start\(/.test(el.innerText) ? el.innerText : false;
      }, null, { timeout: WAIT_MS })).jsonValue()).trim();
      await page.screenshot({ path: shots.help });
      return JSON.stringify(text.split('\n').slice(0, 2).join(' | ').slice(0, 120));
    });

    await check('the contextual help panel shows printf\'s manual at the cursor', async () => {
      await setCell(page, 2, 'printf');
      const text = (await (await page.waitForFunction(() => {
        const el = document.querySelector('.jp-Inspector .jp-Inspector-content');
        return el && /formatted output conversion/.test(el.innerText) ? el.innerText : false;
      }, null, { timeout: WAIT_MS })).jsonValue()).trim();
      assert(/#include <stdio\.h>/.test(text), `no #include <stdio.h> in the panel: ${JSON.stringify(text.slice(0, 300))}`);
      return JSON.stringify(text.split('\n').slice(0, 2).join(' | ').slice(0, 120));
    });

    await check('the toolbar\'s restart button (confirmed) empties the state: before_restart is undeclared', async () => {
      await (await cellEditor(page, 0)).click();
      await page.keyboard.press('Escape');
      await page.locator(`${PANEL} .jp-Toolbar [data-command="kernelmenu:restart"]`).click();
      const dialog = page.locator('.jp-Dialog', { hasText: 'Restart Kernel?' });
      await dialog.waitFor({ timeout: 5000 });
      await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
      await page.locator(`${PANEL} .jp-Notebook-ExecutionIndicator[data-status="restarting"], ${PANEL} .jp-Notebook-ExecutionIndicator[data-status="starting"]`)
        .waitFor({ timeout: 5000 }).catch(() => {});
      await waitIdle(page);
      await setCell(page, 2, 'before_restart');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction((sel) => /\[\d+\]/.test(document.querySelectorAll(sel + ' .jp-Cell')[2].querySelector('.jp-InputPrompt').innerText),
        PANEL, { timeout: WAIT_MS });
      const cell = (await readCells(page))[2];
      assert(/before_restart/.test(cell.error) && /undeclared/.test(cell.error), `expected "undeclared", got ${JSON.stringify(cell)}`);
      return JSON.stringify(cell.error.trim().split('\n')[0]);
    });

    await check('Settings > Theme > JupyterLab Dark applies the dark theme', async () => {
      await menu(page, 'Settings', 'Theme', 'JupyterLab Dark');
      await page.waitForSelector('body[data-jp-theme-name="JupyterLab Dark"][data-jp-theme-light="false"]', { state: 'attached', timeout: WAIT_MS });
      // The theme's CSS (served from the build's themes/) is loaded when its colours are: the
      // notebook's background turns dark.
      await page.waitForFunction((sel) => {
        const rgb = getComputedStyle(document.querySelector(sel)).backgroundColor.match(/[\d.]+/g).map(Number);
        return rgb.length === 3 && rgb[0] + rgb[1] + rgb[2] < 200;
      }, `${PANEL} .jp-Notebook`, { timeout: WAIT_MS });
      await sleep(300);
      await page.screenshot({ path: shots.dark });
      return getComputedStyleNote(page);
    });

    await check('a reload restores the workspace: both notebooks open, the dark theme kept', async () => {
      await page.reload();
      await page.waitForSelector('body[data-conclab-lab="ready"]', { state: 'attached', timeout: WAIT_MS });
      for (const name of [dirs.lab, TEST_NOTEBOOK]) {
        await page.locator('.lm-TabBar-tab', { hasText: name }).first().waitFor({ timeout: WAIT_MS });
      }
      await page.waitForSelector('body[data-jp-theme-name="JupyterLab Dark"]', { state: 'attached', timeout: WAIT_MS });
    });

    await check('no page error, no request outside the server, no 404', async () => {
      assert(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
      assert(outside.length === 0, `requests to elsewhere: ${outside.join(' ')}`);
      assert(notFound.length === 0, `404s: ${[...new Set(notFound)].join(' ')}`);
    });

    await check('the test deletes its sessions and kernels', async () => {
      noteProcesses(server);
      const n = await deleteSessions(server);
      const kernels = await api(server, 'GET', 'kernels');
      assert(kernels.length === 0, `${kernels.length} kernels left`);
      return `${n} sessions deleted`;
    });
  } catch (err) {
    failedOutside(err);
  } finally {
    disarm();
    if (tally.failed && page) await page.screenshot({ path: shots.failure }).catch(() => {});
    await cleanup();
  }
  if (tally.aborted) return new Promise(() => {});   // guardRun is cleaning up, and ends the process
  if (server) {
    await check('the server is stopped and no kernel or executor process outlives it', async () => {
      assert(server.exited, 'the server is still running');
      const left = server.leftovers || [];
      assert(left.length === 0, `killed leftovers: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
    });
  }
  if (tally.failed) log(`# last lines of ${serverLog}:\n${tail(serverLog)}`);
  log(`# artifacts in ${ARTIFACTS}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  summary();
  return tally.failed === 0 ? 0 : 1;
}

async function getComputedStyleNote(page) {
  return page.evaluate((sel) => `notebook background ${getComputedStyle(document.querySelector(sel)).backgroundColor}`, `${PANEL} .jp-Notebook`);
}

runMain(main);
