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
  clang libclang-rt-14-dev
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

# ---- BEGIN UI test dependencies (tests/ui: ctest ui_notebook) ----
# The notebook UI test drives Jupyter Notebook in headless Chromium with Playwright: Chromium and
# Node come from Debian (any node >= 18 already on PATH will do), playwright-core from npm, pinned
# by tests/ui/package-lock.json. npm ci runs only when node_modules is older than the lock file.
install_ui_test_deps() {
  local ui=$ROOT/tests/ui missing=()
  if [[ $WITH_DEPS == 1 ]]; then
    [[ $(dpkg-query -W -f='${db:Status-Status}' chromium 2>/dev/null) == installed ]] || missing+=(chromium)
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if ((${#missing[@]})); then
      step "UI test packages: installing ${missing[*]}"
      local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
      as_root "${apt[@]}" update </dev/null
      as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null
    fi
  fi
  if [[ -f $ui/node_modules/.package-lock.json && $ui/node_modules/.package-lock.json -nt $ui/package-lock.json &&
        -f $ui/node_modules/playwright-core/package.json ]]; then
    step "UI test node modules: up to date"
  elif command -v npm >/dev/null 2>&1; then
    step "UI test node modules: npm ci in tests/ui"
    (cd "$ui" && as_owner env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund </dev/null)
  else
    echo "install.sh: note: npm not found; the UI test (ctest ui_notebook) will fail until it is" >&2
  fi
}
install_ui_test_deps
# ---- END UI test dependencies ----

build
install_files
register_kernel
step "done in $((SECONDS - started))s: try  jupyter notebook notebooks/"
