#!/usr/bin/env python3
"""Query benchmark: SOQL results from the Salesforce emulator into a CSV file, at 0 ms and at 50 ms
of added latency per response (`oauth-desk-emulator --latency-ms`), by

  oauth-desk (REST, Bulk API 2.0, auto)      the whole CLI process
  jsforce    (REST queryMore loop, bulk2.query)  whole node processes
  sf data query / sf data export bulk        the Salesforce CLI
  floor                                      one keep-alive connection reading the pages, nothing parsed

for 100k rows narrow (Id, Name), 100k rows wide (20 columns with Owner.Name, Parent.Name) and
1M rows narrow; medians, ratios against oauth-desk and peak RSS. Also: peak memory of
`oauth-desk query` from 10k to 1M rows, and commands that make no request (`oauth-desk token`).

Run it through bench/run.sh, which builds, installs the peers and provides a keyring.
  BENCH_RUNS=3 (default)   BENCH_QUICK=1 (100k narrow at 0 ms only)"""
import json, os, pathlib, shutil, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release"
NODE_BIN = ROOT / "bench" / "node_modules" / ".bin"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
QUICK = os.environ.get("BENCH_QUICK") == "1"
MAX_ROWS = 1_000_000
# Every 50th emulated account is deleted; this many accounts leave MAX_ROWS live ones.
ACCOUNTS = next(n for n in range(MAX_ROWS, MAX_ROWS * 2) if n - n // 50 == MAX_ROWS)
BULK_PROCESSING_MS = 1000
NARROW = ["Id", "Name"]
WIDE = ["Id", "Name", "Type", "ParentId", "Industry", "AnnualRevenue", "NumberOfEmployees", "Phone", "Website", "Description",
        "BillingCity", "BillingCountry", "OwnerId", "CreatedDate", "LastModifiedDate", "IsDeleted", "Owner.Name", "Owner.Email",
        "Parent.Name", "Parent.Industry"]
CLIENT_ID, CLIENT_SECRET = "3MVG9EMULATOR.consumer.key", "EMULATOR0CONSUMER0SECRET"

# (label, rows, columns, which tools) — `sf data query` holds every record in memory and takes
# minutes at 1M rows, so it runs at 100k only.
SCENARIOS = [
    ("100k narrow", 100_000, NARROW, "all"),
    ("100k wide", 100_000, WIDE, "all"),
    ("1M narrow", 1_000_000, NARROW, "no-sf-rest"),
]
LATENCIES = [0, 50]
if QUICK:
    SCENARIOS, LATENCIES = SCENARIOS[:1], [0]


def soql(columns, rows):
    return f"SELECT {', '.join(columns)} FROM Account" + ("" if rows >= MAX_ROWS else f" LIMIT {rows}")


def timed(cmd, env=None, stdout=None):
    """Wall seconds (perf_counter around the whole process, under GNU time) and peak RSS in MiB
    (GNU time's, which forks a small process: a Python child would start with Python's RSS)."""
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%M", *cmd], env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        wall = time.perf_counter() - start
        if p.returncode != 0:
            sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stderr[-2000:]}")
        return wall, int(t.read().split()[-1]) / 1024, p


def count_rows(path):
    """CSV records (a quoted line break is not a record end), and whether the file is valid UTF-8."""
    import csv
    data = pathlib.Path(path).read_bytes()
    try:
        text, valid = data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        text, valid = data.decode("utf-8-sig", errors="replace"), False
    return sum(1 for _ in csv.reader(text.splitlines(keepends=True))) - 1, valid


class Emulator:
    def __init__(self, latency_ms):
        self.p = subprocess.Popen([str(BIN / "oauth-desk-emulator"), "salesforce", "--accounts", str(ACCOUNTS), "--latency-ms", str(latency_ms),
                                   "--bulk-processing-ms", str(BULK_PROCESSING_MS)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base = self.p.stdout.readline().split()[1]

    def stop(self):
        self.p.terminate()
        self.p.wait()


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="oauth-desk-bench-"))
    emulators = {ms: Emulator(ms) for ms in LATENCIES}
    try:
        run(work, emulators)
    finally:
        for e in emulators.values():
            e.stop()
        shutil.rmtree(work, ignore_errors=True)


def setup(work, base, latency):
    """An oauth-desk profile and a Salesforce CLI org for this emulator; the access token."""
    form = urllib.parse.urlencode({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": "ada@example.com",
                                   "password": "Passw0rd!SECTOKEN42"}).encode()
    token = json.load(urllib.request.urlopen(f"{base}/services/oauth2/token", form))["access_token"]
    env = dict(os.environ, OAUTH_DESK_DATA_DIR=str(work / f"desk-{latency}"), OAUTH_DESK_KEYRING_SERVICE=f"oauth-desk-bench-{os.getpid()}-{latency}")
    desk = str(BIN / "oauth-desk")
    subprocess.run([desk, "profile", "add", "bench", "--kind", "salesforce", "--login", base, "--client-id", CLIENT_ID, "--username", "ada@example.com",
                    "--client-secret-stdin"], input=CLIENT_SECRET + "\n", env=env, check=True, capture_output=True, text=True)
    subprocess.run([desk, "login", "password", "bench", "--password-stdin", "--security-token-stdin"], input="Passw0rd!\nSECTOKEN42\n", env=env,
                   check=True, capture_output=True, text=True)
    sf_env = dict(os.environ, HOME=str(work / f"sf-home-{latency}"), PATH=f"{NODE_BIN}:{os.environ['PATH']}", SF_ACCESS_TOKEN=token,
                  SF_ORG_MAX_QUERY_LIMIT=str(MAX_ROWS * 2), SF_DISABLE_TELEMETRY="true", SF_AUTOUPDATE_DISABLE="true", SF_DISABLE_AUTOUPDATE="true",
                  SF_SKIP_NEW_VERSION_CHECK="true", SFDX_DISABLE_TELEMETRY="true", SF_USE_PROGRESS_BAR="false")
    login = subprocess.run([str(NODE_BIN / "sf"), "org", "login", "access-token", "--instance-url", base, "--alias", "bench", "--no-prompt"], env=sf_env,
                           capture_output=True, text=True)
    if login.returncode != 0:
        sys.exit(f"sf org login access-token failed:\n{login.stdout[-1500:]}\n{login.stderr[-1500:]}")
    return token, env, sf_env


def tools(base, token, env, sf_env, query, columns, out, which):
    """(name, command, env, stdout file or None) for every tool of a scenario."""
    desk = str(BIN / "oauth-desk")
    desk_cmd = [desk, "query", "bench", query, "--format", "csv", "--batch-size", "2000", "--out", str(out), "--quiet"]
    t = [
        ("oauth-desk REST", desk_cmd + ["--api", "rest"], env, None),
        ("oauth-desk Bulk 2.0", desk_cmd + ["--api", "bulk"], env, None),
        ("oauth-desk auto", desk_cmd, env, None),
        ("jsforce queryMore", ["node", str(ROOT / "bench" / "jsforce-query.mjs"), base, token, query, str(out), ",".join(columns)], None, None),
        ("jsforce bulk2.query", ["node", str(ROOT / "bench" / "jsforce-bulk2.mjs"), base, token, query, str(out)], None, None),
    ]
    if which == "all":
        t.append(("sf data query", [str(NODE_BIN / "sf"), "data", "query", "--query", query, "--target-org", "bench", "--result-format", "csv"], sf_env, out))
    t.append(("sf data export bulk", [str(NODE_BIN / "sf"), "data", "export", "bulk", "--query", query, "--target-org", "bench", "--output-file", str(out),
                                       "--result-format", "csv", "--wait", "30", "--api-version", "62.0"], sf_env, None))
    t.append(("floor (keep-alive loop, no parsing)", [str(BIN / "query-floor"), base, token, query, "2000"], None, None))
    return t


def run(work, emulators):
    results = {}  # (scenario, latency) -> {tool: [seconds]}
    rss = {}
    identical = {}
    wrong = {}  # (scenario, latency) -> {tool: {what was wrong}}
    for latency, emu in emulators.items():
        token, env, sf_env = setup(work, emu.base, latency)
        for label, rows, columns, which in SCENARIOS:
            query = soql(columns, rows)
            key = (label, latency)
            results[key], rss[key] = {}, {}
            outputs = {}
            for i in range(RUNS):
                for name, cmd, tool_env, stdout_path in tools(emu.base, token, env, sf_env, query, columns, work / "out.csv", which):
                    out = work / "out.csv"
                    out.unlink(missing_ok=True)
                    if stdout_path:
                        with open(stdout_path, "w") as f:
                            wall, mib, _ = timed(cmd, env=tool_env, stdout=f)
                    else:
                        wall, mib, _ = timed(cmd, env=tool_env)
                    if not name.startswith("floor"):
                        n, valid = count_rows(out)
                        # oauth-desk must be exact; a peer's wrong output is reported, not fatal.
                        if name.startswith("oauth-desk"):
                            assert n == rows and valid, f"{name} wrote {n} rows, not {rows} ({label}, {latency} ms)"
                        if n != rows or not valid:
                            what = f"{n:,} rows of {rows:,}" + ("" if valid else ", invalid UTF-8")
                            wrong.setdefault(key, {}).setdefault(name, set()).add(what)
                    if name.startswith("oauth-desk") and i == 0:
                        outputs[name] = out.read_bytes()
                    results[key].setdefault(name, []).append(wall)
                    rss[key].setdefault(name, []).append(mib)
                print(f"{label}, {latency} ms: run {i + 1}/{RUNS} done", file=sys.stderr)
            first = next(iter(outputs.values()))
            identical[key] = all(o == first for o in outputs.values())
            assert identical[key], f"oauth-desk's REST, Bulk and auto outputs differ ({label}, {latency} ms)"

    # Peak memory of the REST path from 10k to 1M rows (0 ms latency).
    token, env, _ = setup(work, emulators[LATENCIES[0]].base, "mem")
    memory = {}
    for rows in ([10_000, 100_000] if QUICK else [10_000, 100_000, 1_000_000]):
        for label, columns in (("narrow", NARROW), ("wide", WIDE)):
            if rows == 1_000_000 and label == "wide" and QUICK:
                continue
            cmd = [str(BIN / "oauth-desk"), "query", "bench", soql(columns, rows), "--format", "csv", "--api", "rest", "--out", str(work / "m.csv"), "--quiet"]
            memory[(rows, label)] = statistics.median(timed(cmd, env=env)[1] for _ in range(RUNS))

    # Commands that make no request: the whole process, median of 21.
    quick_cmds = {"oauth-desk token": [str(BIN / "oauth-desk"), "token", "bench"], "oauth-desk status": [str(BIN / "oauth-desk"), "status"],
                  "oauth-desk profile list": [str(BIN / "oauth-desk"), "profile", "list"]}
    local = {}
    for name, cmd in quick_cmds.items():
        # Timed directly (GNU time's own fork and exec would add about 1.5 ms).
        runs = []
        for _ in range(21):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            runs.append(time.perf_counter() - start)
        local[name] = statistics.median(runs)
    report(results, rss, identical, memory, local, wrong)


def fmt_s(s):
    return f"{s:.2f} s" if s >= 0.1 else f"{s * 1000:.0f} ms"


def report(results, rss, identical, memory, local, wrong):
    lines = [f"SOQL into a CSV file from the Salesforce emulator (pages of 2000; Bulk API 2.0 results of 50,000 rows, {BULK_PROCESSING_MS} ms job "
             f"processing); whole processes, median of {RUNS} runs, all in one run. Ratio: the tool's time over oauth-desk's REST, Bulk or "
             f"auto time as named.", ""]
    for (label, latency), by_tool in results.items():
        med = {k: statistics.median(v) for k, v in by_tool.items()}
        rest, bulk = med["oauth-desk REST"], med["oauth-desk Bulk 2.0"]
        floor = med["floor (keep-alive loop, no parsing)"]
        lines += [f"**{label}, {latency} ms latency** (REST vs floor: {rest / floor:.2f}x)", "",
                  "| tool | median | vs oauth-desk REST | vs oauth-desk Bulk 2.0 | peak RSS | output |", "|---|---:|---:|---:|---:|---|"]
        for k, v in med.items():
            peak = statistics.median(rss[(label, latency)][k])
            bad = "; ".join(sorted(wrong.get((label, latency), {}).get(k, ())))
            lines.append(f"| {k} | {fmt_s(v)} | {v / rest:.2f}x | {v / bulk:.2f}x | {peak:.0f} MiB | {('wrong output: ' + bad) if bad else ''} |")
        lines += ["", f"oauth-desk REST, Bulk and auto wrote byte-identical files: {'yes' if identical[(label, latency)] else 'NO'}.", ""]
    lines += ["**Peak memory of `oauth-desk query --api rest`** (0 ms, median of runs):", "", "| rows | narrow | wide |", "|---:|---:|---:|"]
    for rows in sorted({r for r, _ in memory}):
        n, w = memory.get((rows, "narrow")), memory.get((rows, "wide"))
        lines.append(f"| {rows:,} | {n:.1f} MiB | " + (f"{w:.1f} MiB |" if w else "– |"))
    lines += ["", "**Commands that make no request** (whole process, median of 21):", "", "| command | median |", "|---|---:|"]
    for k, v in local.items():
        lines.append(f"| `{k}` | {v * 1000:.1f} ms |")
    text = "\n".join(lines)
    print(text)
    outdir = ROOT / "bench" / "out"
    outdir.mkdir(exist_ok=True)
    (outdir / "query.md").write_text(text + "\n")
    (outdir / "query.json").write_text(json.dumps({
        "runs": {f"{k[0]} @ {k[1]} ms": v for k, v in results.items()},
        "rss_mib": {f"{k[0]} @ {k[1]} ms": v for k, v in rss.items()},
        "memory_mib": {f"{r} {c}": v for (r, c), v in memory.items()},
        "local_s": local,
    }, indent=2))


if __name__ == "__main__":
    main()
