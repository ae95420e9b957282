// test_notebook_ui.mjs — conclab in the real Jupyter Notebook 6 web UI, as a student uses it.
//
// Starts `jupyter notebook` on 127.0.0.1 with a private Jupyter home whose only kernelspec runs
// the conclab binary under test (CONCLAB_BIN, set by ctest), opens a prepared notebook in
// headless Chromium through Playwright, and checks what the page shows: Run All, live output,
// an execute_result, a compile error naming the cell and line, C highlighting, interrupt from
// the toolbar and restart from the Kernel menu. Everything is read from the DOM, the way a person
// reads the page; the browser is driven with clicks and keys, the way a person drives it.
//
//   CONCLAB_BIN=build/kernel/conclab node tests/ui/test_notebook_ui.mjs
//
// Environment: CONCLAB_BIN (required), CONCLAB_UI_ARTIFACTS (where screenshots and the server log
// go; default: the working directory), CONCLAB_CHROMIUM (default /usr/bin/chromium),
// CONCLAB_JUPYTER (default /usr/bin/jupyter).
//
// Prints one line per check and closes with "N passed, N failed"; exits non-zero on any failure,
// including a missing dependency (install.sh installs Chromium, Node and tests/ui/node_modules).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

const CHROMIUM = process.env.CONCLAB_CHROMIUM || '/usr/bin/chromium';
const JUPYTER = process.env.CONCLAB_JUPYTER || '/usr/bin/jupyter';
const ARTIFACTS = path.resolve(process.env.CONCLAB_UI_ARTIFACTS || process.cwd());
const SETPRIV = '/usr/bin/setpriv';
const KERNEL_NAME = 'conclab-test';
const NOTEBOOK = 'ui_test.ipynb';

// Every wait is bounded; the whole run must stay well inside ctest's TIMEOUT.
const WAIT_MS = 20000;
const WATCHDOG_MS = 200000;

// The notebook a student would have open. No language_info in its metadata: C highlighting must
// come from the kernel's kernel_info_reply, not from the file.
const CELLS = {
  globals: '#include <stdio.h>\nint counter = 41;',
  increment: 'counter++;\nprintf("counter is %d\\n", counter);',
  value: 'counter',
  live: '#include <unistd.h>\nfor (int i = 1; i <= 5; i++) {\n    printf("tick %d\\n", i);\n    usleep(300000);\n}',
  broken: 'int fine = 1;\nint broken = undeclared_name + 1;',
  afterError: 'printf("ran after the error\\n");',
};
const CELL_ORDER = ['globals', 'increment', 'value', 'live', 'broken', 'afterError'];
const cellIndex = (name) => CELL_ORDER.indexOf(name);

// ---------------------------------------------------------------------------------------------
// Reporting

// A closed stdout (`| head`) must not end the run before the server is stopped.
process.stdout.on('error', () => {});

let passed = 0;
let failed = 0;

function log(line) {
  process.stdout.write(line + '\n');
}

// Runs one check; a failure is recorded and the run goes on unless the check is `fatal`
// (later checks could only fail for the same reason, each after a long wait).
async function check(name, fn, { fatal = false } = {}) {
  const started = Date.now();
  try {
    const note = await fn();
    passed++;
    log(`ok ${passed + failed} - ${name} (${Date.now() - started} ms)${note ? ': ' + note : ''}`);
    return true;
  } catch (err) {
    failed++;
    log(`not ok ${passed + failed} - ${name} (${Date.now() - started} ms)`);
    log("    " + String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, "").split("\n").join("\n    "));
    if (fatal) throw new Fatal(name);
    return false;
  }
}

class Fatal extends Error {}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// Dependencies: a missing one fails the test with what to do about it.

async function loadPlaywright() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 18) throw new Error(`Node ${process.versions.node} is too old: the UI test needs 18 or newer`);
  try {
    return await import('playwright-core');
  } catch (err) {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    throw new Error(`cannot load playwright-core from ${dir}/node_modules (${err.code || err.message}): ` +
      'run ./install.sh, or `npm ci` in tests/ui');
  }
}

function requireExecutable(file, what) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(`${what} not found at ${file}: run ./install.sh`);
  }
}

function conclabBinary() {
  const bin = process.env.CONCLAB_BIN;
  if (!bin) throw new Error('CONCLAB_BIN is not set: run through ctest, or export CONCLAB_BIN=/path/to/conclab');
  requireExecutable(bin, 'CONCLAB_BIN');
  return path.resolve(bin);
}

// ---------------------------------------------------------------------------------------------
// The private Jupyter home: one kernelspec, one notebook, nothing read from the user's own dirs.

function makeJupyterHome(conclab) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'conclab-ui-'));
  const dirs = {
    home,
    path: path.join(home, 'share'),
    data: path.join(home, 'data'),
    runtime: path.join(home, 'runtime'),
    config: path.join(home, 'config'),
    notebooks: path.join(home, 'notebooks'),
  };
  const specDir = path.join(dirs.path, 'kernels', KERNEL_NAME);
  for (const dir of [specDir, dirs.data, dirs.runtime, dirs.config, dirs.notebooks]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  const spec = {
    argv: [conclab, 'kernel', '-f', '{connection_file}'],
    display_name: 'C (conclab)',
    language: 'c',
    interrupt_mode: 'message',
  };
  fs.writeFileSync(path.join(specDir, 'kernel.json'), JSON.stringify(spec, null, 1));
  fs.writeFileSync(path.join(dirs.notebooks, NOTEBOOK), JSON.stringify(notebookJson(), null, 1));
  return dirs;
}

function notebookJson() {
  return {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: 'C (conclab)', language: 'c' } },
    cells: CELL_ORDER.map((name) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source: CELLS[name],
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The notebook server, and every process it starts, which we end ourselves if it does not.

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startServer(dirs, logFile) {
  const port = await freePort();
  const token = crypto.randomBytes(16).toString('hex');
  const env = {
    ...process.env,
    JUPYTER_PATH: dirs.path,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_PLATFORM_DIRS: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  delete env.JUPYTER_CONFIG_PATH;
  const out = fs.openSync(logFile, 'w');
  // Its own process group: a Ctrl-C meant for the test reaches the server only through
  // stopServer(). setpriv has Linux send it SIGTERM should this process die without cleaning
  // up (killed by a timeout, say), so no server outlives the test.
  const argv = fs.existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', '--', JUPYTER] : [JUPYTER];
  const child = spawn(argv[0], [
    ...argv.slice(1), 'notebook', '--no-browser', '--allow-root', '--ip=127.0.0.1', `--port=${port}`,
    '--port-retries=0', `--NotebookApp.token=${token}`, `--notebook-dir=${dirs.notebooks}`,
    '--NotebookApp.open_browser=False',
  ], { env, cwd: dirs.notebooks, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const server = { child, port, token, base: `http://127.0.0.1:${port}`, exited: false, known: new Map() };
  child.on('exit', () => { server.exited = true; });
  return server;
}

async function waitForServer(server, logFile) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`jupyter notebook exited at start:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${server.base}/api/status?token=${server.token}`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`jupyter notebook did not answer on port ${server.port} within 30 s:\n${tail(logFile)}`);
}

// The processes below `root` (kernels, their executors), each with its start time so a recycled
// pid is never mistaken for ours.
function descendants(root) {
  const parentOf = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) parentOf.set(Number(entry), stat);
  }
  const found = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.pop();
    for (const [pid, stat] of parentOf) {
      if (stat.ppid === parent) {
        found.push({ pid, start: stat.start, cmd: cmdline(pid) });
        frontier.push(pid);
      }
    }
  }
  return found;
}

function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return null;
  }
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function stillOurs(proc) {
  const stat = procStat(proc.pid);
  return stat !== null && stat.start === proc.start && stat.state !== 'Z';
}

// Remembers the server's children as we go: a kernel the server loses track of is still ours.
function noteProcesses(server) {
  if (server.exited) return [];
  const now = descendants(server.child.pid);
  for (const proc of now) server.known.set(`${proc.pid}:${proc.start}`, proc);
  return now;
}

// SIGTERM lets Notebook shut its kernels down the proper way (shutdown_request); whatever is
// left after that is killed by pid. Returns the processes that outlived the server.
async function stopServer(server) {
  noteProcesses(server);
  if (!server.exited) {
    process.kill(server.child.pid, 'SIGTERM');
    const deadline = Date.now() + 15000;
    while (!server.exited && Date.now() < deadline) await sleep(100);
    if (!server.exited) {
      log('# jupyter notebook ignored SIGTERM for 15 s: killing it');
      try { process.kill(server.child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  // Kernels get a moment to finish their own shutdown after the server's last word.
  const deadline = Date.now() + 3000;
  let left = [...server.known.values()].filter(stillOurs);
  while (left.length && Date.now() < deadline) {
    await sleep(100);
    left = left.filter(stillOurs);
  }
  for (const proc of left) {
    try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  return left;
}

// ---------------------------------------------------------------------------------------------
// The page, read the way a person reads it.

const cellSel = (i) => `#notebook-container > .cell:nth-child(${i + 1})`;

// Everything a check needs to know about one code cell, from its DOM.
async function readCell(page, i) {
  return page.evaluate((sel) => {
    const cell = document.querySelector(sel);
    if (!cell) return null;
    const text = (q) => [...cell.querySelectorAll(q)].map((e) => e.innerText).join('');
    const outPrompt = cell.querySelector('.output_area .output_prompt');
    let result = null;
    for (const area of cell.querySelectorAll('.output_area')) {
      const prompt = area.querySelector('.output_prompt');
      if (prompt && /Out/.test(prompt.innerText)) {
        result = { prompt: prompt.innerText.trim(), text: area.querySelector('.output_subarea').innerText.trim() };
      }
    }
    return {
      inPrompt: (cell.querySelector('.input_prompt') || {}).innerText || '',
      running: cell.classList.contains('running'),
      stdout: text('.output_stdout'),
      stderr: text('.output_stderr'),
      error: text('.output_error'),
      outputs: cell.querySelectorAll('.output_area').length,
      outPrompt: outPrompt ? outPrompt.innerText.trim() : '',
      result,
    };
  }, cellSel(i));
}

function executionCount(inPrompt) {
  const m = /In\s*\[\s*(\d+)\s*\]/.exec(inPrompt);
  return m ? Number(m[1]) : null;
}

// Waits until a cell has run: not running, and a number in its In [ ] prompt.
async function waitCellDone(page, i, timeout = WAIT_MS) {
  await page.waitForFunction((sel) => {
    const cell = document.querySelector(sel);
    if (!cell || cell.classList.contains('running')) return false;
    const prompt = cell.querySelector('.input_prompt');
    return prompt && /\[\s*\d+\s*\]/.test(prompt.innerText);
  }, cellSel(i), { timeout, polling: 50 });
  return readCell(page, i);
}

async function waitKernelIdle(page, timeout = WAIT_MS) {
  await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout });
}

async function cellCount(page) {
  return page.locator('#notebook-container > .cell').count();
}

// Types code into the empty cell at the bottom (Shift-Enter leaves one there), or into a new
// one under the last cell (Esc, b), and runs it with Shift-Enter: mouse and keyboard only.
// Returns the cell's index.
async function runNewCell(page, code) {
  const index = await typeInNewCell(page, code);
  await page.keyboard.press('Shift+Enter');
  return index;
}

async function typeInNewCell(page, code) {
  const count = await cellCount(page);
  const last = await readCell(page, count - 1);
  const lastText = await page.locator(cellSel(count - 1) + ' .CodeMirror').evaluate((el) => el.CodeMirror.getValue());
  let index = count - 1;
  await page.locator(cellSel(index) + ' .CodeMirror').click();
  if (lastText !== '' || executionCount(last.inPrompt) !== null || last.outputs) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('b');
    await page.waitForFunction((n) => document.querySelectorAll('#notebook-container > .cell').length === n + 1,
      count, { timeout: 5000 });
    await page.keyboard.press('Enter');
    index = count;
  }
  await page.keyboard.type(code);
  // CodeMirror closes brackets as one types; the cell must hold exactly what was meant.
  const typed = await page.locator(cellSel(index) + ' .CodeMirror').evaluate((el) => el.CodeMirror.getValue());
  assert(typed === code, `typed ${JSON.stringify(code)} but the cell holds ${JSON.stringify(typed)}`);
  return index;
}

function cellText(page, i) {
  return page.locator(cellSel(i) + ' .CodeMirror').evaluate((el) => el.CodeMirror.getValue());
}

// ---------------------------------------------------------------------------------------------
// The checks

async function openNotebook(page, server) {
  await page.goto(`${server.base}/notebooks/${NOTEBOOK}?token=${server.token}`, { timeout: WAIT_MS });
  await page.waitForFunction((n) => document.querySelectorAll('#notebook-container > .cell').length === n,
    CELL_ORDER.length, { timeout: WAIT_MS });
  await waitKernelIdle(page);
  const name = (await page.locator('#kernel_indicator .kernel_indicator_name').innerText()).trim();
  assert(name === 'C (conclab)', `kernel indicator names "${name}", not "C (conclab)"`);
  return `kernel "${name}" idle`;
}

async function runAll(page, screenshot) {
  // Watched from the start, since it can only be seen while the loop cell runs: some ticks on
  // the page, the last one not yet there, and the cell still running.
  const live = page.waitForFunction((sel) => {
    const cell = document.querySelector(sel);
    const out = [...cell.querySelectorAll('.output_stdout')].map((e) => e.innerText).join('');
    return cell.classList.contains('running') && /tick 1/.test(out) && !/tick 5/.test(out) ? out : false;
  }, cellSel(cellIndex('live')), { timeout: WAIT_MS, polling: 20 }).then((h) => h.jsonValue(), (err) => err);

  await page.locator('#celllink').click();
  await page.locator('#run_all_cells > a').click();

  // Run All ends at the compile error: wait for every cell to stop running, then for idle.
  await waitCellDone(page, cellIndex('broken'), WAIT_MS);
  await page.waitForFunction(() => document.querySelectorAll('#notebook-container > .cell.running').length === 0,
    null, { timeout: WAIT_MS });
  await waitKernelIdle(page);
  await page.screenshot({ path: screenshot, fullPage: true });
  return live;
}

async function main() {
  const started = Date.now();
  const { chromium } = await loadPlaywright();
  requireExecutable(CHROMIUM, 'Chromium');
  requireExecutable(JUPYTER, 'jupyter (Debian package jupyter-notebook)');
  const conclab = conclabBinary();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const serverLog = path.join(ARTIFACTS, 'ui_notebook_server.log');
  const shotRunAll = path.join(ARTIFACTS, 'ui_notebook_run_all.png');
  const shotEnd = path.join(ARTIFACTS, 'ui_notebook_end.png');
  const shotFailure = path.join(ARTIFACTS, 'ui_notebook_failure.png');
  const shotTimeline = path.join(ARTIFACTS, 'ui_notebook_timeline.png');
  for (const f of [shotRunAll, shotEnd, shotFailure, shotTimeline]) fs.rmSync(f, { force: true });

  const dirs = makeJupyterHome(conclab);
  let server = null;
  let browser = null;
  let page = null;
  let cleaning = null;

  // Stops the browser and the server once, whichever way the run ends.
  const cleanup = () => {
    cleaning ??= (async () => {
      if (browser) await withTimeout(browser.close(), 10000, 'closing Chromium').catch((e) => log('# ' + e.message));
      if (server) {
        const left = await stopServer(server);
        server.leftovers = left;
      }
      fs.rmSync(dirs.home, { recursive: true, force: true });
    })();
    return cleaning;
  };
  const watchdog = setTimeout(async () => {
    log(`not ok - the UI test ran over ${WATCHDOG_MS / 1000} s; stopping everything`);
    await cleanup();
    process.exit(1);
  }, WATCHDOG_MS);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => { await cleanup(); process.exit(1); });
  }

  try {
    await check('jupyter notebook starts with the conclab-test kernelspec', async () => {
      server = await startServer(dirs, serverLog); // set first: cleanup stops it whatever happens
      await waitForServer(server, serverLog);
      return `port ${server.port}`;
    }, { fatal: true });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      timeout: 30000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
    page.on('pageerror', (err) => log(`# page error: ${err.message}`));

    await check('the notebook opens and its kernel "C (conclab)" becomes idle', () => openNotebook(page, server),
      { fatal: true });
    noteProcesses(server);

    await check('code cells are highlighted as C (mode from kernel_info_reply)', async () => {
      // Notebook loads the mode named by the kernel's codemirror_mode (a script fetched by
      // requirejs) only once the kernel is ready, so it may land a moment after idle.
      const mode = await page.waitForFunction((sel) => {
        const name = document.querySelector(sel + ' .CodeMirror').CodeMirror.getMode().name;
        return name === 'clike' && name;
      }, cellSel(0), { timeout: 10000, polling: 50 }).then((h) => h.jsonValue(), async () =>
        page.locator(cellSel(0) + ' .CodeMirror').evaluate((el) => el.CodeMirror.getMode().name));
      assert(mode === 'clike', `CodeMirror mode is still "${mode}" after 10 s, not "clike"`);
      // CodeMirror's C mode styles `int` as a type (cm-type) and `for` as a keyword.
      const spans = await page.evaluate((sel) => {
        const pick = (cls) => [...document.querySelectorAll(`${sel} .CodeMirror-code .${cls}`)].map((e) => e.textContent);
        return { keyword: pick('cm-keyword'), type: pick('cm-type'), meta: pick('cm-meta'),
          number: pick('cm-number'), string: pick('cm-string') };
      }, '#notebook-container');
      const seen = JSON.stringify(spans);
      assert(spans.type.includes('int') || spans.keyword.includes('int'), `no span styles "int" as a type: ${seen}`);
      assert(spans.keyword.includes('for'), `no cm-keyword span for "for": ${seen}`);
      assert(spans.meta.some((t) => t.includes('#include')), `no cm-meta span for #include: ${seen}`);
      assert(spans.number.includes('41'), `no cm-number span for 41: ${seen}`);
      assert(spans.string.some((t) => t.includes('counter is')), `no cm-string span for the format: ${seen}`);
      return `mode clike; cm-keyword ${JSON.stringify(spans.keyword)}, cm-type ${JSON.stringify(spans.type)}`;
    });

    let live = null;
    const ranAll = await check('Cell > Run All runs to the compile error; the kernel returns to idle', async () => {
      live = await runAll(page, shotRunAll);
      return `screenshot ${shotRunAll}`;
    });

    if (ranAll) {
      await check('stdout shows "counter is 42"', async () => {
        const cell = await readCell(page, cellIndex('increment'));
        assert(cell.stdout.trim() === 'counter is 42', `stdout is ${JSON.stringify(cell.stdout)}`);
        assert(cell.stderr === '', `stderr is ${JSON.stringify(cell.stderr)}`);
      });

      await check('`counter` shows Out[n]: 42 with n its execution count', async () => {
        const cell = await readCell(page, cellIndex('value'));
        const n = executionCount(cell.inPrompt);
        assert(cell.result, `no Out[...] output: ${JSON.stringify(cell)}`);
        assert(cell.result.text === '42', `Out text is ${JSON.stringify(cell.result.text)}`);
        const m = /Out\s*\[\s*(\d+)\s*\]/.exec(cell.result.prompt);
        assert(m && Number(m[1]) === n, `prompt ${JSON.stringify(cell.result.prompt)} beside In [${n}]`);
        return `${cell.result.prompt.replace(/\s/g, ' ')} ${cell.result.text}`;
      });

      await check('execution counts go 1, 2, 3, 4, 5 down the cells that ran', async () => {
        const counts = [];
        for (const name of ['globals', 'increment', 'value', 'live', 'broken']) {
          counts.push(executionCount((await readCell(page, cellIndex(name))).inPrompt));
        }
        assert(JSON.stringify(counts) === '[1,2,3,4,5]', `counts are ${JSON.stringify(counts)}`);
      });

      await check('the loop\'s output appears while the cell still runs (live)', async () => {
        assert(typeof live === 'string', `never saw some ticks with the cell still running: ${live && live.message}`);
        const cell = await readCell(page, cellIndex('live'));
        const want = 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5';
        assert(cell.stdout.trim() === want, `final stdout is ${JSON.stringify(cell.stdout)}`);
        return `seen mid-run: ${JSON.stringify(live.trim())}`;
      });

      await check('the compile error is an error output naming the cell and its line 2', async () => {
        const cell = await readCell(page, cellIndex('broken'));
        const n = executionCount(cell.inPrompt);
        assert(cell.error, `no .output_error in the cell: ${JSON.stringify(cell)}`);
        assert(/undeclared_name/.test(cell.error), `error does not name undeclared_name: ${JSON.stringify(cell.error)}`);
        assert(new RegExp(`cell\\[${n}\\]:2\\b`).test(cell.error),
          `error does not point at cell[${n}] line 2: ${JSON.stringify(cell.error)}`);
        assert(cell.stderr === '' && cell.stdout === '', 'the compile error also wrote to stdout/stderr');
        return JSON.stringify(cell.error.trim());
      });

      await check('the cell after the compile error did not run (Run All stopped)', async () => {
        const cell = await readCell(page, cellIndex('afterError'));
        assert(executionCount(cell.inPrompt) === null, `its prompt is ${JSON.stringify(cell.inPrompt)}`);
        assert(cell.outputs === 0, `it has ${cell.outputs} outputs: ${JSON.stringify(cell.stdout)}`);
      });

      await check('no stderr output in the cells that succeeded', async () => {
        for (const name of ['globals', 'increment', 'value', 'live']) {
          const cell = await readCell(page, cellIndex(name));
          assert(cell.stderr === '' && cell.error === '', `cell "${name}" has stderr/error ${JSON.stringify(cell)}`);
        }
      });
    }

    await check('the stop button interrupts `while (1) {}` with an error output', async () => {
      await waitKernelIdle(page);
      const i = await runNewCell(page, 'while (1) {}');
      await page.waitForSelector('#kernel_indicator_icon.kernel_busy_icon', { timeout: WAIT_MS });
      await page.waitForSelector(cellSel(i) + '.running', { timeout: WAIT_MS });
      await sleep(500); // let it really spin
      const before = await readCell(page, i);
      assert(before.running, 'the loop stopped by itself');
      const clicked = Date.now();
      await page.locator('#maintoolbar button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]').click();
      const cell = await waitCellDone(page, i, 10000);
      const took = Date.now() - clicked;
      assert(cell.error, `no error output after the interrupt: ${JSON.stringify(cell)}`);
      await waitKernelIdle(page, 10000);
      return `stopped ${took} ms after the click: ${JSON.stringify(cell.error.trim())}`;
    });

    await check('after the interrupt `counter` still shows 42', async () => {
      const i = await runNewCell(page, 'counter');
      const cell = await waitCellDone(page, i);
      assert(cell.result && cell.result.text === '42', `got ${JSON.stringify(cell)}`);
      await waitKernelIdle(page);
    });

    await check('scanf asks for a line in the page; the typed line reaches the cell', async () => {
      const i = await runNewCell(page, 'int n = 0;\nscanf("%d", &n);\nprintf("twice is %d\\n", 2 * n);');
      const input = page.locator(cellSel(i) + ' input.raw_input');
      await input.waitFor({ timeout: WAIT_MS });
      await input.fill('21');
      await input.press('Enter');
      const cell = await waitCellDone(page, i);
      assert(/twice is 42/.test(cell.stdout), `stdout is ${JSON.stringify(cell.stdout)}`);
      assert(cell.stderr === '' && cell.error === '', `stderr/error: ${JSON.stringify(cell)}`);
      await waitKernelIdle(page);
      return JSON.stringify(cell.stdout);
    });

    await check('Tab completes `coun` to `counter`, which then shows 42', async () => {
      const i = await typeInNewCell(page, 'coun');
      await page.keyboard.press('Tab');
      const done = await page.waitForFunction((sel) => {
        return document.querySelector(sel + ' .CodeMirror').CodeMirror.getValue() === 'counter';
      }, cellSel(i), { timeout: 5000, polling: 50 }).then(() => true, () => false);
      if (!done) {
        const offered = await page.locator('#complete select option').allInnerTexts().catch(() => []);
        throw new Error(`the cell holds ${JSON.stringify(await cellText(page, i))}; ` +
          `completions offered: ${JSON.stringify(offered)}`);
      }
      await page.keyboard.press('Shift+Enter');
      const cell = await waitCellDone(page, i);
      assert(cell.result && cell.result.text === '42', `got ${JSON.stringify(cell)}`);
      await waitKernelIdle(page);
    });

    await check('%%timeline draws the run in the page: an SVG with a lane per thread, coloured by state', async () => {
      const code = '%%timeline\n' +
        'cl_lock *ui_lock = cl_lock_new();\n' +
        'cl_lock_set_name(ui_lock, "shared-counter");\n' +
        'void *ui_work(void *arg) { for (int k = 0; k < 10; k++) { cl_lock_acquire(ui_lock); cl_sleep(0.01); cl_lock_release(ui_lock); } return arg; }\n' +
        'cl_thread *ui_a = cl_thread_start_named("alpha", ui_work, NULL);\n' +
        'cl_thread *ui_b = cl_thread_start_named("beta", ui_work, NULL);\n' +
        'cl_thread_join(ui_a);\n' +
        'cl_thread_join(ui_b);';
      const i = await runNewCell(page, code);
      const cell = await waitCellDone(page, i);
      assert(cell.error === '' && cell.stderr === '', `the cell failed: ${JSON.stringify(cell)}`);
      const svg = page.locator(cellSel(i) + ' .output_area svg.conclab-timeline');
      await svg.waitFor({ timeout: WAIT_MS });
      const lanes = await svg.locator('g.lane').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-lane')));
      for (const name of ['main', 'alpha', 'beta'])
        assert(lanes.includes(name), `no lane "${name}" among ${JSON.stringify(lanes)}`);
      const waits = await svg.locator('rect.state-lock').count();
      assert(waits > 0, 'no span shows a thread waiting for the lock');
      const hover = await svg.locator('title').allTextContents();
      assert(hover.some((t) => t.startsWith('lock "shared-counter"')), 'no hover text names the lock');
      const box = await svg.boundingBox();
      assert(box && box.width >= 400 && box.height >= 100, `the picture is ${JSON.stringify(box)} on the page`);
      await page.locator(cellSel(i)).screenshot({ path: shotTimeline });
      await waitKernelIdle(page);
      return `lanes ${lanes.join(', ')}; ${waits} lock waits; screenshot ${shotTimeline}`;
    });

    await check('Kernel > Restart (confirmed) gives a fresh kernel: `counter` is undeclared', async () => {
      const kernelsBefore = noteProcesses(server).filter((p) => / kernel -f /.test(p.cmd));
      await page.evaluate(() => {
        window.__conclabRestarted = false;
        Jupyter.notebook.events.one('kernel_ready.Kernel', () => { window.__conclabRestarted = true; });
      });
      await page.locator('#kernellink').click();
      await page.locator('#restart_kernel > a').click();
      const dialog = page.locator('.modal-dialog', { hasText: 'Restart kernel?' });
      await dialog.waitFor({ timeout: 5000 });
      await dialog.locator('.modal-footer button.btn-danger', { hasText: 'Restart' }).click();
      await page.waitForFunction(() => window.__conclabRestarted === true, null, { timeout: WAIT_MS });
      await waitKernelIdle(page);
      const kernelsAfter = noteProcesses(server).filter((p) => / kernel -f /.test(p.cmd));
      const oldAlive = kernelsBefore.filter(stillOurs).filter((p) => !kernelsAfter.some((q) => q.pid === p.pid));
      assert(oldAlive.length === 0, `the old kernel outlived the restart: ${JSON.stringify(oldAlive)}`);

      const i = await runNewCell(page, 'counter');
      const cell = await waitCellDone(page, i);
      assert(cell.error && /counter/.test(cell.error) && /undeclared/.test(cell.error),
        `expected an "undeclared" error naming counter, got ${JSON.stringify(cell)}`);
      assert(!cell.result, `still shows a value: ${JSON.stringify(cell.result)}`);
      return JSON.stringify(cell.error.trim()) +
        `; kernel pid ${kernelsBefore.map((p) => p.pid)} -> ${kernelsAfter.map((p) => p.pid)}`;
    });

    await check('the restarted kernel is alive: `6 * 7` shows 42 and the kernel is idle', async () => {
      const i = await runNewCell(page, '6 * 7');
      const cell = await waitCellDone(page, i);
      assert(cell.result && cell.result.text === '42', `got ${JSON.stringify(cell)}`);
      await waitKernelIdle(page);
      const note = (await page.locator('#notification_kernel').innerText()).trim();
      assert(!/dead|error|disconnected/i.test(note), `kernel notification says "${note}"`);
    });

    await page.screenshot({ path: shotEnd, fullPage: true });
  } catch (err) {
    if (!(err instanceof Fatal)) {
      failed++;
      log(`not ok ${passed + failed} - the test itself stopped: ${err && err.stack ? err.stack : err}`);
    }
  } finally {
    if (failed && page) await page.screenshot({ path: shotFailure, fullPage: true }).catch(() => {});
    await cleanup();
    clearTimeout(watchdog);
  }

  if (server) {
    await check('no kernel or executor process outlives the notebook server', async () => {
      const left = server.leftovers || [];
      assert(left.length === 0, `killed leftovers: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
    });
  }
  if (failed && fs.existsSync(serverLog)) log(`# last lines of ${serverLog}:\n${tail(serverLog)}`);
  log(`# artifacts in ${ARTIFACTS}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => '#   ' + l).join('\n');
  } catch {
    return '#   (no log)';
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`not ok - ${err && err.message ? err.message : err}`);
    log('0 passed, 1 failed');
    process.exit(1);
  },
);
