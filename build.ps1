# Windows twin of build.sh: builds the native kernel (CMake) and the managed solution (dotnet), and leaves
# fednl.cmd at the repository root.
#
#   .\build.ps1                 build everything (Release)
#   .\build.ps1 test            build, then run native (CTest) and managed (NUnit) tests; ends "N passed, N failed"
#   .\build.ps1 bench ...       build, then run the kernel micro-benchmarks
#
# OpenBLAS and LAPACKE: pass -OpenBLASRoot C:\path\to\openblas (a prefix with include\ and lib\), or set
# VCPKG_ROOT to use vcpkg's toolchain (vcpkg install openblas lapack-reference:x64-windows).
# The logic lives in native/CMakeLists.txt and the .csproj files; this script only sequences them.
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Position = 0)][ValidateSet('build', 'test', 'bench', 'summarize-trx')][string]$Command = 'build',
    [ValidateSet('Release', 'Debug')][string]$Configuration = 'Release',
    [string]$OpenBLASRoot = $env:OpenBLAS_ROOT,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot

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

$cmakeArgs = @('-S', 'native', '-B', 'build/native', "-DCMAKE_BUILD_TYPE=$Configuration")
if ($OpenBLASRoot) { $cmakeArgs += @("-DOpenBLAS_ROOT=$OpenBLASRoot", "-DLAPACKE_ROOT=$OpenBLASRoot") }
if ($env:VCPKG_ROOT) { $cmakeArgs += "-DCMAKE_TOOLCHAIN_FILE=$env:VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" }

Write-Host '==> native kernel -> build/native'
cmake @cmakeArgs | Out-Null
if ($LASTEXITCODE) { throw 'CMake configure failed' }
cmake --build build/native --config $Configuration --parallel | Out-Null
if ($LASTEXITCODE) { throw 'native build failed' }
# Multi-config generators (Visual Studio) put the DLL one folder deeper; the managed build wants it in lib/.
$nativeDir = Join-Path $root 'build/native/lib/'
$nested = Join-Path $nativeDir "$Configuration/fednl.dll"
if (Test-Path $nested) { Copy-Item (Join-Path $nativeDir "$Configuration/*") $nativeDir -Force }

Write-Host "==> managed solution ($Configuration)"
dotnet build Fednl.slnx -c $Configuration -nologo -v quiet -clp:ErrorsOnly "-p:FednlNativeDir=$nativeDir"
if ($LASTEXITCODE) { throw 'managed build failed' }

Set-Content -Path (Join-Path $root 'fednl.cmd') -Value "@dotnet `"$root\managed\Fednl.Cli\bin\$Configuration\net10.0\Fednl.Cli.dll`" %*"

switch ($Command) {
    'build' { Write-Host '==> done: .\fednl.cmd --help' }
    'bench' { dotnet run -c Release --project managed/Fednl.Benchmarks "-p:FednlNativeDir=$nativeDir" -- @Rest }
    'test' {
        $passed = 0; $failed = 0; $skipped = 0
        Push-Location build/native
        $ctest = ctest -C $Configuration --output-on-failure 2>&1 | Out-String
        Pop-Location
        Write-Host $ctest
        if ($ctest -match '(\d+) tests failed out of (\d+)') {
            $failed += [int]$Matches[1]; $passed += [int]$Matches[2] - [int]$Matches[1]
        } else { $failed += 1 }
        $results = Join-Path $root 'build/test-results'
        if (Test-Path $results) { Remove-Item $results -Recurse -Force }
        dotnet test tests/Fednl.Tests/Fednl.Tests.csproj -c $Configuration --no-build -nologo `
            --logger 'trx;LogFileName=managed.trx' --results-directory $results
        $trx = Join-Path $results 'managed.trx'
        if (Test-Path $trx) {
            $summary = Get-TrxSummary $trx
            $passed += $summary.Passed; $failed += $summary.Failed; $skipped += $summary.Skipped
            if ($summary.Skipped) {
                Write-Host 'Tests that did not run (real-data tests need FEDNL_DATA=<folder with w8a, a9a, phishing>):'
                foreach ($line in $summary.NotRun) { Write-Host "  - $line" }
            }
        } else { $failed += 1 }
        if ($skipped) { Write-Output "$passed passed, $failed failed, $skipped skipped" }
        else { Write-Output "$passed passed, $failed failed" }
        if ($failed) { exit 1 }
    }
}
