# Twin of build.sh in PowerShell (Windows, or Linux with pwsh): builds the native kernel (CMake) and the managed
# solution (dotnet), and leaves fednl.cmd (Windows) or fednl (Linux) at the repository root.
#
#   ./build.ps1                 build everything (Release)
#   ./build.ps1 test            build and pack, then run native (CTest) and managed (NUnit) tests; ends "N passed, N failed"
#   ./build.ps1 pack            build, then write the Fednl and Fednl.Cli packages to build/packages/
#   ./build.ps1 bench ...       build, then run the kernel micro-benchmarks
#   ./build.ps1 -Help           usage
#
# Sanitizer builds stay with build.sh. CI runs this script on Linux under PowerShell 7 (dotnet-tools.json).
#
# OpenBLAS and LAPACKE: pass -OpenBLASRoot C:\path\to\openblas (a prefix with include\ and lib\), or set
# VCPKG_ROOT to use vcpkg's toolchain (vcpkg install openblas lapack-reference:x64-windows).
# The logic lives in native/CMakeLists.txt and the .csproj files; this script only sequences them.
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Position = 0)][string]$Command = 'build',
    [switch]$Help,
    [ValidateSet('Release', 'Debug')][string]$Configuration = 'Release',
    [string]$OpenBLASRoot = $env:OpenBLAS_ROOT,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$onWindows = [System.OperatingSystem]::IsWindows()

$usage = @'
usage: ./build.ps1 [build|test|pack|bench ARGS...|summarize-trx FILE] [-Configuration Release|Debug] [-OpenBLASRoot DIR]

  build              build the native kernel and the managed solution (the default)
  test               build and pack, then run the native and managed tests; the last line is "N passed, N failed"
  pack               build, then write the Fednl and Fednl.Cli packages to build/packages/
  bench ARGS...      build, then run the kernel micro-benchmarks with ARGS
  summarize-trx FILE print the counts of a managed test results file and the tests that did not run
  -Help              this text
'@
if ($Help -or $Command -in @('-h', '--help', 'help')) { Write-Output $usage; exit 0 }
if ($Command -notin @('build', 'test', 'pack', 'bench', 'summarize-trx') -or ($Rest.Count -gt 0 -and $Command -notin @('bench', 'summarize-trx'))) {
    $word = if ($Command -notin @('build', 'test', 'pack', 'bench', 'summarize-trx')) { $Command } else { $Rest[0] }
    [Console]::Error.WriteLine("error: unknown argument '$word'")
    [Console]::Error.WriteLine($usage)
    exit 2
}

# Counts of a managed test results file from the results themselves (the trx <Counters> says notExecuted="0"
# even when results are NotExecuted), and "NAME: WHY" for each test that did not run. Outcomes other than
# Passed and NotExecuted count as failed.
function Get-TrxSummary([string]$trx) {
    $ns = @{ t = 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010' }
    $summary = [ordered]@{ Passed = 0; Failed = 0; Skipped = 0; NotRun = @() }
    foreach ($node in (Select-Xml -Path $trx -XPath '//t:UnitTestResult' -Namespace $ns)) {
        $result = $node.Node
        switch ($result.outcome) {
            'Passed' { $summary.Passed++ }
            'NotExecuted' {
                $summary.Skipped++
                $why = $result.SelectSingleNode('.//*[local-name()="Message"]')
                $summary.NotRun += if ($why) { "$($result.testName): $($why.InnerText)" } else { $result.testName }
            }
            default { $summary.Failed++ }
        }
    }
    [pscustomobject]$summary
}

if ($Command -eq 'summarize-trx') {
    if ($Rest.Count -ne 1 -or -not (Test-Path -PathType Leaf $Rest[0])) { throw 'usage: build.ps1 summarize-trx FILE.trx' }
    $summary = Get-TrxSummary $Rest[0]
    Write-Output "$($summary.Passed) $($summary.Failed) $($summary.Skipped)"
    foreach ($line in $summary.NotRun) { Write-Output "  - $line" }
    exit 0
}

# A relative FEDNL_DATA means the folder as seen from where this script was run.
if ($env:FEDNL_DATA) {
    if (-not (Test-Path -PathType Container $env:FEDNL_DATA)) { throw "error: FEDNL_DATA=$($env:FEDNL_DATA) is not a folder (seen from $PWD)" }
    $env:FEDNL_DATA = (Resolve-Path $env:FEDNL_DATA).ProviderPath
}
Set-Location $root

function Require-Command([string]$name, [string]$hint) {
    if (-not (Get-Command $name -ErrorAction SilentlyContinue)) { throw "error: '$name' not found. $hint" }
}
Require-Command cmake 'Install CMake 3.20+ (winget install Kitware.CMake).'
Require-Command dotnet 'Install the .NET SDK 10.0 (winget install Microsoft.DotNet.SDK.10).'

Write-Host '==> NuGet packages'
$restore = (dotnet restore Fednl.slnx -nologo -v quiet 2>&1 | Out-String)
if ($LASTEXITCODE -eq 0) { $restore += (dotnet tool restore 2>&1 | Out-String) }
if ($LASTEXITCODE) {
    if ($restore -match 'NU1301|NU1101|NU1102|NU1103|Unable to load the service index') {
        $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { '~/.nuget/packages' }
        throw "error: the NuGet packages this build needs are not in the NuGet cache ($cache) and no NuGet feed is reachable; run the build once with network access (or copy a filled NuGet cache to this machine), then build offline"
    }
    Write-Host $restore
    throw 'dotnet restore failed'
}

$cmakeArgs = @('-S', 'native', '-B', 'build/native', "-DCMAKE_BUILD_TYPE=$Configuration")
if ($OpenBLASRoot) { $cmakeArgs += @("-DOpenBLAS_ROOT=$OpenBLASRoot", "-DLAPACKE_ROOT=$OpenBLASRoot") }
if ($env:VCPKG_ROOT) { $cmakeArgs += "-DCMAKE_TOOLCHAIN_FILE=$env:VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" }
$jobs = [Environment]::ProcessorCount

Write-Host '==> native kernel -> build/native'
cmake @cmakeArgs | Out-Null
if ($LASTEXITCODE) { throw 'CMake configure failed' }
cmake --build build/native --config $Configuration --parallel $jobs | Out-Null
if ($LASTEXITCODE) { throw 'native build failed' }
# Multi-config generators (Visual Studio) put the DLL one folder deeper; the managed build wants it in lib/.
$nativeDir = Join-Path $root 'build/native/lib/'
$nested = Join-Path $nativeDir "$Configuration/fednl.dll"
if (Test-Path $nested) { Copy-Item (Join-Path $nativeDir "$Configuration/*") $nativeDir -Force }

Write-Host "==> managed solution ($Configuration)"
dotnet build Fednl.slnx --no-restore -c $Configuration -nologo -v quiet -clp:ErrorsOnly "-p:FednlNativeDir=$nativeDir"
if ($LASTEXITCODE) { throw 'managed build failed' }

if ($onWindows) {
    Set-Content -Path (Join-Path $root 'fednl.cmd') -Value "@dotnet `"%~dp0managed\Fednl.Cli\bin\$Configuration\net10.0\Fednl.Cli.dll`" %*"
}

# libfednl.so and every shared library it needs beyond the C runtime, with RUNPATH $ORIGIN (as build.sh does).
# On Windows: fednl.dll and the DLLs beside OpenBLAS (not built or tested here).
function Write-NativeBundle {
    if ($onWindows) {
        $stage = Join-Path $root 'build/native-bundle/win-x64'
        if (Test-Path $stage) { Remove-Item $stage -Recurse -Force }
        New-Item -ItemType Directory $stage | Out-Null
        Copy-Item (Join-Path $nativeDir 'fednl.dll') $stage
        if ($OpenBLASRoot) { Copy-Item (Join-Path $OpenBLASRoot 'bin/*.dll') $stage }
        return "$stage\"
    }
    $stage = Join-Path $root 'build/native-bundle/linux-x64'
    Write-Host "==> native bundle -> build/native-bundle/linux-x64"
    Require-Command patchelf 'Packing needs patchelf (apt-get install -y patchelf).'
    if (Test-Path $stage) { Remove-Item $stage -Recurse -Force }
    New-Item -ItemType Directory $stage | Out-Null
    Copy-Item (Join-Path $nativeDir 'libfednl.so') $stage
    foreach ($line in (ldd (Join-Path $stage 'libfednl.so'))) {
        if ($line -notmatch '^\s*(\S+)\s+=>\s+(\S+)') { continue }
        $soname = $Matches[1]; $path = $Matches[2]
        if ($soname -match '^(libc|libm|libpthread|libdl|librt|libgcc_s|libstdc\+\+)\.so|^ld-linux|^linux-vdso') { continue }
        if (-not (Test-Path $path)) { throw "error: $soname, which libfednl.so needs, was not found" }
        Copy-Item (Get-Item $path).ResolvedTarget (Join-Path $stage $soname)
    }
    foreach ($lib in (Get-ChildItem $stage)) {
        patchelf --set-rpath '$ORIGIN' $lib.FullName
        if ($LASTEXITCODE) { throw "patchelf failed on $($lib.Name)" }
    }
    return "$stage/"
}

function Write-Packages {
    $stage = Write-NativeBundle
    $out = Join-Path $root 'build/packages'
    if (Test-Path $out) { Remove-Item $out -Recurse -Force }
    Write-Host '==> packages -> build/packages'
    foreach ($project in @('managed/Fednl/Fednl.csproj', 'managed/Fednl.Network/Fednl.Network.csproj', 'managed/Fednl.Cli/Fednl.Cli.csproj')) {
        dotnet pack $project -c Release -nologo -v quiet -clp:ErrorsOnly -o $out "-p:FednlNativeDir=$nativeDir" "-p:FednlBundleDir=$stage"
        if ($LASTEXITCODE) { throw "dotnet pack $project failed" }
    }
    Get-ChildItem $out | ForEach-Object { Write-Host "  $($_.Name) $($_.Length)" }
}

switch ($Command) {
    'build' { Write-Host $(if ($onWindows) { '==> done: .\fednl.cmd --help' } else { '==> done (./fednl comes from build.sh)' }) }
    'pack' { Write-Packages }
    'bench' { dotnet run -c Release --project managed/Fednl.Benchmarks "-p:FednlNativeDir=$nativeDir" -- @Rest }
    'test' {
        Write-Packages
        Write-Host '==> native tests'
        Push-Location build/native
        $ctest = ctest -C $Configuration -j $jobs --output-on-failure 2>&1 | Out-String
        Pop-Location
        ($ctest -split "`n") | Where-Object { $_ -match 'tests passed|\*\*\*Failed|\*\*\*Skipped|Not Run' } | ForEach-Object { Write-Host $_ }
        $native = [ordered]@{ Passed = 0; Failed = 1; Skipped = 0 }
        if ($ctest -match '(\d+) tests failed out of (\d+)') {
            $skippedNative = ([regex]::Matches($ctest, '\*\*\*Skipped')).Count
            $native = [ordered]@{ Passed = [int]$Matches[2] - [int]$Matches[1] - $skippedNative; Failed = [int]$Matches[1]; Skipped = $skippedNative }
        } else { Write-Host $ctest; Write-Host 'error: ctest produced no summary' }

        Write-Host '==> managed tests (NUnit)'
        $results = Join-Path $root 'build/test-results-ps'
        if (Test-Path $results) { Remove-Item $results -Recurse -Force }
        dotnet test tests/Fednl.Tests/Fednl.Tests.csproj -c $Configuration --no-build -nologo `
            --logger 'trx;LogFileName=managed.trx' --logger 'console;verbosity=minimal' --results-directory $results | Out-Host
        $trx = Join-Path $results 'managed.trx'
        $managed = [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0; NotRun = @() }
        if (Test-Path $trx) { $managed = Get-TrxSummary $trx } else { Write-Host "error: the managed test run left no results ($trx)" }
        if ($managed.Skipped) {
            Write-Host 'Tests that did not run (real-data tests need FEDNL_DATA=<folder with w8a, a9a, phishing>):'
            foreach ($line in $managed.NotRun) { Write-Host "  - $line" }
        }
        Write-Host "counts: native $($native.Passed) passed, $($native.Failed) failed, $($native.Skipped) skipped; managed $($managed.Passed) passed, $($managed.Failed) failed, $($managed.Skipped) skipped"
        $passed = $native.Passed + $managed.Passed; $failed = $native.Failed + $managed.Failed; $skipped = $native.Skipped + $managed.Skipped
        if ($skipped) { Write-Output "$passed passed, $failed failed, $skipped skipped" }
        else { Write-Output "$passed passed, $failed failed" }
        if ($failed) { exit 1 }
    }
}
