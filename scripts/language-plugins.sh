#!/usr/bin/env bash
# Builds an example ruleset-filter plugin written in Python or JavaScript, installing its
# toolchain first when missing (idempotent):
#
#   scripts/language-plugins.sh python     OUT.wasm   componentize-py (PyPI), CPython inside
#   scripts/language-plugins.sh javascript OUT.wasm   componentize-js (npm), SpiderMonkey inside
#
# Both come out importing nothing but what the ruleset-filter world offers: componentize-py
# replaces WASI with trapping stubs (--stub-wasi), componentize-js leaves its optional host
# features out (components/plugins/capital-ships-js/build.mjs).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${BATTLESCOPE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/battlescope/tools}"
COMPONENTIZE_PY_WHEEL="componentize-py==0.25.1"

log() { printf '[language-plugins] %s\n' "$*" >&2; }
die() { printf '[language-plugins] error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 python|javascript OUT.wasm"
language=$1
out="$(mkdir -p "$(dirname "$2")" && cd "$(dirname "$2")" && pwd)/$(basename "$2")"

case "$language" in
  python)
    if [ "$(cat "$TOOLS/componentize-py/.installed" 2>/dev/null)" != "$COMPONENTIZE_PY_WHEEL" ]; then
      log "installing $COMPONENTIZE_PY_WHEEL"
      rm -rf "$TOOLS/componentize-py"
      python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$TOOLS/componentize-py" \
        "$COMPONENTIZE_PY_WHEEL"
      echo "$COMPONENTIZE_PY_WHEEL" > "$TOOLS/componentize-py/.installed"
    fi
    cd "$REPO/components/plugins/capital-ships-python"
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$TOOLS/componentize-py" python3 -c \
      'import sys, componentize_py; sys.argv[0] = "componentize-py"; sys.exit(componentize_py.script())' \
      -d ../../../wit/ruleset-filter -w ruleset-filter componentize --stub-wasi -p . app -o "$out" >/dev/null
    ;;
  javascript)
    cd "$REPO/components/plugins/capital-ships-js"
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      log "installing componentize-js (npm ci)"
      npm ci --no-audit --no-fund --loglevel=error
    fi
    node build.mjs "$out"
    ;;
  *) die "unknown language $language: python or javascript" ;;
esac
log "built $out ($(du -h "$out" | cut -f1))"
