#!/usr/bin/env bash
# Line coverage (cargo-llvm-cov) of the host, the shared crates and the components' native
# code, over their unit tests and the end-to-end tests: the `battlescope` binary the tests
# start is built with the same instrumentation, so what the host runs for them counts too.
# Component code that only runs inside Wasm (the `wasm` glue modules) is not measured: LLVM's
# profiler has no wasm32-wasip2 runtime. Prints a table per crate and the total; exits non-zero
# below COVERAGE_MIN percent of lines (default 80).
#
# The instrumented build lives in its own target directory (a first run rebuilds wasmtime:
# about 40 minutes on two cores).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
MIN="${COVERAGE_MIN:-80}"
TOOLS="${BATTLESCOPE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/battlescope/tools}"
export PATH="$TOOLS/cargo/bin:$PATH"

if ! command -v cargo-llvm-cov >/dev/null; then
  echo "[coverage] installing cargo-llvm-cov" >&2
  cargo install --quiet --locked --root "$TOOLS/cargo" cargo-llvm-cov@0.6.21
fi
rustup component list --installed 2>/dev/null | grep -q '^llvm-tools' || rustup component add llvm-tools-preview

# Every binary and test built below is instrumented; profiles land in the llvm-cov target.
export CARGO_TARGET_DIR="${COVERAGE_TARGET_DIR:-$REPO/target/coverage}"
eval "$(cargo llvm-cov show-env --export-prefix)"
cargo llvm-cov clean --workspace
cargo build -p battlescope-host
export BATTLESCOPE_BIN="$CARGO_TARGET_DIR/debug/battlescope"
packages=(-p battlescope-host -p contracts -p eve-static -p guest -p ingestion -p enrichment -p battle \
  -p min-value-filter -p capital-ships-filter -p plugin-template -p battlescope-tests)
cargo test --no-fail-fast "${packages[@]}" -- --test-threads=4 || echo "[coverage] some tests failed; coverage still reported" >&2

# The tests crate and the test components are the harness, not the product.
ignore='(tests/|/tests/|components/plugins/template/)'
cargo llvm-cov report --ignore-filename-regex "$ignore" --summary-only | tee "$CARGO_TARGET_DIR/coverage.txt"
python3 - "$CARGO_TARGET_DIR/coverage.txt" "$MIN" <<'PY'
import re, sys
from collections import defaultdict
rows, total = defaultdict(lambda: [0, 0]), None
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 10 or not re.match(r"\d+$", f[7] if len(f) > 7 else ""):
        continue
    name, lines, missed = f[0], int(f[7]), int(f[8])
    if name == "TOTAL":
        total = (lines, missed)
        continue
    crate = "/".join(name.split("/")[:2]) if name.startswith(("components/", "crates/")) else name.split("/")[0]
    rows[crate][0] += lines
    rows[crate][1] += missed
print(f"\n{'crate':40} {'lines':>8} {'covered':>8}")
for crate, (lines, missed) in sorted(rows.items()):
    print(f"{crate:40} {lines:8} {100 * (lines - missed) / max(lines, 1):7.1f}%")
lines, missed = total
pct = 100 * (lines - missed) / max(lines, 1)
print(f"{'total':40} {lines:8} {pct:7.1f}%  (goal {sys.argv[2]} %)")
sys.exit(0 if pct >= float(sys.argv[2]) else 1)
PY
