// test_lab_services.mjs — conclab through JupyterLab's own messaging code, without a browser.
//
// JupyterLab talks to kernels through @jupyterlab/services (6.6.8 is JupyterLab 3.6's). This test
// uses that package from Node, as a headless JupyterLab would: ContentsManager uploads a committed
// lab notebook and reads it back, SessionManager starts a session on the conclab kernel under test,
// and the session's kernel connection runs the lab's cells and the requests a student's JupyterLab
// makes (kernel_info, completion, inspection, stdin, interrupt, restart, display updates, shutdown).
// Everything goes through a real server it starts itself on 127.0.0.1 (free port, random token,
// a private Jupyter home whose only kernelspec, `conclab-test`, runs $CONCLAB_BIN):
//
//   --server jupyter_server   Debian's jupyter_server 1.23. The lab and the checks run over the
//                             `v1.kernel.websocket.jupyter.org` websocket protocol (JupyterLab 4's;
//                             the server then hands the kernel's own bytes through), then the
//                             checks again over the legacy protocol (JupyterLab 3.6's own).
//   --server notebook         Notebook 6's server: legacy JSON frames only.
//
//   CONCLAB_BIN=build/kernel/conclab node tests/ui/test_lab_services.mjs --server jupyter_server
//
// Environment: CONCLAB_BIN (required), CONCLAB_UI_ARTIFACTS (where the server log goes; default:
// the working directory), CONCLAB_PYTHON (default /usr/bin/python3), CONCLAB_JUPYTER (default
// /usr/bin/jupyter).
//
// Prints one line per check and closes with "N passed, N failed"; exits 1 on any failure, and 77
// (ctest's SKIP_RETURN_CODE) with the reason when Node is too old, tests/ui/node_modules lacks the
// packages, or the server's Debian package is not installed.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS, HERE, JUPYTER, KERNEL_NAME, LABS, LAB_PREFIX, PYTHON, SKIP, allProcesses, assert, check, conclabBinary,
  explained, failedOutside, guardRun, labName, log, makeJupyterHome, once, removeJupyterHome, runMain,
  shownOnPurpose, sleep, startServer,
  stopServer, summary, tail, tally, waitForServer, withTimeout,
} from './harness.mjs';

// Every wait is bounded, and the whole run stays well inside ctest's TIMEOUT.
const REPLY_MS = 15000;        // one request and its reply
const LAB_CELL_MS = 30000;     // one lab cell
const LAB_MS = 60000;          // all of the lab's cells
const INTERRUPT_MS = 2000;     // what the issue promises a student
const WATCHDOG_MS = 90000;

class Skip extends Error {}

// The services log through console; their lines must not break the one-line-per-check output.
console.debug = () => {};
for (const level of ['log', 'info', 'warn', 'error']) {
  console[level] = (...args) => log('# services: ' + args.map((a) => (a && a.message) || String(a)).join(' '));
}

// ---------------------------------------------------------------------------------------------
// Dependencies: missing ones skip the test, with what to install.

function parseArgs() {
  const i = process.argv.indexOf('--server');
  const server = i > 0 ? process.argv[i + 1] : null;
  if (server !== 'jupyter_server' && server !== 'notebook') {
    throw new Error('usage: test_lab_services.mjs --server jupyter_server|notebook');
  }
  return server;
}

function loadServices() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 18) throw new Skip(`Node ${process.versions.node} is too old (needs 18 or newer, for fetch)`);
  const require = createRequire(import.meta.url);
  try {
    const services = require('@jupyterlab/services');
    require('ws');
    return services;
  } catch (err) {
    throw new Skip(`cannot load @jupyterlab/services and ws from ${HERE}/node_modules (${err.code || err.message}): ` +
      'run ./install.sh, or `npm ci` in tests/ui');
  }
}

function requireServerPackage(kind) {
  const module = kind === 'jupyter_server' ? 'jupyter_server' : 'notebook';
  const debian = kind === 'jupyter_server' ? 'python3-jupyter-server' : 'jupyter-notebook';
  if (kind === 'notebook' && !fs.existsSync(JUPYTER)) throw new Skip(`${JUPYTER} not found (Debian package ${debian})`);
  const probe = spawnSync(PYTHON, ['-c', `import ${module}; print(${module}.__version__)`], { encoding: 'utf8', timeout: 20000 });
  if (probe.status !== 0) throw new Skip(`${PYTHON} cannot import ${module} (Debian package ${debian}): run ./install.sh`);
  return probe.stdout.trim();
}

// ---------------------------------------------------------------------------------------------
// The server (harness.mjs starts and stops it): jupyter_server or Notebook 6, on the private home.

function startKind(kind, dirs, logFile) {
  const common = ['--no-browser', '--allow-root', '--port-retries=0'];
  const command = (port, token) => (kind === 'jupyter_server'
    ? [PYTHON, '-m', 'jupyter_server', ...common, `--port=${port}`, '--ServerApp.ip=127.0.0.1',
        `--ServerApp.token=${token}`, `--ServerApp.root_dir=${dirs.root}`]
    : [JUPYTER, 'notebook', ...common, `--port=${port}`, '--ip=127.0.0.1', `--NotebookApp.token=${token}`,
        `--notebook-dir=${dirs.root}`]);
  return startServer({ name: 'the server', dirs, logFile, command });
}

// The kernel processes of this run: their command line names the binary under test and a
// connection file in this run's private runtime directory (executors forked from a kernel keep it).
function kernelProcesses(conclab, dirs) {
  return allProcesses().filter((p) => p.state !== 'Z' && p.cmd.includes(conclab) && p.cmd.includes(dirs.runtime))
    .map(({ pid, cmd }) => ({ pid, cmd }));
}

async function waitNoKernels(conclab, dirs, ms) {
  const deadline = Date.now() + ms;
  let left = kernelProcesses(conclab, dirs);
  while (left.length && Date.now() < deadline) {
    await sleep(50);
    left = kernelProcesses(conclab, dirs);
  }
  return left;
}

// ---------------------------------------------------------------------------------------------
// Running code through a kernel connection, collecting what a notebook would show.

// Sends an execute_request and waits (bounded) for its reply and the idle status. Returns the
// reply's content and the outputs, in order, as the output area would hold them.
async function execute(kernel, code, { ms = REPLY_MS, onStdin = null, onIOPub = null } = {}) {
  const future = kernel.requestExecute({ code, stop_on_error: false, allow_stdin: Boolean(onStdin) });
  const outputs = [];
  future.onIOPub = (msg) => {
    const type = msg.header.msg_type;
    if (['stream', 'display_data', 'update_display_data', 'execute_result', 'error', 'clear_output'].includes(type)) {
      outputs.push({ type, ...msg.content });
    }
    if (onIOPub) onIOPub(msg);
  };
  if (onStdin) future.onStdin = (msg) => onStdin(msg, future);
  try {
    const reply = await withTimeout(future.done, ms, `the cell ${JSON.stringify(code.slice(0, 60))}`);
    return { reply: reply.content, outputs };
  } finally {
    future.dispose();
  }
}

const streamText = (outputs, name = 'stdout') =>
  outputs.filter((o) => o.type === 'stream' && o.name === name).map((o) => o.text).join('');

const describe = (outputs) => JSON.stringify(outputs.map((o) => {
  if (o.type === 'stream') return `${o.name}: ${o.text.slice(0, 160)}`;
  if (o.type === 'error') return `error ${o.ename}: ${o.evalue}`;
  return `${o.type} ${Object.keys(o.data || {}).join(',')}`;
}));

// ---------------------------------------------------------------------------------------------
// The lab: a committed notebook's cells up to its Exercises heading, through ContentsManager.

function labFile() {
  const name = labName();
  if (!name) throw new Error(`no notebook ${LAB_PREFIX}*.ipynb in ${LABS}`);
  return name;
}

async function uploadLab(contents, name) {
  const nb = JSON.parse(fs.readFileSync(path.join(LABS, name), 'utf8'));
  const saved = await contents.save(name, { type: 'notebook', format: 'json', content: nb });
  assert(saved.path === name && saved.type === 'notebook', `saved as ${JSON.stringify(saved)}`);
  const model = await contents.get(name, { content: true });
  assert(model.content && Array.isArray(model.content.cells), 'read back without cells');
  assert(model.content.cells.length === nb.cells.length,
    `read back ${model.content.cells.length} cells, uploaded ${nb.cells.length}`);
  return model.content;
}

// The code cells before "Exercises": their text, and what each shows on purpose (shownOnPurpose).
function cellsBeforeExercises(nb) {
  const source = (cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);
  const stop = nb.cells.findIndex((c) => c.cell_type === 'markdown' && /^#+\s*Exercises\b/m.test(source(c)));
  assert(stop > 0, 'the lab has no "Exercises" heading');
  const purpose = shownOnPurpose(nb);
  return nb.cells.slice(0, stop).map((c, i) => ({ code: source(c), purpose: purpose[i], code_cell: c.cell_type === 'code' }))
    .filter((c) => c.code_cell);
}

// The text each top-level printf of a cell starts with: where the notebook prints, stdout must say it.
function printedPrefixes(code) {
  const found = [];
  for (const m of code.matchAll(/^printf\("([^"%\\]{4,})/gm)) found.push(m[1]);
  return found;
}

async function runLab(kernel, cells) {
  const results = [];
  const deadline = Date.now() + LAB_MS;
  for (const { code, purpose } of cells) {
    const left = Math.min(LAB_CELL_MS, deadline - Date.now());
    if (left <= 0) throw new Error(`the lab's cells took over ${LAB_MS / 1000} s; ran ${results.length} of ${cells.length}`);
    results.push({ code, purpose, ...(await execute(kernel, code, { ms: left })) });
  }
  return results;
}

async function labChecks(kernel, cells, label) {
  let results = [];
  const ran = await check(`${label}: the ${cells.length} code cells before "Exercises" all reply ok`, async () => {
    const started = Date.now();
    results = await runLab(kernel, cells);
    // a cell tagged raises-exception must fail with its error; every other cell must reply ok
    const bad = results.filter((r) => (r.purpose.error === null ? r.reply.status !== 'ok'
      : r.reply.status !== 'error' || !String(r.reply.ename).includes(r.purpose.error)));
    assert(bad.length === 0, bad.map((r) => `cell ${JSON.stringify(r.code.slice(0, 50))}: ${r.reply.status} ` +
      `${r.reply.ename || ''} ${r.reply.evalue || ''} ${describe(r.outputs)}`).join('\n'));
    return `${((Date.now() - started) / 1000).toFixed(1)} s`;
  });
  if (!ran && results.length === 0) return;

  await check(`${label}: stdout shows what each cell prints, and nothing goes to stderr`, async () => {
    let expected = 0;
    const missing = [];
    for (const r of results) {
      const out = streamText(r.outputs);
      for (const prefix of printedPrefixes(r.code)) {
        expected++;
        if (!out.includes(prefix)) missing.push(`${JSON.stringify(prefix)} (got ${JSON.stringify(out.slice(0, 120))})`);
      }
      const err = streamText(r.outputs, 'stderr');
      if (!explained(err, r.purpose)) missing.push(`stderr ${JSON.stringify(err.slice(0, 200))}`);
    }
    assert(expected >= 5, `only ${expected} printf lines found in the lab: the pattern no longer fits it`);
    assert(missing.length === 0, missing.join('\n'));
    return `${expected} printed lines found`;
  });

  await check(`${label}: at least one SVG timeline arrives as display_data image/svg+xml`, async () => {
    const svgs = results.flatMap((r) => r.outputs)
      .filter((o) => o.type === 'display_data' && o.data && typeof o.data['image/svg+xml'] === 'string');
    const timelines = svgs.filter((o) => /<svg[\s\S]*conclab-timeline/.test(o.data['image/svg+xml']));
    assert(timelines.length > 0, `${svgs.length} SVG display(s), none a conclab timeline`);
    const lanes = [...timelines[0].data['image/svg+xml'].matchAll(/data-lane="([^"]*)"/g)].map((m) => m[1]);
    assert(lanes.includes('main'), `the first timeline has lanes ${JSON.stringify(lanes)}, no "main"`);
    return `${timelines.length} timeline(s); the first has lanes ${[...new Set(lanes)].join(', ')}`;
  });

  await check(`${label}: every check cell prints ✓ and none prints ✗`, async () => {
    // a %%chaos cell's checks run in its trials, whose output is not shown when they pass
    const checkCells = results.filter((r) => /^cl_check\(/m.test(r.code) && !/^%%chaos/m.test(r.code));
    assert(checkCells.length >= 5, `only ${checkCells.length} check cells`);
    const ticks = checkCells.map((r) => (streamText(r.outputs).match(/✓/g) || []).length);
    const crosses = results.filter((r) => r.purpose.error === null)  // a failing %%chaos run shows its ✗
      .flatMap((r) => streamText(r.outputs).split('\n').filter((l) => l.includes('✗')));
    assert(crosses.length === 0, crosses.join('\n'));
    const silent = checkCells.filter((_, i) => ticks[i] === 0);
    assert(silent.length === 0, `check cells without ✓: ${silent.map((r) => JSON.stringify(r.code.slice(0, 60))).join('; ')}`);
    return `${ticks.reduce((a, b) => a + b, 0)} ✓ lines from ${checkCells.length} check cells`;
  });
}

// ---------------------------------------------------------------------------------------------
// What a student's JupyterLab asks of the kernel, one check each.

async function kernelChecks(kernel, ctx, label) {
  await check(`${label}: kernel_info names C (text/x-csrc) and has help links`, async () => {
    const info = await withTimeout(kernel.info, REPLY_MS, 'kernel_info');
    const li = info.language_info || {};
    assert(li.name === 'c', `language_info.name is ${JSON.stringify(li.name)}`);
    assert(li.mimetype === 'text/x-csrc', `language_info.mimetype is ${JSON.stringify(li.mimetype)}`);
    assert(li.file_extension === '.c', `file_extension is ${JSON.stringify(li.file_extension)}`);
    assert(Array.isArray(info.help_links) && info.help_links.length > 0 &&
      info.help_links.every((l) => typeof l.text === 'string' && /^https?:\/\//.test(l.url)),
    `help_links: ${JSON.stringify(info.help_links)}`);
    assert(/^5\.\d+/.test(info.protocol_version), `protocol_version ${info.protocol_version}`);
    return `${info.implementation} ${info.implementation_version}, protocol ${info.protocol_version}, ${info.help_links.length} help links`;
  });

  await check(`${label}: complete "cl_thr" offers cl_thread_start`, async () => {
    const msg = await withTimeout(kernel.requestComplete({ code: 'cl_thr', cursor_pos: 6 }), REPLY_MS, 'complete');
    const c = msg.content;
    assert(c.status === 'ok', `status ${c.status}`);
    assert(c.matches.includes('cl_thread_start'), `matches: ${JSON.stringify(c.matches)}`);
    assert(c.cursor_start === 0 && c.cursor_end === 6, `replaces ${c.cursor_start}..${c.cursor_end}, not 0..6`);
    return `${c.matches.length} matches`;
  });

  await check(`${label}: inspect cl_thread_start is found, with text`, async () => {
    const msg = await withTimeout(kernel.requestInspect({ code: 'cl_thread_start(', cursor_pos: 8, detail_level: 0 }), REPLY_MS, 'inspect');
    const c = msg.content;
    assert(c.status === 'ok' && c.found === true, `status ${c.status}, found ${c.found}`);
    const text = (c.data && c.data['text/plain']) || '';
    assert(text.includes('cl_thread_start'), `text/plain: ${JSON.stringify(text.slice(0, 200))}`);
    return JSON.stringify(text.split('\n')[0].slice(0, 90));
  });

  await check(`${label}: is_complete and comm_info answer`, async () => {
    const open = await withTimeout(kernel.requestIsComplete({ code: 'for (int i = 0; i < 3; i++) {' }), REPLY_MS, 'is_complete');
    assert(open.content.status === 'incomplete', `an open brace is ${open.content.status}`);
    const done = await withTimeout(kernel.requestIsComplete({ code: 'int x = 1;' }), REPLY_MS, 'is_complete');
    assert(done.content.status === 'complete', `"int x = 1;" is ${done.content.status}`);
    const comms = await withTimeout(kernel.requestCommInfo({}), REPLY_MS, 'comm_info');
    assert(comms.content.status === 'ok', `comm_info status ${comms.content.status}`);
  });

  // The kernel registers no comm targets, but a widget library may still open a comm, with binary
  // buffers (extra frames after the content; over v1 the server forwards them unread). The kernel
  // must take the message in (busy, then idle, under it) and go on answering.
  await check(`${label}: a comm_open carrying a binary buffer is taken in, and the kernel goes on`, async () => {
    const comm = kernel.createComm('conclab.svc_probe');
    const future = comm.open({ probe: true }, {}, [new Uint8Array([1, 2, 3, 255]).buffer]);
    let states = [];
    future.onIOPub = (msg) => { if (msg.header.msg_type === 'status') states.push(msg.content.execution_state); };
    await withTimeout(future.done, REPLY_MS, 'the comm_open\'s idle status');
    assert(states.join(',') === 'busy,idle', `status under the comm_open: ${states.join(',')}`);
    const after = await execute(kernel, '1 + 1');
    const result = after.outputs.find((o) => o.type === 'execute_result');
    assert(result && result.data['text/plain'] === '2', `1 + 1 after it: ${describe(after.outputs)}`);
  });

  await check(`${label}: a value becomes execute_result, state carries to the next cell`, async () => {
    const first = await execute(kernel, 'int svc_answer = 6 * 7;');
    assert(first.reply.status === 'ok', describe(first.outputs));
    const { reply, outputs } = await execute(kernel, 'svc_answer');
    const result = outputs.find((o) => o.type === 'execute_result');
    assert(reply.status === 'ok' && result && result.data['text/plain'] === '42', describe(outputs));
    assert(result.execution_count === reply.execution_count, `execute_result count ${result.execution_count}, reply ${reply.execution_count}`);
    return `Out[${reply.execution_count}]: 42`;
  });

  await check(`${label}: stdin: fgets gets the line typed into the input_request (UTF-8 intact)`, async () => {
    const typed = 'héllo, wörld ✓';
    let prompt = null;
    const code = 'char svc_line[128] = "";\nfgets(svc_line, sizeof svc_line, stdin);\nprintf("got [%s]\\n", strtok(svc_line, "\\n"));';
    const { reply, outputs } = await execute(kernel, code, {
      onStdin: (msg, future) => {
        if (msg.header.msg_type !== 'input_request') return;
        prompt = msg.content;
        future.sendInputReply({ status: 'ok', value: typed }, msg.header);
      },
    });
    assert(prompt !== null, `no input_request arrived; outputs ${describe(outputs)}`);
    assert(reply.status === 'ok', describe(outputs));
    assert(streamText(outputs).includes(`got [${typed}]`), `stdout ${JSON.stringify(streamText(outputs))}`);
    return `prompt ${JSON.stringify(prompt.prompt)}, password ${prompt.password}`;
  });

  await check(`${label}: stdin: scanf reads a number`, async () => {
    const code = 'int svc_n = 0;\nscanf("%d", &svc_n);\nprintf("twice is %d\\n", 2 * svc_n);';
    const { reply, outputs } = await execute(kernel, code, {
      onStdin: (msg, future) => future.sendInputReply({ status: 'ok', value: '21' }, msg.header),
    });
    assert(reply.status === 'ok' && streamText(outputs).includes('twice is 42'), describe(outputs));
  });

  // Over v1 the server passes the kernel's bytes on unread: invalid UTF-8 from a cell, or a
  // character split between two writes, would reach the client as broken JSON.
  await check(`${label}: stdout with invalid UTF-8 and a character split across writes arrives as text`, async () => {
    const code = '#include <unistd.h>\nprintf("bad \\xff\\xfe bytes\\n");\nfflush(stdout);\n' +
      'printf("split \\xe2\\x9c");\nfflush(stdout);\nusleep(200000);\nprintf("\\x93 joined\\n");';
    const { reply, outputs } = await execute(kernel, code);
    assert(reply.status === 'ok', describe(outputs));
    const out = streamText(outputs);
    assert(out.includes('split ✓ joined'), `the split ✓ did not arrive whole: ${JSON.stringify(out)}`);
    assert(/bad \uFFFD+ bytes/.test(out), `invalid bytes not replaced by U+FFFD: ${JSON.stringify(out)}`);
    return `${outputs.length} stream message(s)`;
  });

  await check(`${label}: a display updated by its display_id arrives as update_display_data`, async () => {
    const code = 'cl_display_id svc_shown = cl_display_text("step 1 of 2");\n' +
      'cl_update_markdown(svc_shown, "**step 2 of 2**");';
    const { reply, outputs } = await execute(kernel, code);
    assert(reply.status === 'ok', describe(outputs));
    const shown = outputs.find((o) => o.type === 'display_data');
    const update = outputs.find((o) => o.type === 'update_display_data');
    assert(shown && update, `outputs ${describe(outputs)}`);
    const id = shown.transient && shown.transient.display_id;
    assert(id, `display_data without transient.display_id: ${JSON.stringify(shown)}`);
    assert(update.transient && update.transient.display_id === id,
      `update names ${JSON.stringify(update.transient)}, the display was ${id}`);
    assert(shown.data['text/plain'] === 'step 1 of 2', `first shown ${JSON.stringify(shown.data)}`);
    assert(update.data['text/markdown'] === '**step 2 of 2**', `update carries ${JSON.stringify(update.data)}`);
    return `display_id ${id}`;
  });

  await check(`${label}: an error reply carries ename, evalue and a traceback naming the cell`, async () => {
    const { reply, outputs } = await execute(kernel, 'int svc_broken = svc_not_declared + 1;');
    const error = outputs.find((o) => o.type === 'error');
    assert(reply.status === 'error' && error, `reply ${reply.status}, outputs ${describe(outputs)}`);
    assert(/svc_not_declared/.test(error.evalue) && Array.isArray(error.traceback) && error.traceback.length > 0,
      `error ${JSON.stringify(error)}`);
    assert(reply.ename === error.ename, `reply ename ${reply.ename}, iopub ename ${error.ename}`);
    return `${error.ename}: ${error.evalue.slice(0, 80)}`;
  });

  await check(`${label}: interrupt ends \`while (1) {}\` within ${INTERRUPT_MS / 1000} s with an error reply`, async () => {
    let busySince = 0;
    const endless = execute(kernel, 'while (1) {}', {
      ms: REPLY_MS,
      onIOPub: (msg) => { if (msg.header.msg_type === 'execute_input') busySince = Date.now(); },
    });
    const deadline = Date.now() + REPLY_MS;
    while (!busySince && Date.now() < deadline) await sleep(20);
    assert(busySince, 'the endless cell never started');
    await sleep(300);   // well inside the loop
    const asked = Date.now();
    await kernel.interrupt();
    const { reply, outputs } = await endless;
    const took = Date.now() - asked;
    assert(reply.status === 'error', `reply ${reply.status}, outputs ${describe(outputs)}`);
    assert(took <= INTERRUPT_MS, `the cell ended ${took} ms after the interrupt`);
    const after = await execute(kernel, 'svc_answer');
    assert(after.reply.status === 'ok', `the kernel lost its state: ${describe(after.outputs)}`);
    return `ended ${took} ms after the interrupt (${reply.ename}); svc_answer still there`;
  });

  await check(`${label}: restart starts a new kernel process with empty state`, async () => {
    const before = kernelProcesses(ctx.conclab, ctx.dirs).map((p) => p.pid);
    await withTimeout(kernel.restart(), REPLY_MS, 'restart');
    await withTimeout(kernel.info, REPLY_MS, 'kernel_info after the restart');
    const { reply, outputs } = await execute(kernel, 'svc_answer');
    const error = outputs.find((o) => o.type === 'error');
    assert(reply.status === 'error' && error && /svc_answer/.test(error.evalue),
      `svc_answer after the restart: ${reply.status} ${describe(outputs)}`);
    const after = kernelProcesses(ctx.conclab, ctx.dirs).map((p) => p.pid);
    const survivors = before.filter((pid) => after.includes(pid));
    assert(survivors.length === 0, `process(es) ${survivors} outlived the restart`);
    const fresh = await execute(kernel, '6 * 7');
    const result = fresh.outputs.find((o) => o.type === 'execute_result');
    assert(result && result.data['text/plain'] === '42', `6 * 7 after the restart: ${describe(fresh.outputs)}`);
    return `pid ${before.join(',')} -> ${after.join(',')}; ${error.evalue.slice(0, 60)}`;
  });
}

// Shuts a session's kernel down through the services and sees its process go.
async function shutdownCheck(session, ctx, label) {
  await check(`${label}: shutdown through the session ends the kernel process`, async () => {
    const kernelId = session.kernel.id;
    await withTimeout(session.shutdown(), REPLY_MS, 'session shutdown');
    const left = await waitNoKernels(ctx.conclab, ctx.dirs, 5000);
    assert(left.length === 0, `still running 5 s later: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
    const running = await withTimeout(ctx.services.KernelAPI.listRunning(ctx.settings), REPLY_MS, 'listing kernels');
    assert(!running.some((k) => k.id === kernelId), `the server still lists kernel ${kernelId}`);
    return `kernel ${kernelId.slice(0, 8)} gone`;
  });
}

// ---------------------------------------------------------------------------------------------
// One protocol: a session on a server, the lab (optionally), the checks, the shutdown.

async function sessionOver(ctx, { label, socketClass, wantProtocol, lab }) {
  const { services } = ctx;
  const settings = services.ServerConnection.makeSettings({
    baseUrl: `${ctx.server.base}/`,
    wsUrl: `${ctx.server.base}/`.replace(/^http/, 'ws'),
    token: ctx.server.token,
    WebSocket: socketClass,
  });
  ctx.settings = settings;
  const kernels = new services.KernelManager({ serverSettings: settings });
  const sessions = new services.SessionManager({ serverSettings: settings, kernelManager: kernels });
  const contents = new services.ContentsManager({ serverSettings: settings });
  ctx.managers.push(kernels, sessions, contents);

  let nb = null;
  await check(`${label}: ContentsManager uploads ${ctx.lab} and reads it back`, async () => {
    nb = await uploadLab(contents, ctx.lab);
    return `${nb.cells.length} cells`;
  });

  let session = null;
  const started = await check(`${label}: SessionManager starts a ${KERNEL_NAME} session and its kernel answers`, async () => {
    await withTimeout(sessions.ready, REPLY_MS, 'session manager');
    session = await withTimeout(sessions.startNew({ path: ctx.lab, type: 'notebook', name: ctx.lab, kernel: { name: KERNEL_NAME } }),
      REPLY_MS, 'starting the session');
    const info = await withTimeout(session.kernel.info, REPLY_MS, 'the first kernel_info');
    assert(session.kernel.name === KERNEL_NAME, `kernel ${session.kernel.name}`);
    assert(session.kernel.connectionStatus === 'connected', `connection ${session.kernel.connectionStatus}`);
    return `${info.implementation}; kernel ${session.kernel.id.slice(0, 8)}`;
  });
  if (!started) {
    // Not left for the next session on the same path to pick up.
    if (session) await withTimeout(session.shutdown(), REPLY_MS, 'shutdown').catch(() => {});
    return;
  }
  const kernel = session.kernel;
  const socket = () => ctx.sockets.openedSockets.filter((s) => s.url.includes(kernel.id)).pop();

  await check(`${label}: the kernel's websocket speaks ${wantProtocol || 'the legacy protocol'}`, async () => {
    const ws = socket();
    assert(ws, 'no websocket was opened for the kernel');
    assert(ws.protocol === wantProtocol, `negotiated ${JSON.stringify(ws.protocol)}, wanted ${JSON.stringify(wantProtocol)}`);
    assert(ws.stats.frames > 0, 'no frame received yet');
    return `protocol ${JSON.stringify(ws.protocol)}, ${ws.stats.frames} frames so far (${ws.stats.binaryFrames} binary)`;
  });

  if (lab && nb) await labChecks(kernel, cellsBeforeExercises(nb), label);
  await kernelChecks(kernel, ctx, label);

  if (wantProtocol) {
    await check(`${label}: every v1 frame is well formed and every kernel header complete`, async () => {
      const sockets = ctx.sockets.openedSockets.filter((s) => s.url.includes(kernel.id));
      const malformed = sockets.flatMap((s) => s.stats.malformed);
      assert(malformed.length === 0, malformed.slice(0, 5).join('\n'));
      const messages = sockets.flatMap((s) => s.stats.messages);
      const bad = messages.filter((m) => !wellFormedHeader(m.header)).slice(0, 5);
      assert(bad.length === 0, `headers: ${JSON.stringify(bad)}`);
      const replies = messages.filter((m) => /_reply$/.test(m.header.msg_type));
      const orphans = replies.filter((m) => !m.parent_header || !m.parent_header.msg_id);
      assert(orphans.length === 0, `replies without a parent: ${JSON.stringify(orphans.slice(0, 3))}`);
      const channels = new Set(sockets.flatMap((s) => [...s.stats.channels]));
      for (const channel of ['iopub', 'shell', 'stdin']) assert(channels.has(channel), `nothing came on ${channel}`);
      const buffers = sockets.reduce((n, s) => n + s.stats.withBuffers, 0);
      const sent = sockets.reduce((n, s) => n + s.stats.sentWithBuffers, 0);
      assert(sent >= 1, 'no message with a binary buffer was sent (the comm_open check should have sent one)');
      return `${messages.length} messages on ${[...channels].sort().join(', ')}; ` +
        `${buffers} received and ${sent} sent with binary buffers`;
    });
  }

  await shutdownCheck(session, ctx, label);
}

// The frames the kernel sends never carry buffers, so the live run cannot prove the translation
// of one from v1 to legacy: this does, with JupyterLab's own legacy decoder as the judge.
function codecRoundTrip(sockets) {
  const require = createRequire(import.meta.url);
  const { deserialize } = require('@jupyterlab/services/lib/kernel/serialize');
  const msg = {
    channel: 'iopub',
    header: { msg_id: 'm1', msg_type: 'comm_msg', session: 's', username: 'u', version: '5.3', date: '2024-01-01T00:00:00Z' },
    parent_header: { msg_id: 'p1' },
    metadata: { 'ünïcode': '✓' },
    content: { comm_id: 'c', data: { n: 1 } },
    buffers: [new Uint8Array([0, 1, 2, 255]), new Uint8Array(0), new Uint8Array(1000).fill(7)],
  };
  const v1 = sockets.decodeV1(sockets.encodeV1(msg));
  const legacy = deserialize(sockets.encodeLegacy(v1));
  for (const part of ['channel', 'header', 'parent_header', 'metadata', 'content']) {
    assert(JSON.stringify(legacy[part]) === JSON.stringify(msg[part]), `${part}: ${JSON.stringify(legacy[part])}`);
  }
  const bytes = legacy.buffers.map((b) => [...new Uint8Array(b.buffer, b.byteOffset, b.byteLength)]);
  assert(bytes.length === 3 && bytes[0].join() === '0,1,2,255' && bytes[1].length === 0 &&
    bytes[2].length === 1000 && bytes[2].every((x) => x === 7), `buffers: ${JSON.stringify(bytes.map((b) => b.slice(0, 5)))}`);
  const text = deserialize(sockets.encodeLegacy({ ...v1, buffers: [] }));
  assert(text.header.msg_id === 'm1', 'a message without buffers does not read back');
  let refused = null;
  try { sockets.decodeV1(new Uint8Array(sockets.encodeV1(msg)).slice(0, 60).buffer); } catch (err) { refused = err.message; }
  assert(refused, 'a truncated v1 frame was accepted');
  return `3 buffers; a truncated frame is refused (${refused})`;
}

function wellFormedHeader(h) {
  return h && typeof h.msg_id === 'string' && h.msg_id.length > 0 && typeof h.msg_type === 'string' &&
    typeof h.session === 'string' && typeof h.username === 'string' && /^5\.\d+$/.test(h.version) &&
    typeof h.date === 'string' && !Number.isNaN(Date.parse(h.date));
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const kind = parseArgs();
  let services;
  let version;
  try {
    services = loadServices();
    version = requireServerPackage(kind);
  } catch (err) {
    if (err instanceof Skip) {
      log(`SKIP: ${err.message}`);
      return SKIP;
    }
    throw err;
  }
  const sockets = await import('./kernel_ws_v1.mjs');
  const conclab = conclabBinary();
  const dirs = makeJupyterHome(conclab, { prefix: 'conclab-svc-', displayName: 'C (conclab test)' });
  const logFile = path.join(ARTIFACTS, `ui_services_${kind}_server.log`);
  const ctx = { services, sockets, conclab, dirs, server: null, managers: [], lab: labFile() };
  log(`# @jupyterlab/services ${require_version('@jupyterlab/services')}, ws ${require_version('ws')}, ` +
    `${kind} ${version}, conclab ${conclab}`);

  // Whatever ends this run (a failure, an exception, ctest's SIGTERM, the watchdog), the server
  // is stopped by its pid and no kernel is left behind.
  const cleanup = once(async () => {
    for (const m of ctx.managers) { try { m.dispose(); } catch { /* done */ } }
    await stopServer(ctx.server, { termMs: 10000 });
    const left = await waitNoKernels(conclab, dirs, 3000);
    for (const p of left) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    removeJupyterHome(dirs);
    return left;
  });
  const disarm = guardRun({ watchdogMs: WATCHDOG_MS, cleanup });

  try {
    await check('the v1 translation round-trips a message with buffers (read back by the services\' own decoder)',
      () => codecRoundTrip(sockets));
    const up = await check(`${kind} ${version} starts on 127.0.0.1 with a token`, async () => {
      ctx.server = await startKind(kind, dirs, logFile);
      await waitForServer(ctx.server);
      const anonymous = await fetch(`${ctx.server.base}/api/kernels`);
      assert(anonymous.status === 403 || anonymous.status === 401, `without the token /api/kernels answers ${anonymous.status}`);
      return `port ${ctx.server.port}, pid ${ctx.server.child.pid}`;
    });
    if (up) {
      if (kind === 'jupyter_server') {
        await sessionOver(ctx, { label: 'v1', socketClass: sockets.V1Socket, wantProtocol: sockets.V1_PROTOCOL, lab: true });
        await sessionOver(ctx, { label: 'legacy', socketClass: sockets.LegacySocket, wantProtocol: '', lab: false });
      } else {
        await sessionOver(ctx, { label: 'legacy', socketClass: sockets.LegacySocket, wantProtocol: '', lab: true });
      }
    }
  } catch (err) {
    failedOutside(err);
  } finally {
    disarm();
  }
  if (tally.aborted) return new Promise(() => {});   // guardRun is cleaning up, and ends the process

  const left = await cleanup();
  await check('the server is stopped by its pid and no kernel process survives it', async () => {
    assert(!ctx.server || ctx.server.exited, 'the server is still running');
    assert(left.length === 0, `killed leftovers: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
  });
  if (tally.failed && fs.existsSync(logFile)) log(`# last lines of ${logFile}:\n${tail(logFile)}`);
  log(`# server log ${logFile}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  summary();
  return tally.failed === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function require_version(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

runMain(main);
