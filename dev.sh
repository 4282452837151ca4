#!/usr/bin/env bash
# One entry point for maintainers. Each command first makes sure the environment exists.
#   ./dev.sh book [--instructor]   set up, then build the textbook site into book/_build/html
#   ./dev.sh test [PYTEST ARGS]    set up, then run ruff and the test suite
#   ./dev.sh setup                 only set up (.venv with keraslab and every extra; apt tools)
#   ./dev.sh tools                 only the apt tools (for CI steps that bring their own venv)
set -euo pipefail
cd "$(dirname "$0")"
VENV=${KERASLAB_VENV:-.venv}

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 14))'; then
        echo "$candidate"; return 0
    fi
  done
  echo "dev.sh: Python 3.10-3.13 is required (TensorFlow 2.21 has no wheels for others)" >&2
  return 1
}

apt_tools() {
  # bubblewrap sandboxes graded notebooks; chromium checks the built site; dataset-fashion-mnist
  # holds Fashion-MNIST's IDX files, the labs' real images offline. All are optional for a local
  # build, so a machine without apt or root simply goes on without them.
  local missing=()
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "dev.sh: installing ${missing[*]} with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") >/dev/null 2>&1 \
      || echo "dev.sh: could not install ${missing[*]}; continuing without them" >&2
  else
    echo "dev.sh: ${missing[*]} not installed (needs root and apt); continuing without them" >&2
  fi
}

setup() {
  local stamp="$VENV/.keraslab-stamp" want
  want=$(cat pyproject.toml | sha256sum | cut -c1-16)
  if [ ! -x "$VENV/bin/python" ]; then
    "$(find_python)" -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[cpu,dev,book,grade]"
    echo "$want" > "$stamp"
  fi
  apt_tools
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  tools) apt_tools ;;
  book) setup; exec "$VENV/bin/keraslab" book build "$@" ;;
  test)
    setup
    "$VENV/bin/ruff" check keraslab tests benchmarks
    exec "$VENV/bin/python" -m pytest "$@" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
