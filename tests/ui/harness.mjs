// harness.mjs — the plumbing the browser and Node tests in tests/ui/ share.
//
// Each test (test_notebook_ui.mjs, test_lab_services.mjs, test_lab_notebook6.mjs, …) drives its
// own front-end; what they have in common lives here, written once:
//
//   reporting     check() prints one line per check ("ok N - …" / "not ok N - …"), summary()
//                 the closing "N passed, N failed"; skip() exits 77 (ctest's SKIP_RETURN_CODE);
//                 runMain() turns main()'s result or crash into the exit status.
//   processes     /proc read directly: descendants() of the server (kernels, executors) with
//                 their start times, stillOurs() so a recycled pid is never taken for ours.
//   Jupyter home  makeJupyterHome(): a private JUPYTER_PATH/DATA/RUNTIME/CONFIG with one
//                 kernelspec, `conclab-test`, running the binary under test; nothing of the
//                 user's own Jupyter is read.
//   the server    startServer() on 127.0.0.1, a free port and a random token, in its own process
//                 group; stopServer() by its pid (SIGTERM, then SIGKILL), killing whatever it
//                 started that outlives it; guardRun() does that on SIGTERM/SIGINT and a watchdog.
//   Chromium      loadPlaywright() and launchChromium() with the options every test uses.
//
// Plain Node (18 or newer), no npm package of its own: playwright-core is only imported, by
// loadPlaywright(), from tests/ui/node_modules.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const HERE = path.dirname(new URL(import.meta.url).pathname);
export const REPO = path.resolve(HERE, '..', '..');
export const LABS = path.join(REPO, 'notebooks');
export const LAB_PREFIX = '12.2-';
export const KERNEL_NAME = 'conclab-test';
export const SKIP = 77;
export const CHROMIUM = process.env.CONCLAB_CHROMIUM || '/usr/bin/chromium';
export const JUPYTER = process.env.CONCLAB_JUPYTER || '/usr/bin/jupyter';
export const PYTHON = process.env.CONCLAB_PYTHON || '/usr/bin/python3';
export const ARTIFACTS = path.resolve(process.env.CONCLAB_UI_ARTIFACTS || process.cwd());
const SETPRIV = '/usr/bin/setpriv';

// ---------------------------------------------------------------------------------------------
// Reporting: one line per check, "N passed, N failed" at the end.

// A closed stdout (`| head`) must not end the run before the server is stopped.
process.stdout.on('error', () => {});

// The counts, read by the tests for their own closing lines. `aborted` is set when a signal or
// the watchdog ends the run: no check runs or reports after it.
export const tally = { passed: 0, failed: 0, aborted: false };

export function log(line) {
  process.stdout.write(line + '\n');
}

// Thrown by a `fatal` check: later checks could only fail for the same reason, each after a long
// wait. The test's main() catches it without reporting it again.
export class Fatal extends Error {}

// Runs one check; a failure is recorded and the run goes on unless the check is `fatal`.
// fn may return a short note, printed after the check's name.
export async function check(name, fn, { fatal = false } = {}) {
  if (tally.aborted) return false;
  const started = Date.now();
  try {
    const note = await fn();
    if (tally.aborted) return false;
    tally.passed++;
    log(`ok ${tally.passed + tally.failed} - ${name} (${Date.now() - started} ms)${note ? ': ' + note : ''}`);
    return true;
  } catch (err) {
    if (tally.aborted) return false;
    tally.failed++;
    log(`not ok ${tally.passed + tally.failed} - ${name} (${Date.now() - started} ms)`);
    // Playwright colours its messages; the log is read as plain text.
    log('    ' + String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, '').split('\n').join('\n    '));
    if (fatal) throw new Fatal(name);
    return false;
  }
}

// Counts a failure that is not a check (the test's own code stopped), unless it was a Fatal
// check, already reported.
export function failedOutside(err) {
  if (err instanceof Fatal || tally.aborted) return;
  tally.failed++;
  log(`not ok ${tally.passed + tally.failed} - the test itself stopped: ${err && err.stack ? err.stack : err}`);
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function summary() {
  log(`${tally.passed} passed, ${tally.failed} failed`);
}

// A missing optional dependency: say which, and exit 77 so that ctest reports a skip.
export function skip(reason) {
  log(`# SKIP: ${reason}`);
  log('0 passed, 0 failed');
  process.exit(SKIP);
}

// Ends the process with main()'s exit status (0/1 from the tally when it returns nothing); a
// crash outside every check is one more failure.
export function runMain(main) {
  main().then(
    (code) => process.exit(code ?? (tally.failed ? 1 : 0)),
    (err) => {
      log(`not ok - ${err && err.stack ? err.stack : err}`);
      log(`${tally.passed} passed, ${tally.failed + 1} failed`);
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// The last lines of a log, each behind `prefix` (a comment in the test's output by default).
export function tail(file, lines = 30, prefix = '#   ') {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => prefix + l).join('\n');
  } catch {
    return `${prefix}(no log)`;
  }
}

// Wraps fn so that it runs once; later calls get the first call's promise.
export function once(fn) {
  let result = null;
  return () => (result ??= Promise.resolve().then(fn));
}

// ---------------------------------------------------------------------------------------------
// What the tests need

export function requireExecutable(file, what) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(`${what} not found at ${file}: run ./install.sh`);
  }
}

// The conclab binary under test, from CONCLAB_BIN (ctest sets it).
export function conclabBinary() {
  const bin = process.env.CONCLAB_BIN;
  if (!bin) throw new Error('CONCLAB_BIN is not set: run through ctest, or export CONCLAB_BIN=/path/to/conclab');
  requireExecutable(bin, 'CONCLAB_BIN');
  return path.resolve(bin);
}

// playwright-core from tests/ui/node_modules; throws what to do when it is not there (a test
// decides whether that is a failure or a skip).
export async function loadPlaywright() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 18) throw new Error(`Node ${process.versions.node} is too old: the UI tests need 18 or newer`);
  try {
    return await import('playwright-core');
  } catch (err) {
    throw new Error(`cannot load playwright-core from ${HERE}/node_modules (${err.code || err.message}): ` +
      'run ./install.sh, or `npm ci` in tests/ui');
  }
}

// Debian's Chromium, headless, with nothing that reaches outside the machine (no updates, sync,
// QUIC or background fetches); Playwright gives each launch a fresh user-data dir.
export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
}

// ---------------------------------------------------------------------------------------------
// The private Jupyter home: one kernelspec, a root folder, nothing read from the user's dirs.

// Returns { home, path, data, runtime, config, root }: `home` is the temporary folder holding the
// rest (removed by removeJupyterHome), `path` is JUPYTER_PATH (where kernels/conclab-test/ is),
// `root` the folder the server serves. `logos` copies the kernelspec's logos (the launcher shows them).
export function makeJupyterHome(conclab, { prefix = 'conclab-ui-', displayName = 'C (conclab)', logos = false } = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dirs = {
    home,
    path: path.join(home, 'share'),
    data: path.join(home, 'data'),
    runtime: path.join(home, 'runtime'),
    config: path.join(home, 'config'),
    root: path.join(home, 'root'),
  };
  const specDir = path.join(dirs.path, 'kernels', KERNEL_NAME);
  for (const dir of [specDir, dirs.data, dirs.runtime, dirs.config, dirs.root]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(specDir, 'kernel.json'), JSON.stringify({
    argv: [conclab, 'kernel', '-f', '{connection_file}'],
    display_name: displayName,
    language: 'c',
    interrupt_mode: 'message',
  }, null, 1));
  if (logos) {
    for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) {
      fs.copyFileSync(path.join(REPO, 'kernel', 'cli', 'kernelspec', logo), path.join(specDir, logo));
    }
  }
  return dirs;
}

export function removeJupyterHome(dirs) {
  if (dirs) fs.rmSync(dirs.home, { recursive: true, force: true });
}

// The environment a server runs in: only the private home's dirs count.
export function jupyterEnv(dirs) {
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
  delete env.DISPLAY;   // no server opens a window
  return env;
}

// Writes a notebook of code cells on the kernelspec under test into `file`.
export function writeNotebook(file, sources) {
  fs.writeFileSync(file, JSON.stringify({
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: 'C (conclab)', language: 'c' } },
    cells: sources.map((source) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source })),
  }, null, 1));
}

// The committed lab 12.2's file name in notebooks/ (null if there is none).
export function labName() {
  return fs.readdirSync(LABS).find((f) => f.startsWith(LAB_PREFIX) && f.endsWith('.ipynb')) || null;
}

// Copies the lab into `into`, as a student gets it, pointed at the kernelspec under test.
// Returns its file name, or null when notebooks/ has no such lab.
// What a lab's cell shows on purpose: the error of a cell tagged raises-exception (its ename in
// metadata.conclab.expected_error; Run All goes on after it) and the lock-order warning on stderr
// of a `%lockcheck on` cell. Indexed like the notebook's cells (markdown included).
export function shownOnPurpose(nb) {
  return nb.cells.map((cell) => {
    const meta = cell.metadata || {};
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    const tagged = (meta.tags || []).includes('raises-exception');
    return { error: tagged ? ((meta.conclab || {}).expected_error || '') : null, lockcheck: /^%lockcheck on/m.test(source) };
  });
}

// Whether a cell's error or stderr text is what the cell shows on purpose (shownOnPurpose).
export function explained(text, purpose) {
  if (!text.trim()) return true;
  if (purpose.error !== null && text.includes(purpose.error)) return true;
  return purpose.lockcheck && /^lockcheck: possible deadlock/.test(text.trim());
}

// The committed lab notebook this suite runs, parsed.
export function labNotebook() {
  return JSON.parse(fs.readFileSync(path.join(LABS, labName()), 'utf8'));
}

export function copyLab(into) {
  const name = labName();
  if (!name) return null;
  const nb = JSON.parse(fs.readFileSync(path.join(LABS, name), 'utf8'));
  nb.metadata.kernelspec.name = KERNEL_NAME;
  fs.writeFileSync(path.join(into, name), JSON.stringify(nb, null, 1));
  return name;
}

// ---------------------------------------------------------------------------------------------
// Processes, read from /proc

// { state, ppid, start } of a process, start being its start time in clock ticks since boot.
export function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return null;
  }
}

export function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

// Every process on the machine: { pid, ppid, state, start, cmd }.
export function allProcesses() {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) found.push({ pid: Number(entry), ...stat, cmd: cmdline(Number(entry)) });
  }
  return found;
}

// The processes below `root` (kernels, their executors): { pid, start, cmd }.
export function descendants(root) {
  const all = allProcesses();
  const found = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.pop();
    for (const proc of all) {
      if (proc.ppid === parent) {
        found.push({ pid: proc.pid, start: proc.start, cmd: proc.cmd });
        frontier.push(proc.pid);
      }
    }
  }
  return found;
}

// Still the process we saw (same pid, same start time), and not ended (a zombie has).
export function stillOurs(proc) {
  const stat = procStat(proc.pid);
  return stat !== null && stat.start === proc.start && stat.state !== 'Z';
}

// ---------------------------------------------------------------------------------------------
// The server, in its own process group, stopped by its pid whatever happens.

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Starts a server: `command(port, token)` gives its argv (listening on 127.0.0.1:port, with
// token); `name` says what it is in messages. Its output goes to logFile. Returns
// { name, child, port, token, base (no trailing slash), logFile, exited, exit, known }.
export async function startServer({ name, command, dirs, logFile, cwd = dirs.root }) {
  const port = await freePort();
  const token = crypto.randomBytes(16).toString('hex');
  // setpriv has Linux send the server SIGTERM should this process die without cleaning up
  // (ctest's timeout kills it), so that the server still shuts its kernels down.
  const argv = command(port, token);
  const full = fs.existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', '--', ...argv] : argv;
  const out = fs.openSync(logFile, 'w');
  // Its own process group: a Ctrl-C meant for the test reaches the server only through stopServer().
  const child = spawn(full[0], full.slice(1), { env: jupyterEnv(dirs), cwd, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const server = { name, child, port, token, base: `http://127.0.0.1:${port}`, logFile,
    exited: false, exit: null, known: new Map() };
  child.on('exit', (code, signal) => { server.exited = true; server.exit = { code, signal }; });
  return server;
}

// Waits (30 s at most) until the server answers /api/status with its token.
export async function waitForServer(server) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`${server.name} exited at start:\n${tail(server.logFile)}`);
    try {
      const res = await fetch(`${server.base}/api/status`, { headers: { Authorization: `token ${server.token}` } });
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`${server.name} did not answer on port ${server.port} within 30 s:\n${tail(server.logFile)}`);
}

// Remembers the server's processes as we go: a kernel the server loses track of is still ours.
// Returns those running now.
export function noteProcesses(server) {
  if (!server || server.exited) return [];
  const now = descendants(server.child.pid);
  for (const proc of now) server.known.set(`${proc.pid}:${proc.start}`, proc);
  return now;
}

// SIGTERM lets the server shut its kernels down the proper way (shutdown_request); after termMs
// it is killed with its process group (server.killed says so). Whatever it started that is still
// running graceMs later is killed by pid. Returns those leftovers. Runs once per server.
export function stopServer(server, { termMs = 15000, graceMs = 3000 } = {}) {
  if (!server) return Promise.resolve([]);
  server.stopping ??= (async () => {
    noteProcesses(server);
    if (!server.exited) {
      try { process.kill(server.child.pid, 'SIGTERM'); } catch { /* gone */ }
      const deadline = Date.now() + termMs;
      while (!server.exited && Date.now() < deadline) await sleep(50);
      if (!server.exited) {
        log(`# ${server.name} ignored SIGTERM for ${termMs / 1000} s: killing its process group`);
        server.killed = true;
        try { process.kill(-server.child.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    const deadline = Date.now() + graceMs;
    let left = [...server.known.values()].filter(stillOurs);
    while (left.length && Date.now() < deadline) {
      await sleep(100);
      left = left.filter(stillOurs);
    }
    for (const proc of left) {
      try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    return left;
  })();
  return server.stopping;
}

// Whatever ends the run early (SIGTERM from ctest, SIGINT, SIGHUP, the watchdog after
// watchdogMs), `cleanup` runs (stopping the server) and the run ends with a failure:
// "not ok N - why" and the closing line. Returns a function that disarms the watchdog.
export function guardRun({ watchdogMs, cleanup }) {
  const abort = async (why) => {
    if (tally.aborted) return;
    tally.aborted = true;
    log(`not ok ${tally.passed + tally.failed + 1} - ${why}: stopping the server`);
    await cleanup();
    log(`${tally.passed} passed, ${tally.failed + 1} failed`);
    process.exit(1);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => abort(`${signal} received`));
  const watchdog = setTimeout(() => abort(`the whole run took over ${watchdogMs / 1000} s`), watchdogMs);
  return () => clearTimeout(watchdog);
}
