#!/usr/bin/env python3
"""Query benchmark: 100,000 Account rows, pages of 2000, from the Salesforce emulator into a CSV
file, by `oauth-desk query` (the whole CLI process), jsforce (a queryMore loop, timed in-process)
and the Salesforce CLI (`sf data query`), in the same run. Reports medians, ratios and peak RSS.
Run it through bench/run.sh, which builds, installs the peers and provides a keyring."""
import json, os, pathlib, shutil, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
RECORD_RUNS = int(os.environ.get("BENCH_RECORD_RUNS", "11"))
ROWS = 100_000
# Every 50th emulated account is deleted; this many accounts leave exactly ROWS live ones.
ACCOUNTS = next(n for n in range(ROWS, ROWS * 2) if n - n // 50 == ROWS)
COLUMNS = ["Id", "Name", "Industry", "AnnualRevenue", "NumberOfEmployees", "BillingCity", "BillingCountry", "Owner.Name"]
SOQL = f"SELECT {', '.join(COLUMNS)} FROM Account"
CLIENT_ID, CLIENT_SECRET = "3MVG9EMULATOR.consumer.key", "EMULATOR0CONSUMER0SECRET"


def timed(cmd, env=None, stdout=None):
    """Wall seconds and peak RSS (MiB) of a whole process, by GNU time."""
    with tempfile.NamedTemporaryFile("r") as t:
        p = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%e %M", *cmd], env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stderr[-2000:]}")
        wall, rss_kib = t.read().split()[-2:]
        return float(wall), int(rss_kib) / 1024, p


def count_rows(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="oauth-desk-bench-"))
    emu = subprocess.Popen([str(BIN / "oauth-desk-emulator"), "salesforce", "--accounts", str(ACCOUNTS)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = emu.stdout.readline().split()[1]
    try:
        run(work, base)
    finally:
        emu.terminate()
        shutil.rmtree(work, ignore_errors=True)


def run(work, base):
    form = urllib.parse.urlencode({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": "ada@example.com", "password": "Passw0rd!SECTOKEN42"}).encode()
    token = json.load(urllib.request.urlopen(f"{base}/services/oauth2/token", form))
    env = dict(os.environ, OAUTH_DESK_DATA_DIR=str(work / "desk"), OAUTH_DESK_KEYRING_SERVICE=f"oauth-desk-bench-{os.getpid()}")
    desk = str(BIN / "oauth-desk")
    subprocess.run([desk, "profile", "add", "bench", "--kind", "salesforce", "--login", base, "--client-id", CLIENT_ID, "--username", "ada@example.com", "--client-secret-stdin"], input=CLIENT_SECRET + "\n", env=env, check=True, capture_output=True, text=True)
    subprocess.run([desk, "login", "password", "bench", "--password-stdin", "--security-token-stdin"], input="Passw0rd!\nSECTOKEN42\n", env=env, check=True, capture_output=True, text=True)

    sf_home = work / "sf-home"
    sf_env = dict(os.environ, HOME=str(sf_home), PATH=f"{ROOT / 'bench' / 'node_modules' / '.bin'}:{os.environ['PATH']}", SF_ACCESS_TOKEN=token["access_token"], SF_ORG_MAX_QUERY_LIMIT=str(ROWS * 2), SF_DISABLE_TELEMETRY="true",
                  SF_AUTOUPDATE_DISABLE="true", SF_DISABLE_AUTOUPDATE="true", SF_SKIP_NEW_VERSION_CHECK="true", SFDX_DISABLE_TELEMETRY="true", SF_USE_PROGRESS_BAR="false")
    sf = str(ROOT / "bench" / "node_modules" / ".bin" / "sf")
    login = subprocess.run([sf, "org", "login", "access-token", "--instance-url", base, "--alias", "bench", "--no-prompt"], env=sf_env, capture_output=True, text=True)
    if login.returncode != 0:
        sys.exit(f"sf org login access-token failed:\n{login.stdout[-1500:]}\n{login.stderr[-1500:]}")

    results = {"oauth-desk": [], "jsforce (in-process paging)": [], "jsforce (whole process)": [], "sf data query": []}
    rss = {k: [] for k in results}
    for i in range(RUNS):
        out = work / f"desk-{i}.csv"
        wall, mib, _ = timed([desk, "query", "bench", SOQL, "--format", "csv", "--batch-size", "2000", "--out", str(out), "--quiet"], env=env)
        assert count_rows(out) == ROWS, f"oauth-desk wrote {count_rows(out)} rows"
        results["oauth-desk"].append(wall); rss["oauth-desk"].append(mib)

        out = work / f"jsforce-{i}.csv"
        wall, mib, p = timed(["node", str(ROOT / "bench" / "jsforce-query.mjs"), base, token["access_token"], SOQL, str(out), ",".join(COLUMNS)])
        inproc = json.loads(p.stdout.strip().splitlines()[-1])
        assert inproc["rows"] == ROWS and count_rows(out) == ROWS
        results["jsforce (in-process paging)"].append(inproc["ms"] / 1000); results["jsforce (whole process)"].append(wall)
        rss["jsforce (whole process)"].append(mib)

        out = work / f"sf-{i}.csv"
        with open(out, "w") as f:
            wall, mib, _ = timed([sf, "data", "query", "--query", SOQL, "--target-org", "bench", "--result-format", "csv"], env=sf_env, stdout=f)
        assert count_rows(out) >= ROWS, f"sf wrote {count_rows(out)} rows"
        results["sf data query"].append(wall); rss["sf data query"].append(mib)
        print(f"run {i + 1}/{RUNS} done", file=sys.stderr)

    # The wire log: the same query with recording on (`--har`, which records every exchange and
    # writes them as HAR at the end) and off, alternating, more runs because the gap is small.
    rec = {"off": [], "on (--har)": []}
    for i in range(RECORD_RUNS):
        for mode in (rec if i % 2 == 0 else reversed(list(rec))):
            out = work / f"rec-{i}.csv"
            extra = ["--har", str(work / f"rec-{i}.har")] if mode != "off" else []
            wall, _, _ = timed([desk, "query", "bench", SOQL, "--format", "csv", "--batch-size", "2000", "--out", str(out), "--quiet", *extra], env=env)
            assert count_rows(out) == ROWS
            rec[mode].append(wall)
    rec_med = {k: statistics.median(v) for k, v in rec.items()}

    med = {k: statistics.median(v) for k, v in results.items()}
    desk_t = med["oauth-desk"]
    lines = [f"{ROWS:,} Account rows, {len(COLUMNS)} columns incl. Owner.Name, pages of 2000, CSV to a file; median of {RUNS} runs.", "",
             "| tool | median time | oauth-desk is faster by | peak RSS |", "|---|---:|---:|---:|"]
    for k in results:
        peak = f"{statistics.median(rss[k]):.0f} MiB" if rss[k] else "(same process)"
        ratio = "—" if k == "oauth-desk" else f"{med[k] / desk_t:.1f}x"
        lines.append(f"| {k} | {med[k]:.2f} s | {ratio} | {peak} |")
    lines += ["", f"Wire log, `oauth-desk query` alone, median of {RECORD_RUNS} alternating runs:", "",
              "| recording | median time | vs off |", "|---|---:|---:|"]
    for k, v in rec_med.items():
        lines.append(f"| {k} | {v:.3f} s | {v / rec_med['off']:.3f}x |")
    report = "\n".join(lines)
    print(report)
    outdir = ROOT / "bench" / "out"
    outdir.mkdir(exist_ok=True)
    (outdir / "query.md").write_text(report + "\n")
    (outdir / "query.json").write_text(json.dumps({"runs": results, "rss_mib": rss, "median_s": med, "recording_runs": rec, "recording_median_s": rec_med}, indent=2))


if __name__ == "__main__":
    main()
