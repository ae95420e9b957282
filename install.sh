#!/usr/bin/env bash
# install.sh — sets conclab up on Debian 12: packages, build, install, Jupyter kernelspec.
#
#   ./install.sh                 as root, or as a user with sudo
#   ./install.sh --no-deps       skip the Debian packages (you installed them yourself)
#   ./install.sh --prefix DIR    install under DIR instead of /usr/local
#
# Safe to run again: packages are only asked for when one is missing, the build only recompiles
# what changed, and files that are already up to date are left alone. Never reads stdin.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$ROOT/build
PREFIX=/usr/local
WITH_DEPS=1

# Every build, run and test dependency. clang and libclang-rt are for the sanitizer and
# libFuzzer builds in .ci/run.
PACKAGES=(
  build-essential cmake pkg-config
  libzmq3-dev libjansson-dev libtcc-dev tcc libssl-dev libuv1-dev libcurl4-openssl-dev openssl
  jupyter-notebook jupyter-client jupyter-console jupyter-nbconvert python3-ipykernel
  python3-jupyter-kernel-test python3-nbclient python3-pytest
  python3-jupyter-server python3-jupyterlab-server libjs-mathjax
  clang libclang-rt-14-dev
  libtsan2  # %%tsan: gcc -fsanitize=thread (build-essential brings it on amd64; named for the others)
  manpages-dev zlib1g-dev  # inspection and completion of the C library (kernel/engine/man_pages.c)
)

step() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '3,6s/^#   //p' "${BASH_SOURCE[0]}"
}

while (($#)); do
  case $1 in
    --no-deps) WITH_DEPS=0 ;;
    --prefix) [[ $# -ge 2 && -n $2 ]] || die "--prefix needs a directory"; PREFIX=$2; shift ;;
    --prefix=*) PREFIX=${1#--prefix=} ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
[[ $PREFIX == /* ]] || PREFIX=$PWD/$PREFIX

# Runs a command with root rights: directly when we are root, else through sudo.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "needs root for '$*': run as root or install sudo"
  fi
}

# Runs a command as the owner of the checkout: under `sudo ./install.sh` the build tree then
# stays the user's, so their later `ctest` or rebuild is not locked out by root-owned files.
as_owner() {
  if [[ $EUID -eq 0 && -n ${SUDO_USER:-} && $SUDO_USER != root ]] &&
     [[ $(stat -c %u "$ROOT") == "$(id -u "$SUDO_USER" 2>/dev/null)" ]]; then
    sudo -u "$SUDO_USER" -- "$@"
  else
    "$@"
  fi
}

# Installing needs root unless the prefix is ours to write (say --prefix ~/.local): then the
# kernelspec goes to the user's Jupyter folder too.
prefix_needs_root() {
  local existing=$PREFIX
  while [[ ! -e $existing ]]; do existing=$(dirname "$existing"); done
  [[ $EUID -eq 0 || ! -w $existing ]]
}
as_installer() {
  if prefix_needs_root; then as_root "$@"; else "$@"; fi
}

missing_packages() {
  local listed p
  listed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for p in "${PACKAGES[@]}"; do
    grep -qx "$p installed" <<<"$listed" || printf '%s\n' "$p"
  done
}

install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get not found: install ${PACKAGES[*]} yourself, then run ./install.sh --no-deps"
  fi
  local missing
  missing=$(missing_packages)
  if [[ -z $missing ]]; then
    step "Debian packages: all ${#PACKAGES[@]} installed"
    return
  fi
  step "Debian packages: installing ${missing//$'\n'/ }"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  as_root "${apt[@]}" update </dev/null
  as_root "${apt[@]}" install -y --no-install-recommends "${PACKAGES[@]}" </dev/null
}

# Drops the lines CMake prints on every run, whether or not anything changed.
quiet() {
  grep -v -e 'Built target' -e 'Up-to-date:' -e 'Consolidate compiler generated' \
    -e '^-- Configuring done' -e '^-- Generating done' -e '^-- Build files have been written' \
    -e '^-- Install configuration' || true
}

build() {
  step "building (CMake, Release) in build/"
  as_owner cmake -S "$ROOT" -B "$BUILD" --log-level=WARNING \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" </dev/null | quiet
  as_owner cmake --build "$BUILD" --parallel "$(nproc)" </dev/null | quiet
}

install_files() {
  step "installing into $PREFIX"
  as_installer cmake --install "$BUILD" </dev/null | quiet
  # The conclab binary finds libconclab through its rpath and homework through conclab.pc;
  # refreshing the loader cache also lets a bare `gcc hw.c -lconclab` binary run.
  if prefix_needs_root; then as_root ldconfig; fi
}

register_kernel() {
  local conclab=$PREFIX/bin/conclab
  [[ -x $conclab ]] || die "$conclab was not installed"
  step "registering the Jupyter kernelspec"
  local said
  if prefix_needs_root; then
    said=$(as_root "$conclab" install </dev/null) # system-wide: /usr/local/share/jupyter/kernels
  else
    said=$("$conclab" install --user </dev/null)
  fi
  echo "$said"
  [[ -x /usr/bin/jupyter ]] || return 0
  # Debian's jupyter, whatever python3 comes first on PATH; its stderr chatters about debuggers
  # and frozen modules.
  local listed
  listed=$(/usr/bin/jupyter kernelspec list 2>/dev/null | awk '$1 == "conclab" { print $2 }')
  [[ -n $listed ]] || die "jupyter kernelspec list does not show conclab"
  step "jupyter kernelspec list: conclab $listed"
  if [[ $said != *" in $listed" ]]; then
    echo "install.sh: note: Jupyter uses $listed, which hides the kernelspec just installed;" \
      "remove it (jupyter kernelspec remove conclab) or reinstall it with conclab install" >&2
  fi
}

started=$SECONDS
if [[ $WITH_DEPS == 1 ]]; then install_packages; fi

# ---- BEGIN sandbox (optional: conclab run --sandbox, conclab grade --sandbox) ----
# bubblewrap builds the sandbox submissions run in. Optional: without it (or without user
# namespaces) install goes on, and --sandbox says what is missing.
install_sandbox() {
  [[ $WITH_DEPS == 1 ]] || return 0
  if [[ $(dpkg-query -W -f='${db:Status-Status}' bubblewrap 2>/dev/null) != installed ]]; then
    step "Sandbox: installing bubblewrap"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
    as_root "${apt[@]}" update </dev/null || true
    as_root "${apt[@]}" install -y --no-install-recommends bubblewrap </dev/null ||
      { echo "install.sh: note: bubblewrap could not be installed; --sandbox will say it is unavailable" >&2; return 0; }
  fi
  if ! bwrap --unshare-all --ro-bind / / true 2>/dev/null; then
    echo "install.sh: note: bwrap cannot make user namespaces here; --sandbox will say so (and ctest cli_sandbox skips)" >&2
  fi
}
install_sandbox
# ---- END sandbox ----

# ---- BEGIN Slurm (optional: the test of tools/slurm/grade-array.sh against a real Slurm) ----
# The batch grader's Slurm job script is tested by submitting it to a one-node Slurm on 127.0.0.1
# (ctest cli_grading_batch). slurm-wlm brings daemons a workstation does not want, so it is
# installed only for CI (CI=true) or when asked (CONCLAB_WITH_SLURM=1); elsewhere that one test
# skips and says so. Optional: a failure is a note.
install_slurm() {
  [[ $WITH_DEPS == 1 ]] || return 0
  [[ ${CI:-} == true || ${CONCLAB_WITH_SLURM:-} == 1 ]] || return 0
  local missing=() name
  for name in slurm-wlm munge; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null) == installed ]] || missing+=("$name")
  done
  ((${#missing[@]})) || return 0
  step "Slurm for the batch grader's test: installing ${missing[*]}"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  as_root "${apt[@]}" update </dev/null || true
  as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null ||
    echo "install.sh: note: slurm-wlm could not be installed; the real-Slurm test will skip" >&2
}
install_slurm
# ---- END Slurm ----

# ---- BEGIN UI test dependencies (tests/ui: ctest ui_notebook, ui_services_*) ----
# The notebook UI test drives Jupyter Notebook in headless Chromium with Playwright; the services
# tests drive jupyter_server and Notebook from Node with JupyterLab's @jupyterlab/services. Chromium,
# jupyter_server and Node come from Debian (any node >= 18 already on PATH will do); playwright-core,
# @jupyterlab/services and ws from npm, pinned by tests/ui/package-lock.json. npm ci runs only when
# node_modules is older than the lock file or lacks one of them; if it fails (no registry), the
# install goes on and those tests say what is missing.
install_ui_test_deps() {
  local ui=$ROOT/tests/ui missing=() name
  if [[ $WITH_DEPS == 1 ]]; then
    for name in chromium python3-jupyter-server; do
      [[ $(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null) == installed ]] || missing+=("$name")
    done
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if ((${#missing[@]})); then
      step "UI test packages: installing ${missing[*]}"
      local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
      as_root "${apt[@]}" update </dev/null
      as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null
    fi
  fi
  local current=1
  [[ -f $ui/node_modules/.package-lock.json && $ui/node_modules/.package-lock.json -nt $ui/package-lock.json ]] || current=0
  for name in playwright-core @jupyterlab/services ws; do
    [[ -f $ui/node_modules/$name/package.json ]] || current=0
  done
  if ((current)); then
    step "UI test node modules: up to date"
  elif command -v npm >/dev/null 2>&1; then
    step "UI test node modules: npm ci in tests/ui"
    if ! (cd "$ui" && as_owner env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund </dev/null); then
      echo "install.sh: note: npm ci failed in tests/ui (is the npm registry reachable?); ctest ui_notebook will fail and ui_services_* skip until it succeeds" >&2
    fi
  else
    echo "install.sh: note: npm not found; ctest ui_notebook will fail and ui_services_* skip until it is" >&2
  fi
}
install_ui_test_deps
# ---- END UI test dependencies ----

# ---- BEGIN JupyterLab front-end (lab/: conclab lab) ----
# `conclab lab` serves JupyterLab 3.6.8, built here from the npm packages pinned by
# lab/package-lock.json into lab/dist (ignored by git; cmake --install copies it). npm ci runs only
# when lab/node_modules is older than the lock file, webpack only when something it reads changed
# since the last build. Without npm or the registry, install goes on: conclab lab then says what is
# missing and to use `jupyter notebook` meanwhile.
lab_note() {
  echo "install.sh: note: $*; conclab lab will say so, and jupyter notebook works meanwhile" >&2
}
lab_is_built() {
  local lab=$1 manifest=$1/dist/static/build.json
  [[ -f $manifest && -z $(find "$lab/package-lock.json" "$lab/webpack.config.js" "$lab/src" \
      "$lab/node_modules/.package-lock.json" -newer "$manifest" -print -quit 2>/dev/null) ]]
}
build_lab_frontend() {
  local lab=$ROOT/lab log=$BUILD/lab-webpack.log
  if [[ -f $lab/node_modules/.package-lock.json && $lab/node_modules/.package-lock.json -nt $lab/package-lock.json ]]; then
    step "JupyterLab node modules: up to date"
  elif ! command -v npm >/dev/null 2>&1; then
    lab_note "npm not found, so JupyterLab's front-end was not built"; return 0
  else
    step "JupyterLab node modules: npm ci in lab/"
    if ! (cd "$lab" && as_owner npm ci --no-audit --no-fund </dev/null); then
      lab_note "npm ci in lab/ failed (is the npm registry reachable?)"; return 0
    fi
  fi
  if lab_is_built "$lab"; then
    step "JupyterLab front-end: up to date (lab/dist)"
    return 0
  fi
  step "JupyterLab front-end: building lab/dist with webpack (a minute or two; log: build/lab-webpack.log)"
  as_owner mkdir -p "$BUILD"
  if ! (cd "$lab" && as_owner npx --no-install webpack --mode=production </dev/null >"$log" 2>&1); then
    tail -n 20 "$log" >&2
    lab_note "webpack failed to build JupyterLab's front-end (see $log)"
  fi
}
build_lab_frontend
# ---- END JupyterLab front-end ----

# ---- BEGIN class on JupyterHub (hub/: conclab hub-config, ctest hub_class) ----
# Optional: Debian's jupyterhub (3.0) and the proxy it puts in front, configurable-http-proxy from
# npm, pinned by hub/package-lock.json (Debian's own node-configurable-http-proxy does not run on
# a newer node). Runs before the build so CMake installs hub/node_modules with the config.
install_hub_deps() {
  local hub=$ROOT/hub p missing=()
  for p in jupyterhub python3-websocket; do  # python3-websocket: the hub test's client
    [[ $(dpkg-query -W -f='${db:Status-Status}' $p 2>/dev/null) == installed ]] || missing+=("$p")
  done
  if [[ $WITH_DEPS == 1 ]] && ((${#missing[@]})); then
    step "JupyterHub: installing ${missing[*]}"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
    { as_root "${apt[@]}" update && as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } </dev/null ||
      echo "install.sh: note: ${missing[*]} could not be installed; conclab hub-config still writes a configuration" >&2
  fi
  if [[ -f $hub/node_modules/.package-lock.json && $hub/node_modules/.package-lock.json -nt $hub/package-lock.json &&
        -f $hub/node_modules/configurable-http-proxy/package.json ]]; then
    step "JupyterHub proxy: up to date"
  elif command -v npm >/dev/null 2>&1; then
    step "JupyterHub proxy: npm ci in hub/"
    (cd "$hub" && as_owner npm ci --no-audit --no-fund </dev/null) ||
      echo "install.sh: note: npm ci in hub/ failed; a class hub needs configurable-http-proxy (see README: For a class)" >&2
  else
    echo "install.sh: note: npm not found; a class hub needs configurable-http-proxy: install npm, then run ./install.sh again" >&2
  fi
}
install_hub_deps
# ---- END class on JupyterHub ----

build
install_files
register_kernel
if [[ -f $ROOT/lab/dist/static/build.json ]]; then
  step "done in $((SECONDS - started))s: try  conclab lab notebooks/"
else
  step "done in $((SECONDS - started))s: try  jupyter notebook notebooks/  (JupyterLab was not built)"
fi
