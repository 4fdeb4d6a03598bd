#!/usr/bin/env bash
# Builds the native kernel (CMake) and the managed solution (dotnet), and leaves ./fednl at the repository root.
#
#   ./build.sh            build everything (Release) and install missing system packages when root
#   ./build.sh test       build, then run every test: native (every kernel variant), native under
#                         ASan+UBSan, and managed; ends with the line "N passed, N failed"
#   ./build.sh bench ...  build, then run the kernel micro-benchmarks (BenchmarkDotNet) with the given args
#
# Options: --debug (Debug configuration), --no-install (never call apt-get); ./build.sh --help lists all.
# FEDNL_DATA may be relative to the directory this script is run from.
# The logic lives in native/CMakeLists.txt and the .csproj files; this script only sequences them
# (build.ps1 is its Windows twin).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<'EOF'
usage: ./build.sh [build|test|pack|bench ARGS...|summarize-trx FILE] [--debug] [--no-install]

  build              build the native kernel and the managed solution, write ./fednl (the default)
  test               build and pack, then run every test; the last line is "N passed, N failed"
  pack               build, then write the Fednl and Fednl.Cli packages to build/packages/
  bench ARGS...      build, then run the kernel micro-benchmarks with ARGS (BenchmarkDotNet's flags)
  summarize-trx FILE print the counts of a managed test results file and the tests that did not run
  --debug            Debug configuration instead of Release
  --no-install       never call apt-get; print what is missing instead
  -h, --help         this text
EOF
}

command_name="build"
configuration="Release"
install_packages=1
extra_args=()
while [ $# -gt 0 ]; do
  arg="$1"; shift
  if [ "$command_name" = bench ]; then extra_args+=("$arg"); continue; fi
  case "$arg" in
    test|bench|build|pack) command_name="$arg" ;;
    summarize-trx)
      if [ $# -ne 1 ]; then usage >&2; exit 2; fi
      command_name="$arg"; extra_args=("$1"); shift ;;
    --debug) configuration="Debug" ;;
    --no-install) install_packages=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
jobs="$(nproc 2>/dev/null || echo 2)"

log() { printf '==> %s\n' "$*" >&2; }

# --- 1. System packages (Debian/Ubuntu) -------------------------------------------------------------------
ensure_packages() {
  local needed=(cmake gcc make pkg-config libopenblas-dev liblapacke-dev)
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
      if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
        echo "error: apt-get could not install ${missing[*]} (no package mirror reachable?); this build needs them installed: apt-get install -y ${missing[*]}" >&2
        exit 1
      fi
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

# NuGet packages and the local tools (PowerShell, which runs build.ps1 in the tests and in CI), before any build.
restore_managed() {
  log "NuGet packages"
  local out
  if ! out="$(dotnet restore Fednl.slnx -nologo -v quiet 2>&1 && dotnet tool restore 2>&1)"; then
    if printf '%s' "$out" | grep -qE 'NU1301|NU1101|NU1102|NU1103|Unable to load the service index|NETSDK1004'; then
      echo "error: the NuGet packages this build needs are not in the NuGet cache (${NUGET_PACKAGES:-~/.nuget/packages}) and no NuGet feed is reachable; run the build once with network access (or copy a filled NuGet cache to this machine), then build offline" >&2
    else
      printf '%s\n' "$out" >&2
      echo "error: dotnet restore failed" >&2
    fi
    exit 1
  fi
}

build_managed() {
  log "managed solution ($configuration)"
  dotnet build Fednl.slnx --no-restore -c "$configuration" -nologo -v quiet -clp:ErrorsOnly \
    -p:FednlNativeDir="$root/build/native/lib/"
}

# The fednl command precompiled (ReadyToRun, framework-dependent): a run then spends no time compiling its own code
# as it starts (a one-round phishing run: 0.31 s instead of 0.52). The ReadyToRun compiler comes from NuGet; where it
# cannot be had (offline without it in the cache, or a machine other than x86-64), ./fednl runs the build output.
publish_cli() {
  cli_dll="managed/Fednl.Cli/bin/$configuration/net10.0/Fednl.Cli.dll"
  [ "$(uname -m)" = "x86_64" ] || return 0
  log "fednl command, precompiled (ReadyToRun)"
  local out
  if out="$(dotnet publish managed/Fednl.Cli/Fednl.Cli.csproj -c "$configuration" -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true -nologo -v quiet -clp:ErrorsOnly -p:FednlNativeDir="$root/build/native/lib/" 2>&1)"; then
    cli_dll="managed/Fednl.Cli/bin/$configuration/net10.0/linux-x64/publish/Fednl.Cli.dll"
  else
    printf '%s\n' "$out" | tail -n 5 >&2
    echo "warning: the precompiled fednl command could not be built (above); ./fednl runs the build output, which compiles its code as it starts" >&2
  fi
}

write_launcher() {
  # Relative to the launcher's own folder (through symlinks), so a moved or copied checkout keeps working; no
  # subprocess unless it is reached through a symlink (each costs a run about 10 ms).
  cat > "$root/fednl" <<EOF
#!/usr/bin/env bash
# Launcher written by build.sh: runs the fednl command built in $configuration beside this file.
self="\${BASH_SOURCE[0]}"
if [ -L "\$self" ]; then self="\$(readlink -f "\$self")"; fi
if [[ "\$self" == */* ]]; then here="\${self%/*}"; else here=.; fi
exec dotnet "\$here/$cli_dll" "\$@"
EOF
  chmod +x "$root/fednl"
}

# --- 3. Packages ----------------------------------------------------------------------------------------------
# libfednl.so and every shared library it needs beyond the C runtime, each with RUNPATH $ORIGIN, so that the
# packages' runtimes/linux-x64/native/ folder loads without any system BLAS.
bundle_native() {
  local stage="$root/build/native-bundle/linux-x64"
  log "native bundle -> ${stage#$root/}"
  if ! command -v patchelf >/dev/null 2>&1; then
    if [ "$install_packages" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >/dev/null ||
        { echo "error: packing needs patchelf: apt-get install -y patchelf" >&2; exit 1; }
    else
      echo "error: packing needs patchelf: sudo apt-get install -y patchelf" >&2; exit 1
    fi
  fi
  rm -rf "$stage"
  mkdir -p "$stage"
  cp build/native/lib/libfednl.so "$stage/"
  local soname path
  while read -r soname path; do
    case "$soname" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libgcc_s.so*|libstdc++.so*|linux-vdso*) continue ;;
    esac
    [ -f "$path" ] || { echo "error: $soname, which libfednl.so needs, was not found" >&2; exit 1; }
    cp -L "$path" "$stage/$soname"
  done < <(ldd "$stage/libfednl.so" | awk '$2 == "=>" { print $1, $3 }')
  local lib
  for lib in "$stage"/*.so*; do
    chmod u+w "$lib"
    patchelf --set-rpath '$ORIGIN' "$lib"
  done
  printf '%s\n' "$stage/"
}

pack_packages() {
  local stage out="$root/build/packages"
  stage="$(bundle_native)"
  rm -rf "$out"
  log "packages -> ${out#$root/}"
  local project
  for project in managed/Fednl/Fednl.csproj managed/Fednl.Network/Fednl.Network.csproj managed/Fednl.Cli/Fednl.Cli.csproj; do
    dotnet pack "$project" -c Release -nologo -v quiet -clp:ErrorsOnly -o "$out" \
      -p:FednlNativeDir="$root/build/native/lib/" -p:FednlBundleDir="$stage"
  done
  ls -l "$out" >&2
}

# --- 4. Tests -----------------------------------------------------------------------------------------------
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
  last_counts="$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
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
    last_counts="0 passed, 1 failed, 0 skipped"
    return
  fi
  local counts passed failed skipped
  counts="$(summarize_trx "$trx" | head -1)"
  read -r passed failed skipped <<<"$counts"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
  last_counts="$passed passed, $failed failed, $skipped skipped"
  if [ "$skipped" != 0 ]; then
    echo "Tests that did not run (real-data tests need FEDNL_DATA=<folder with w8a, a9a, phishing>):" >&2
    summarize_trx "$trx" | tail -n +2 >&2
  fi
}

# summarize_trx FILE: first line "PASSED FAILED SKIPPED" counted from the results themselves (the trx
# <Counters> says notExecuted="0" even when results are NotExecuted), then "  - NAME: WHY" per skipped test.
# Outcomes other than Passed and NotExecuted (Failed, Error, Timeout, Aborted, ...) count as failed.
summarize_trx() {
  awk '
    function unescape(s) { gsub(/&quot;/, "\"", s); gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&apos;/, "\047", s); gsub(/&amp;/, "\\&", s); return s }
    /<UnitTestResult / {
      name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
      outcome = $0; sub(/.*outcome="/, "", outcome); sub(/".*/, "", outcome)
      if (outcome == "Passed") passed++
      else if (outcome == "NotExecuted") { skipped++; pending = unescape(name); list[skipped] = "  - " pending }
      else failed++
      next
    }
    pending != "" && /<Message>/ {
      why = $0; sub(/.*<Message>/, "", why); sub(/<\/Message>.*/, "", why)
      list[skipped] = list[skipped] ": " unescape(why); pending = ""
    }
    /<\/UnitTestResult>/ { pending = "" }
    END {
      printf "%d %d %d\n", passed, failed, skipped
      for (i = 1; i <= skipped; i++) print list[i]
    }' "$1"
}

if [ "$command_name" = summarize-trx ]; then
  [ -f "${extra_args[0]}" ] || { echo "error: no such file: ${extra_args[0]}" >&2; exit 1; }
  summarize_trx "${extra_args[0]}"
  exit 0
fi

# A relative FEDNL_DATA means the folder as seen from where this script was run, not from the test host.
if [ -n "${FEDNL_DATA:-}" ]; then
  if [ -d "$FEDNL_DATA" ]; then
    FEDNL_DATA="$(cd "$FEDNL_DATA" && pwd)"
    export FEDNL_DATA
  else
    echo "error: FEDNL_DATA=$FEDNL_DATA is not a folder (seen from $PWD)" >&2
    exit 1
  fi
fi
cd "$root"

ensure_packages
restore_managed
build_native "build/native"
build_managed
publish_cli
write_launcher

case "$command_name" in
  build)
    log "done: ./fednl --help"
    ;;
  pack)
    pack_packages
    ;;
  bench)
    dotnet run -c Release --project managed/Fednl.Benchmarks -p:FednlNativeDir="$root/build/native/lib/" -- "${extra_args[@]}"
    ;;
  test)
    pack_packages
    run_ctest "build/native" "reference, AVX2 and AVX-512 variants"
    native_counts="$last_counts"
    build_native "build/native-sanitize" -DFEDNL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    run_ctest "build/native-sanitize" "ASan + UBSan"
    sanitize_counts="$last_counts"
    run_managed_tests
    # build.ps1 prints the same line without the sanitizer part; .ci/run compares the two.
    echo "counts: native $native_counts; managed $last_counts; sanitize $sanitize_counts" >&2
    if [ "$total_skipped" -gt 0 ]; then
      echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
    else
      echo "$total_passed passed, $total_failed failed"
    fi
    [ "$total_failed" -eq 0 ]
    ;;
esac
