#!/usr/bin/env bash
# Builds the native kernel (CMake) and the managed solution (dotnet), and leaves ./fednl at the repository root.
#
#   ./build.sh            build everything (Release) and install missing system packages when root
#   ./build.sh test       build, then run every test: native (both kernel variants), native under
#                         ASan+UBSan, and managed; ends with the line "N passed, N failed"
#   ./build.sh bench ...  build, then run the kernel micro-benchmarks (BenchmarkDotNet) with the given args
#
# Options: --debug (Debug configuration), --no-install (never call apt-get).
# The logic lives in native/CMakeLists.txt and the .csproj files; this script only sequences them
# (build.ps1 is its Windows twin).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

command_name="build"
configuration="Release"
install_packages=1
extra_args=()
for arg in "$@"; do
  case "$arg" in
    test|bench|build) command_name="$arg" ;;
    --debug) configuration="Debug" ;;
    --no-install) install_packages=0 ;;
    *) extra_args+=("$arg") ;;
  esac
done
jobs="$(nproc 2>/dev/null || echo 2)"

log() { printf '==> %s\n' "$*" >&2; }

# --- 1. System packages (Debian/Ubuntu) -------------------------------------------------------------------
ensure_packages() {
  local needed=(cmake gcc make pkg-config libopenblas-dev liblapacke-dev libclang1-14)
  local missing=()
  if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${needed[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
  else
    command -v cmake >/dev/null 2>&1 || missing+=(cmake)
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$install_packages" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "error: missing system packages: ${missing[*]}" >&2
      echo "run:   sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK (10.0 or later) is not on PATH." >&2
    echo "install it from your distribution or https://dot.net, then run ./build.sh again." >&2
    exit 1
  fi
}

# --- 2. Builds ----------------------------------------------------------------------------------------------
build_native() { # build_native DIR [extra cmake args...]
  local dir="$1"; shift
  log "native kernel -> $dir"
  cmake -S native -B "$dir" -DCMAKE_BUILD_TYPE="$configuration" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
}

build_managed() {
  log "managed solution ($configuration)"
  dotnet build Fednl.slnx -c "$configuration" -nologo -v quiet -clp:ErrorsOnly \
    -p:FednlNativeDir="$root/build/native/lib/"
}

write_launcher() {
  cat > "$root/fednl" <<EOF
#!/usr/bin/env bash
# Launcher written by build.sh: runs the fednl command built in $configuration.
exec dotnet "$root/managed/Fednl.Cli/bin/$configuration/net10.0/Fednl.Cli.dll" "\$@"
EOF
  chmod +x "$root/fednl"
}

# --- 3. Tests -----------------------------------------------------------------------------------------------
total_passed=0
total_failed=0
total_skipped=0

run_ctest() { # run_ctest DIR LABEL
  local dir="$1" label="$2" out
  log "native tests: $label"
  out="$(cd "$dir" && ctest -j "$jobs" --output-on-failure 2>&1)" || true
  printf '%s\n' "$out" | grep -E "tests passed|\*\*\*Failed|\*\*\*Skipped|Not Run|SKIPPED" >&2 || true
  local total failed skipped
  total="$(printf '%s\n' "$out" | sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' | tail -1)"
  failed="$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' | tail -1)"
  skipped="$(printf '%s\n' "$out" | grep -c '\*\*\*Skipped' || true)"
  if [ -z "$total" ]; then
    printf '%s\n' "$out" >&2
    echo "error: ctest in $dir produced no summary" >&2
    total=1; failed=1; skipped=0
  fi
  total_passed=$((total_passed + total - failed - skipped))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
}

run_managed_tests() {
  local results="$root/build/test-results"
  rm -rf "$results"
  log "managed tests (NUnit)"
  dotnet test tests/Fednl.Tests/Fednl.Tests.csproj -c "$configuration" --no-build -nologo \
    --logger "trx;LogFileName=managed.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" >&2 || true
  local trx="$results/managed.trx"
  if [ ! -f "$trx" ]; then
    echo "error: the managed test run left no results ($trx)" >&2
    total_failed=$((total_failed + 1))
    return
  fi
  local counters passed failed not_executed
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  passed="$(printf '%s' "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')"
  failed="$(printf '%s' "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')"
  not_executed="$(printf '%s' "$counters" | sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p')"
  local errors timeouts aborted
  errors="$(printf '%s' "$counters" | sed -n 's/.* error="\([0-9]*\)".*/\1/p')"
  timeouts="$(printf '%s' "$counters" | sed -n 's/.* timeout="\([0-9]*\)".*/\1/p')"
  aborted="$(printf '%s' "$counters" | sed -n 's/.* aborted="\([0-9]*\)".*/\1/p')"
  total_passed=$((total_passed + ${passed:-0}))
  total_failed=$((total_failed + ${failed:-0} + ${errors:-0} + ${timeouts:-0} + ${aborted:-0}))
  total_skipped=$((total_skipped + ${not_executed:-0}))
  if [ "${not_executed:-0}" != 0 ]; then
    echo "Tests that did not run (each says why; real-data tests need FEDNL_DATA=<folder with w8a, a9a, phishing>):" >&2
    grep -o 'testName="[^"]*"[^>]*outcome="NotExecuted"' "$trx" | sed 's/testName="\([^"]*\)".*/  - \1/' >&2 || true
  fi
}

ensure_packages
build_native "build/native"
build_managed
write_launcher

case "$command_name" in
  build)
    log "done: ./fednl --help"
    ;;
  bench)
    dotnet run -c Release --project managed/Fednl.Benchmarks -p:FednlNativeDir="$root/build/native/lib/" -- "${extra_args[@]}"
    ;;
  test)
    run_ctest "build/native" "reference and AVX2 variants"
    build_native "build/native-sanitize" -DFEDNL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    run_ctest "build/native-sanitize" "ASan + UBSan"
    run_managed_tests
    if [ "$total_skipped" -gt 0 ]; then
      echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
    else
      echo "$total_passed passed, $total_failed failed"
    fi
    [ "$total_failed" -eq 0 ]
    ;;
esac
