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

import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS, CHROMIUM, JUPYTER, LABS, LAB_PREFIX, assert, check, conclabBinary, copyLab, explained, labNotebook,
  shownOnPurpose,
  failedOutside, guardRun, launchChromium, loadPlaywright, log, makeJupyterHome, noteProcesses, once,
  removeJupyterHome, requireExecutable, runMain, sleep, startServer, stillOurs, stopServer, summary, tail,
  tally, waitForServer, withTimeout, writeNotebook,
} from './harness.mjs';

const NOTEBOOK = 'ui_test.ipynb';

// Every wait is bounded; the whole run must stay well inside ctest's TIMEOUT.
const WAIT_MS = 20000;
const LAB_MS = 90000;
const WATCHDOG_MS = 300000;

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
// The private Jupyter home (harness.mjs): the conclab-test kernelspec, this notebook and the lab.

function makeHome(conclab) {
  const dirs = makeJupyterHome(conclab, { prefix: 'conclab-ui-' });
  writeNotebook(path.join(dirs.root, NOTEBOOK), CELL_ORDER.map((name) => CELLS[name]));
  dirs.lab = copyLab(dirs.root);
  return dirs;
}

// `jupyter notebook` serving the private home's root.
function startNotebook(dirs, logFile) {
  return startServer({
    name: 'jupyter notebook', dirs, logFile,
    command: (port, token) => [JUPYTER, 'notebook', '--no-browser', '--allow-root', '--ip=127.0.0.1', `--port=${port}`,
      '--port-retries=0', `--NotebookApp.token=${token}`, `--notebook-dir=${dirs.root}`, '--NotebookApp.open_browser=False'],
  });
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

// A student's first lab in its own tab: Cell > Run All, then read the page. Everything before
// the "Exercises" heading must have run without an error; the first exercise's check fails (its
// answer is the student's to write), which is where Run All stops.
async function runLab(browser, server, lab, screenshot) {
  assert(lab, `no ${LAB_PREFIX}*.ipynb in ${LABS}`);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
  try {
    await page.goto(`${server.base}/notebooks/${encodeURIComponent(lab)}?token=${server.token}`, { timeout: WAIT_MS });
    await page.waitForSelector('#notebook-container > .cell', { timeout: WAIT_MS });
    await waitKernelIdle(page);
    await page.locator('#celllink').click();
    await page.locator('#run_all_cells > a').click();
    await page.waitForSelector('#notebook-container > .cell.running', { timeout: WAIT_MS });
    await page.waitForFunction(() => document.querySelectorAll('#notebook-container > .cell.running').length === 0,
      null, { timeout: LAB_MS, polling: 200 });
    await waitKernelIdle(page);
    const seen = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('#notebook-container > .cell')];
      const exercises = cells.findIndex((c) => c.classList.contains('text_cell') &&
        /^Exercises/.test((c.querySelector('.rendered_html h2') || {}).innerText || ''));
      const text = (c, q) => [...c.querySelectorAll(q)].map((e) => e.innerText).join('');
      const code = cells.map((c, i) => ({ i, code: c.classList.contains('code_cell'),
        ran: /\[\s*\d+\s*\]/.test((c.querySelector('.input_prompt') || {}).innerText || ''),
        stdout: text(c, '.output_stdout'), error: text(c, '.output_error') })).filter((c) => c.code);
      return {
        exercises,
        before: code.filter((c) => c.i < exercises),
        after: code.filter((c) => c.i > exercises),
        timelines: document.querySelectorAll('.output_area svg.conclab-timeline').length,
        lanes: [...document.querySelectorAll('.output_area svg.conclab-timeline g.lane')].map((g) => g.getAttribute('data-lane')),
      };
    });
    // The picture a student looks at: the first timeline with the text and checks around it.
    if (seen.timelines) await page.locator('.output_area svg.conclab-timeline').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshot });
    assert(seen.exercises > 0, 'no "Exercises" heading rendered in the lab');
    const notRun = seen.before.filter((c) => !c.ran).map((c) => c.i);
    assert(notRun.length === 0, `cells before the exercises that did not run: ${notRun}`);
    const purpose = shownOnPurpose(labNotebook());
    const errors = seen.before.filter((c) => c.error && !explained(c.error, purpose[c.i]));
    assert(errors.length === 0, `error output before the exercises: ${JSON.stringify(errors[0])}`);
    // the cells that fail on purpose (raises-exception) did, and Run All went on after them
    const silent = seen.before.filter((c) => purpose[c.i].error && !c.error.includes(purpose[c.i].error));
    assert(silent.length === 0, `cells tagged raises-exception without their error: ${silent.map((c) => c.i)}`);
    const printed = seen.before.filter((c) => c.stdout.trim()).length;
    assert(printed >= 5, `only ${printed} cells printed text`);
    const ticks = seen.before.filter((c) => /^\u2713 /m.test(c.stdout));
    assert(ticks.length >= 3, `only ${ticks.length} check cells show a \u2713`);
    assert(seen.timelines >= 1 && seen.lanes.length >= 2, `${seen.timelines} timelines with lanes ${JSON.stringify(seen.lanes)}`);
    const stopped = seen.after.find((c) => c.error);
    assert(stopped && /\u2717 exercise/.test(stopped.stdout),
      `Run All did not stop at an exercise check showing \u2717: ${JSON.stringify(stopped || seen.after.slice(0, 2))}`);
    const later = seen.after.filter((c) => c.i > stopped.i && c.ran);
    assert(later.length === 0, `cells after the failed exercise check ran: ${later.map((c) => c.i)}`);
    return `${seen.before.length} cells ran; ${ticks.length} with \u2713; ${seen.timelines} timelines ` +
      `(lanes ${[...new Set(seen.lanes)].join(', ')}); stopped at cell ${stopped.i}: ` +
      `${JSON.stringify(stopped.stdout.trim().split('\n').pop())}; screenshot ${screenshot}`;
  } finally {
    await page.close();
  }
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
  const shotLab = path.join(ARTIFACTS, 'ui_notebook_lab.png');
  for (const f of [shotRunAll, shotEnd, shotFailure, shotTimeline, shotLab]) fs.rmSync(f, { force: true });

  const dirs = makeHome(conclab);
  let server = null;
  let browser = null;
  let page = null;

  // Stops the browser and the server once, whichever way the run ends (harness.mjs's guardRun
  // calls it on SIGTERM, SIGINT and the watchdog).
  const cleanup = once(async () => {
    if (browser) await withTimeout(browser.close(), 10000, 'closing Chromium').catch((e) => log('# ' + e.message));
    if (server) server.leftovers = await stopServer(server);
    removeJupyterHome(dirs);
  });
  const disarm = guardRun({ watchdogMs: WATCHDOG_MS, cleanup });

  try {
    await check('jupyter notebook starts with the conclab-test kernelspec', async () => {
      server = await startNotebook(dirs, serverLog); // set first: cleanup stops it whatever happens
      await waitForServer(server);
      return `port ${server.port}`;
    }, { fatal: true });

    browser = await launchChromium(chromium);
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
      await waitCellDone(page, i, 10000);
      const took = Date.now() - clicked;
      // The server relays the kernel's shell and iopub sockets separately: the reply that ends the
      // cell may reach the page just before the error output it follows. Give that a moment.
      await page.waitForSelector(cellSel(i) + ' .output_error', { timeout: 3000 }).catch(() => {});
      const cell = await readCell(page, i);
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

    await check(`lab ${LAB_PREFIX}…: Run All shows text, a timeline and ✓ checks, and stops at the first unanswered exercise`,
      () => runLab(browser, server, dirs.lab, shotLab));

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
    failedOutside(err);
  } finally {
    if (tally.failed && page) await page.screenshot({ path: shotFailure, fullPage: true }).catch(() => {});
    await cleanup();
    disarm();
  }
  if (tally.aborted) return new Promise(() => {});   // guardRun is cleaning up, and ends the process

  if (server) {
    await check('no kernel or executor process outlives the notebook server', async () => {
      const left = server.leftovers || [];
      assert(left.length === 0, `killed leftovers: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
    });
  }
  if (tally.failed && fs.existsSync(serverLog)) log(`# last lines of ${serverLog}:\n${tail(serverLog, 40)}`);
  log(`# artifacts in ${ARTIFACTS}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  summary();
  return tally.failed === 0 ? 0 : 1;
}

runMain(main);
