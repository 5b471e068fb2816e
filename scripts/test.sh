#!/usr/bin/env bash
# Runs the whole test suite the way CI does and ends with one line:
#   tests: N passed, N failed, N skipped
# Installs what the tests need when it is missing (Debian's chromium for the browser tests, prometheus,
# yamllint, postgresql-15, python3 to read the result files, jmeter + jmeter-http and a JDK, libhdrhistogram-java; s3rver from npm) and starts s3rver and a
# throwaway PostgreSQL on loopback for the tests that need them. Every target the tests load — Kestrel
# servers, SpinService processes — runs in-process or is started by the tests on loopback.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "test.sh: $* missing and not root: the tests that need it are skipped" >&2
    return 0
  fi
  if [ $apt_updated = 0 ]; then apt-get update -q >/dev/null; apt_updated=1; fi
  echo "test.sh: installing $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET SDK (dotnet) is not on PATH" >&2
  exit 1
fi
command -v python3 >/dev/null 2>&1 || apt_install python3
[ -x /usr/bin/chromium ] || apt_install chromium
# Prometheus: a real server scraping SpinService in the observer's Prometheus test (started by that test).
command -v prometheus >/dev/null 2>&1 || apt_install prometheus
# yamllint: the infra manifests and plans are linted by a test.
command -v yamllint >/dev/null 2>&1 || apt_install yamllint
# JMeter: the import-jmx comparison test runs the same .jmx in Debian's JMeter (launched through javac's
# source-file mode, hence the JDK) and in Constellation. Its HTTP sampler is the separate jmeter-http, only a
# Recommends of jmeter: without it JMeter 2.13 cannot load the plan, yet exits 0.
[ -f /usr/share/jmeter/bin/ApacheJMeter.jar ] && [ -f /usr/share/jmeter/lib/ext/ApacheJMeter_http.jar ] || apt_install jmeter jmeter-http
command -v javac >/dev/null 2>&1 || apt_install openjdk-17-jdk-headless
# HdrHistogram's own Java log tools read the run journal's interval logs in a test (the format's reference reader).
[ -f /usr/share/java/hdrhistogram.jar ] || apt_install libhdrhistogram-java

cleanups=()
cleanup() { for c in "${cleanups[@]}"; do eval "$c"; done; }
trap cleanup EXIT

# s3rver: a real S3-compatible server on loopback for the S3 store's tests.
tools="$root/artifacts/tools"
if [ ! -x "$tools/node_modules/.bin/s3rver" ]; then
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if command -v npm >/dev/null 2>&1; then
    echo "test.sh: installing s3rver (npm) into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error s3rver@3.7.1 >/dev/null 2>&1 || echo "test.sh: could not install s3rver; the S3 tests are skipped" >&2
  fi
fi
if [ -x "$tools/node_modules/.bin/s3rver" ]; then
  s3port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  s3dir=$(mktemp -d /tmp/constellation-s3rver.XXXXXX)
  "$tools/node_modules/.bin/s3rver" --directory "$s3dir" --address 127.0.0.1 --port "$s3port" --configure-bucket constellation-test --silent >"$s3dir.log" 2>&1 &
  s3pid=$!
  cleanups+=("kill $s3pid 2>/dev/null; wait $s3pid 2>/dev/null; rm -rf '$s3dir' '$s3dir.log'")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && break; sleep 0.1; done
  export CONSTELLATION_TEST_S3_ENDPOINT="http://127.0.0.1:$s3port"
fi

# PostgreSQL: a throwaway cluster on loopback (initdb + pg_ctl, about a second) for the service's Hangfire
# storage and its restart-recovery test. initdb refuses root, so as root it runs as the postgres user.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ]; then
  apt_install postgresql-15
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -n "$pgbin" ]; then
  pgdir=$(mktemp -d /tmp/constellation-pg.XXXXXX)
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as=()
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then chown postgres "$pgdir"; as=(runuser -u postgres --); fi
  if "${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >"$pgdir.log" 2>&1 \
     && "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir" -l "$pgdir/server.log" -w start >>"$pgdir.log" 2>&1; then
    export CONSTELLATION_TEST_POSTGRES="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=postgres"
    cleanups+=("${as[*]} '$pgbin/pg_ctl' -D '$pgdir/data' -m immediate stop >/dev/null 2>&1; rm -rf '$pgdir' '$pgdir.log'")
  else
    echo "test.sh: could not start PostgreSQL (see $pgdir.log); the PostgreSQL tests are skipped" >&2
  fi
fi

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# No test may reach beyond loopback: the AWS SDK must never look for EC2's instance metadata (169.254.169.254).
export AWS_EC2_METADATA_DISABLED=true
dotnet build Constellation.sln -c Debug --nologo -v q -clp:ErrorsOnly
build=$?
if [ $build -ne 0 ]; then
  echo "tests: 0 passed, 1 failed, 0 skipped"
  exit $build
fi

# One test assembly at a time: the engine and end-to-end tests measure timing on a 2-core machine.
dotnet test Constellation.sln -c Debug --no-build --nologo -m:1 \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  -- RunConfiguration.TestSessionTimeout=1200000
status=$?

python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
files = glob.glob(sys.argv[1] + "/**/*.trx", recursive=True)
for f in files:
    root = ET.parse(f).getroot()
    # Name every failed test with the first lines of its message, next to the count, so a CI log's tail says what broke.
    for r in root.iterfind("t:Results/t:UnitTestResult", ns):
        if r.get("outcome") in ("Failed", "Error", "Timeout", "Aborted"):
            m = r.find("t:Output/t:ErrorInfo/t:Message", ns)
            text = " ".join((m.text or "").split()) if m is not None else ""
            print(f"FAILED {r.get('testName')}: {text[:600]}")
    c = root.find("t:ResultSummary/t:Counters", ns)
    if c is None:
        continue
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
if not files:
    failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
