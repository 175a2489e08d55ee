//! Throughput and memory benchmark (not a test: `cargo bench --bench throughput`).
//!
//! Imports N generated rows (2 groups each out of 20) into a sandbox with
//! latency and a rate limit, then validates a large generated file, and
//! prints each measure against its target. Options:
//! `--rows N` (2000), `--rate R` (100), `--latency-ms L` (50),
//! `--concurrency C` (none: it adapts), `--validate-rows M` (1000000; 0
//! skips it), `--export-users U` (100000; 0 skips the export case),
//! `--sweep-rows S` (1000; 0 skips the latency sweep: S new hires at 20,
//! 100, 300 and 500 ms of latency, default flags, limit `--rate`),
//! `--scale-users T` (100000; 0 skips the tenant-scale case: a tenant of T
//! users and a file of T rows, 10% of them moving department, planned and
//! imported at `--scale-rate` (3000) requests/s with 10 ms of latency;
//! then the same people synced, keyed on employee number, against a fresh
//! copy of the tenant: the same changes for no more calls than import;
//! all of it twice, users in no group with a three-column file, then each
//! user in one of 20 groups with a seven-column file naming every user's
//! current group; each run's time is printed against its floor, its calls
//! at the rate; that sandbox runs as its own process, and peak memory is
//! what `/usr/bin/time -f %M` reports for the sebulk process).
//! `--quick` makes every case small (what CI runs: a few minutes, the
//! same targets); options after it still apply.
//!
//! It exits 1 when any target is missed, so a regression fails the run
//! that measured it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sebulk::sandbox::{self, Faults, SandboxConfig, Seed};
use secrecy::SecretString;

const KEY: &str = "bench-key-0123456789";

#[derive(Clone, Copy)]
struct Options {
    rows: usize,
    rate: u32,
    latency_ms: u64,
    concurrency: Option<usize>,
    validate_rows: usize,
    export_users: usize,
    sweep_rows: usize,
    scale_users: usize,
    scale_rate: u32,
    sheet_rows: usize,
}

fn options() -> Options {
    let mut options = Options {
        rows: 2000,
        rate: 100,
        latency_ms: 50,
        concurrency: None,
        validate_rows: 1_000_000,
        export_users: 100_000,
        sweep_rows: 1000,
        scale_users: 100_000,
        scale_rate: 3000,
        sheet_rows: 100_000,
    };
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--quick") {
        options = Options {
            // Short runs are mostly ramp-up: these are the smallest whose
            // rates still say something about the pacing.
            rows: 1000,
            validate_rows: 100_000,
            export_users: 50_000,
            sweep_rows: 1000,
            scale_users: 5_000,
            scale_rate: 1000,
            sheet_rows: 10_000,
            ..options
        };
    }
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(v) = value("--rows") {
        options.rows = v as usize;
    }
    if let Some(v) = value("--rate") {
        options.rate = v as u32;
    }
    if let Some(v) = value("--latency-ms") {
        options.latency_ms = v;
    }
    if let Some(v) = value("--concurrency") {
        options.concurrency = Some(v as usize);
    }
    if let Some(v) = value("--validate-rows") {
        options.validate_rows = v as usize;
    }
    if let Some(v) = value("--export-users") {
        options.export_users = v as usize;
    }
    if let Some(v) = value("--sweep-rows") {
        options.sweep_rows = v as usize;
    }
    if let Some(v) = value("--sheet-rows") {
        options.sheet_rows = v as usize;
    }
    if let Some(v) = value("--scale-users") {
        options.scale_users = v as usize;
    }
    if let Some(v) = value("--scale-rate") {
        options.scale_rate = v as u32;
    }
    options
}

/// Runs a command and returns its status, wall time and peak resident
/// memory in KiB as `/usr/bin/time -f %M` reports it (the kernel's
/// maximum for that process; `wait4` from this process would count the
/// benchmark's own memory, inherited at spawn), or sampled where it is
/// missing.
fn run_measured(command: &mut Command) -> (std::process::ExitStatus, Duration, u64) {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        return run_sampled(command);
    }
    let report = tempfile::NamedTempFile::new().expect("a file for the measure");
    let mut timed = Command::new(time);
    timed
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(name, value),
            None => timed.env_remove(name),
        };
    }
    let (status, wall, sampled) = run_sampled(&mut timed);
    let peak_kb = std::fs::read_to_string(report.path())
        .ok()
        .and_then(|text| text.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(sampled);
    (status, wall, peak_kb)
}

/// Runs a command, reading its peak resident memory (the kernel's VmHWM
/// for the process) until it exits: where `/usr/bin/time` is missing.
fn run_sampled(command: &mut Command) -> (std::process::ExitStatus, Duration, u64) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sebulk starts");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
            && let Some(kb) = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    if !stderr.trim().is_empty() {
        eprintln!("{}", stderr.trim_end());
    }
    (status, started.elapsed(), peak_kb)
}

/// How many targets this run missed.
static MISSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// "ok", or "MISSED" (counted for the exit status).
fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        MISSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        "MISSED"
    }
}

fn write_tenant(dir: &Path) -> std::path::PathBuf {
    let groups: Vec<serde_json::Value> = (1..=20)
        .map(|i| serde_json::json!({"name": format!("Group {i:02}"), "description": "bench"}))
        .collect();
    let tenant = serde_json::json!({"groups": groups, "applications": [{"name": "Slack", "label": "Slack"}], "users": []});
    let path = dir.join("tenant.json");
    std::fs::write(&path, tenant.to_string()).expect("tenant written");
    path
}

fn write_rows(path: &Path, rows: usize, with_groups: bool) {
    let file = std::fs::File::create(path).expect("input created");
    let mut out = std::io::BufWriter::new(file);
    let header = if with_groups {
        "username,email,firstName,lastName,groups"
    } else {
        "username,email,firstName,lastName,country"
    };
    writeln!(out, "{header}").expect("written");
    for i in 0..rows {
        if with_groups {
            let (a, b) = (i % 20 + 1, (i * 7 + 3) % 20 + 1);
            let b = if a == b { b % 20 + 1 } else { b };
            writeln!(
                out,
                "user{i:07},user{i:07}@bench.example,First{i},Last{i},Group {a:02};Group {b:02}"
            )
            .expect("written");
        } else {
            writeln!(
                out,
                "user{i:07},user{i:07}@bench.example,First{i},Last{i},GB"
            )
            .expect("written");
        }
    }
    out.flush().expect("flushed");
}

/// A sandbox seeded from `seed`, with the benchmark's latency and rate limit.
fn start_sandbox(
    runtime: &tokio::runtime::Runtime,
    seed: std::path::PathBuf,
    options: &Options,
) -> sandbox::SandboxHandle {
    let mut config = SandboxConfig::local(SecretString::from(KEY));
    config.seed = Seed::File(seed);
    config.faults = Faults {
        latency: Duration::from_millis(options.latency_ms),
        rate_limit: Some(options.rate),
        record_arrivals: true,
        ..Faults::default()
    };
    runtime
        .block_on(sandbox::start(config))
        .expect("sandbox starts")
}

/// A sandbox as its own process (`sebulk sandbox`), as a user runs one
/// beside sebulk: its CPU and memory are not the measured process's.
struct SandboxProcess {
    child: std::process::Child,
    base_url: String,
}

impl SandboxProcess {
    fn spawn(seed: &Path, options: &Options) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sebulk"))
            .env("SEBULK_API_KEY", KEY)
            .env("SEBULK_CONFIG", "/dev/null")
            .args(["sandbox", "--listen", "127.0.0.1:0", "--seed-data"])
            .arg(seed)
            .args(["--latency-ms", &options.latency_ms.to_string()])
            .args(["--rate-limit", &options.rate.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sandbox starts");
        let stdout = child.stdout.take().expect("the sandbox's output");
        let mut lines = std::io::BufReader::new(stdout);
        let mut base_url = String::new();
        lines
            .read_line(&mut base_url)
            .expect("the sandbox says where it listens");
        // Whatever else it prints is drained, never left to fill a pipe.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        SandboxProcess {
            child,
            base_url: base_url.trim().to_string(),
        }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one measured sebulk run reported.
struct Run {
    status: std::process::ExitStatus,
    peak_mb: f64,
    summary: serde_json::Value,
    calls: f64,
    elapsed: f64,
    share_of_limit: f64,
}

/// Runs `sebulk ARGS --summary-json` against `sandbox` at the benchmark's pace.
fn run_sebulk(
    base_url: &str,
    options: &Options,
    summary_path: &Path,
    args: &[&std::ffi::OsStr],
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sebulk"));
    command
        .env("SEBULK_API_KEY", KEY)
        .env("SEBULK_CONFIG", "/dev/null")
        .args(["--base-url", base_url, "--quiet"])
        .args(["--rate", &options.rate.to_string()]);
    if let Some(concurrency) = options.concurrency {
        command.args(["--concurrency", &concurrency.to_string()]);
    }
    let (status, wall, peak_kb) =
        run_measured(command.args(args).arg("--summary-json").arg(summary_path));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary_path).unwrap_or_default())
            .unwrap_or_default();
    let calls = summary["api_calls"].as_f64().unwrap_or(0.0);
    let elapsed = summary["elapsed_seconds"]
        .as_f64()
        .unwrap_or(wall.as_secs_f64());
    Run {
        status,
        peak_mb: peak_kb as f64 / 1024.0,
        calls,
        elapsed,
        share_of_limit: summary["requests_per_second"]
            .as_f64()
            .unwrap_or(calls / elapsed.max(0.001))
            / f64::from(options.rate),
        summary,
    }
}

fn main() {
    measure();
    let missed = MISSED.load(std::sync::atomic::Ordering::Relaxed);
    if missed > 0 {
        println!("{missed} targets MISSED");
        std::process::exit(1);
    }
    println!("every target met");
}

fn measure() {
    let options = options();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let binary = env!("CARGO_BIN_EXE_sebulk");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    // ---- import ----
    let sandbox = start_sandbox(&runtime, write_tenant(dir.path()), &options);
    let input = dir.path().join("hires.csv");
    write_rows(&input, options.rows, true);
    let results = dir.path().join("results.csv");
    println!(
        "import: {} rows, 2 groups each of 20, sandbox latency {} ms, limit {}/s, concurrency {}",
        options.rows,
        options.latency_ms,
        options.rate,
        options
            .concurrency
            .map_or_else(|| "adaptive".to_string(), |c| c.to_string())
    );
    let run = run_sebulk(
        sandbox.base_url().as_str(),
        &options,
        &dir.path().join("summary.json"),
        &[
            "import".as_ref(),
            input.as_os_str(),
            "--results".as_ref(),
            results.as_os_str(),
        ],
    );
    let per_row = run.calls / options.rows.max(1) as f64;
    let minimum = run.calls / f64::from(options.rate);
    println!("  {}: {}", run.status, verdict(run.status.success()));
    println!("  outcomes            {}", run.summary["counts"]);
    println!(
        "  achieved rate       {:.1}% of the limit (target >= 95%): {}",
        run.share_of_limit * 100.0,
        verdict(run.share_of_limit >= 0.95)
    );
    println!(
        "  API calls per row   {per_row:.3} (target <= 1.05): {}",
        verdict(per_row <= 1.05)
    );
    println!(
        "  wall time           {:.1} s against a minimum of {minimum:.1} s (calls / rate): {:.1}%",
        run.elapsed,
        minimum / run.elapsed.max(0.001) * 100.0
    );
    println!(
        "  429s                {} (client) / {} (sandbox)",
        run.summary["throttled_429"],
        sandbox.counters().throttled
    );
    println!(
        "  peak memory         {:.1} MB (import process)",
        run.peak_mb
    );
    println!(
        "  busiest second      {} requests (limit {}): {}",
        sandbox.busiest_second(),
        options.rate,
        verdict(sandbox.busiest_second() <= options.rate as usize)
    );
    runtime.block_on(sandbox.shutdown()).expect("sandbox stops");

    // ---- latency sweep ----
    if options.sweep_rows > 0 {
        println!(
            "latency sweep: {} new hires per point, limit {}/s, default flags (target >= 90% of the limit, never above it)",
            options.sweep_rows, options.rate
        );
        for latency_ms in [20u64, 100, 300, 500] {
            let point = Options {
                latency_ms,
                concurrency: None,
                ..options
            };
            let sandbox = start_sandbox(&runtime, write_tenant(dir.path()), &point);
            let input = dir.path().join(format!("sweep-{latency_ms}.csv"));
            write_rows(&input, options.sweep_rows, false);
            let results = dir.path().join(format!("sweep-{latency_ms}.results.csv"));
            let run = run_sebulk(
                sandbox.base_url().as_str(),
                &point,
                &dir.path().join(format!("sweep-{latency_ms}.json")),
                &[
                    "import".as_ref(),
                    input.as_os_str(),
                    "--results".as_ref(),
                    results.as_os_str(),
                ],
            );
            let busiest = sandbox.busiest_second();
            let within = busiest <= options.rate as usize;
            println!(
                "  {latency_ms:>3} ms  {:5.1}% of the limit: {}; busiest second {busiest}: {}; {} 429s; {}",
                run.share_of_limit * 100.0,
                verdict(run.share_of_limit >= 0.9),
                verdict(within),
                sandbox.counters().throttled,
                run.status
            );
            runtime.block_on(sandbox.shutdown()).expect("sandbox stops");
        }
    }

    // ---- export ----
    if options.export_users > 0 {
        let users: Vec<serde_json::Value> = (0..options.export_users)
            .map(|i| {
                serde_json::json!({
                    "username": format!("user{i:07}"), "email": format!("user{i:07}@bench.example"),
                    "firstName": format!("First{i}"), "lastName": format!("Last{i}"),
                    "department": format!("Dept {}", i % 40), "country": "United Kingdom", "isEnabled": true
                })
            })
            .collect();
        let seed = dir.path().join("big-tenant.json");
        std::fs::write(
            &seed,
            serde_json::json!({"groups": [], "applications": [], "users": users}).to_string(),
        )
        .expect("seed written");
        drop(users);
        let sandbox = start_sandbox(&runtime, seed, &options);
        let out = dir.path().join("export.csv");
        println!(
            "export: {} users, sandbox latency {} ms, limit {}/s, page size 100",
            options.export_users, options.latency_ms, options.rate
        );
        let run = run_sebulk(
            sandbox.base_url().as_str(),
            &options,
            &dir.path().join("export-summary.json"),
            &[
                "export".as_ref(),
                "users".as_ref(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
        );
        let pages = run.summary["pages"].as_f64().unwrap_or(0.0);
        println!("  {}", run.status);
        println!(
            "  records             {} in {pages} pages",
            run.summary["records"]
        );
        println!(
            "  achieved rate       {:.1}% of the limit (target >= 90%): {}",
            run.share_of_limit * 100.0,
            verdict(run.share_of_limit >= 0.9)
        );
        println!("  API calls           {}", run.calls);
        println!(
            "  wall time           {:.1} s against a minimum of {:.1} s (pages / rate)",
            run.elapsed,
            pages / f64::from(options.rate)
        );
        println!(
            "  429s                {} (sandbox)",
            sandbox.counters().throttled
        );
        println!(
            "  peak memory         {:.1} MB (target < 32 MB): {}",
            run.peak_mb,
            verdict(run.peak_mb < 32.0)
        );
        // The MFA audit: one credentials read per user, paced like the rest.
        let factors = dir.path().join("factors.csv");
        let run = run_sebulk(
            sandbox.base_url().as_str(),
            &options,
            &dir.path().join("factors-summary.json"),
            &[
                "export".as_ref(),
                "factors".as_ref(),
                "--filter".as_ref(),
                "username=user0000".as_ref(),
                "-o".as_ref(),
                factors.as_os_str(),
            ],
        );
        println!(
            "export factors: {} users (one call each), {}: {:.1}% of the limit (target >= 90%): {}",
            run.summary["records"],
            run.status,
            run.share_of_limit * 100.0,
            verdict(run.share_of_limit >= 0.9)
        );
        runtime.block_on(sandbox.shutdown()).expect("sandbox stops");
    }

    // ---- tenant scale ----
    if options.scale_users > 0 {
        tenant_scale(dir.path(), &options);
    }

    // ---- spreadsheets ----
    if options.sheet_rows > 0 {
        spreadsheet_scaling(binary, dir.path(), options.sheet_rows);
    }

    // ---- validate ----
    if options.validate_rows > 0 {
        let big = dir.path().join("big.csv");
        write_rows(&big, options.validate_rows, false);
        let size = std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0);
        println!(
            "validate: {} rows ({:.0} MB)",
            options.validate_rows,
            size as f64 / 1e6
        );
        let (status, wall, peak_kb) = run_measured(
            Command::new(binary)
                .env("SEBULK_CONFIG", "/dev/null")
                .args(["--quiet", "validate"])
                .arg(&big),
        );
        let peak_mb = peak_kb as f64 / 1024.0;
        println!("  exit status         {status}");
        println!(
            "  time                {:.1} s ({:.0} rows/s)",
            wall.as_secs_f64(),
            options.validate_rows as f64 / wall.as_secs_f64()
        );
        println!(
            "  peak memory         {peak_mb:.1} MB (target < 64 MB): {}",
            verdict(peak_mb < 64.0)
        );
        bad_rows(binary, dir.path(), (options.validate_rows / 10).max(1));
    }
}

/// A file where every row is wrong (an unknown country, so each gets a
/// "did you mean" search): the report must not take much longer than a
/// clean file's.
fn bad_rows(binary: &str, dir: &Path, rows: usize) {
    let path = dir.join("bad.csv");
    let file = std::fs::File::create(&path).expect("input created");
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "username,email,firstName,lastName,country").expect("written");
    for i in 0..rows {
        writeln!(
            out,
            "user{i:07},user{i:07}@bench.example,First{i},Last{i},Atlantis {}",
            i % 1000
        )
        .expect("written");
    }
    out.flush().expect("flushed");
    drop(out);
    let (status, wall, _) = run_measured(
        Command::new(binary)
            .env("SEBULK_CONFIG", "/dev/null")
            .args(["--quiet", "validate"])
            .arg(&path)
            .stderr(Stdio::null()),
    );
    let per_second = rows as f64 / wall.as_secs_f64();
    println!(
        "validate, every row wrong: {rows} rows in {:.1} s ({per_second:.0} rows/s, target > 20,000/s): {} ({status})",
        wall.as_secs_f64(),
        verdict(per_second > 20_000.0)
    );
}

/// An .xlsx of `rows` people below two title rows, with a date column.
fn write_sheet(path: &Path, rows: usize) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet
        .write_string(0, 0, "Starters report")
        .expect("written");
    sheet
        .write_string(1, 0, "Run by the benchmark")
        .expect("written");
    let header = [
        "username",
        "email",
        "firstName",
        "lastName",
        "country",
        "Start date",
    ];
    for (c, name) in header.iter().enumerate() {
        sheet.write_string(3, c as u16, *name).expect("written");
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let start = ExcelDateTime::from_ymd(2026, 12, 1).expect("a date");
    for i in 0..rows {
        let r = 4 + i as u32;
        sheet
            .write_string(r, 0, format!("user{i:07}"))
            .expect("written");
        sheet
            .write_string(r, 1, format!("user{i:07}@bench.example"))
            .expect("written");
        sheet
            .write_string(r, 2, format!("First{i}"))
            .expect("written");
        sheet
            .write_string(r, 3, format!("Last{i}"))
            .expect("written");
        sheet.write_string(r, 4, "GB").expect("written");
        sheet
            .write_datetime_with_format(r, 5, &start, &date)
            .expect("written");
    }
    workbook.save(path).expect("saved");
}

/// Validating a spreadsheet must take time linear in its rows (it was
/// quadratic): `rows` against a tenth of them.
fn spreadsheet_scaling(binary: &str, dir: &Path, rows: usize) {
    let small_rows = (rows / 10).max(1);
    let mut timings = Vec::new();
    for count in [small_rows, rows] {
        let path = dir.join(format!("sheet-{count}.xlsx"));
        write_sheet(&path, count);
        let (status, wall, peak_kb) = run_measured(
            Command::new(binary)
                .env("SEBULK_CONFIG", "/dev/null")
                .args(["--quiet", "validate", "--ignore-column", "Start date"])
                .arg(&path),
        );
        println!(
            "spreadsheet: {count} rows validated in {:.2} s ({:.0} rows/s), peak {:.1} MB, {status}",
            wall.as_secs_f64(),
            count as f64 / wall.as_secs_f64(),
            peak_kb as f64 / 1024.0
        );
        timings.push(wall.as_secs_f64());
    }
    let ratio = timings[1] / timings[0].max(1e-3);
    println!(
        "  {rows} rows take {ratio:.1}× the time of {small_rows} (target ≤ 15×, linear): {}",
        verdict(ratio <= 15.0)
    );
}

/// The tenant-scale case's two shapes: today's (users in no group, a
/// three-column file) and a real tenant's (each user in one of 20 groups,
/// a seven-column HR file naming every user's current group).
#[derive(Clone, Copy)]
struct ScaleShape {
    groups: bool,
}

impl ScaleShape {
    fn name(self) -> &'static str {
        if self.groups {
            "users in groups, a groups column"
        } else {
            "no groups"
        }
    }

    fn tag(self) -> &'static str {
        if self.groups { "groups" } else { "plain" }
    }
}

/// The group user `i` is in, in the groups shape.
fn group_of(i: usize) -> String {
    format!("Group {:02}", i % 20 + 1)
}

/// The department of person `i` in the file: every tenth has moved.
fn department_of(i: usize) -> String {
    if i.is_multiple_of(10) {
        format!("Moved {}", i % 40)
    } else {
        format!("Dept {}", i % 40)
    }
}

/// A tenant of `scale_users` users, seeded from a file.
fn big_tenant(dir: &Path, users: usize, shape: ScaleShape) -> std::path::PathBuf {
    let users: Vec<serde_json::Value> = (0..users)
        .map(|i| {
            let mut user = serde_json::json!({
                "username": format!("user{i:07}"), "email": format!("user{i:07}@bench.example"),
                "firstName": format!("First{i}"), "lastName": format!("Last{i}"),
                "employeeNumber": format!("E{i:07}"),
                "department": format!("Dept {}", i % 40), "country": "United Kingdom", "isEnabled": true
            });
            if shape.groups {
                user["groups"] = serde_json::json!([group_of(i)]);
            }
            user
        })
        .collect();
    let groups: Vec<serde_json::Value> = (1..=20)
        .filter(|_| shape.groups)
        .map(|i| serde_json::json!({"name": format!("Group {i:02}"), "description": "bench"}))
        .collect();
    let seed = dir.join(format!("scale-tenant-{}.json", shape.tag()));
    std::fs::write(
        &seed,
        serde_json::json!({"groups": groups, "applications": [], "users": users}).to_string(),
    )
    .expect("seed written");
    seed
}

/// The HR file of the tenant-scale case: every user, 10% moving
/// department; `keyed` adds the employee number (the sync's key).
fn write_scale_file(path: &Path, users: usize, shape: ScaleShape, keyed: bool) {
    let file = std::fs::File::create(path).expect("input created");
    let mut out = std::io::BufWriter::new(file);
    let key = if keyed { ",employeeNumber" } else { "" };
    if shape.groups {
        writeln!(
            out,
            "username,email{key},firstName,lastName,department,country,groups"
        )
        .expect("written");
    } else {
        writeln!(out, "username,email{key},department").expect("written");
    }
    for i in 0..users {
        let key = if keyed {
            format!(",E{i:07}")
        } else {
            String::new()
        };
        let department = department_of(i);
        if shape.groups {
            writeln!(
                out,
                "user{i:07},user{i:07}@bench.example{key},First{i},Last{i},{department},United Kingdom,{}",
                group_of(i)
            )
        } else {
            writeln!(out, "user{i:07},user{i:07}@bench.example{key},{department}")
        }
        .expect("written");
    }
    out.flush().expect("flushed");
}

/// Plan and import a whole HR file against a whole tenant, in both shapes.
fn tenant_scale(dir: &Path, options: &Options) {
    for shape in [ScaleShape { groups: false }, ScaleShape { groups: true }] {
        tenant_scale_shape(dir, options, shape);
    }
}

/// A run's wall time against its floor (its calls at the rate).
fn against_floor(run: &Run, rate: u32) -> (f64, f64) {
    let floor = run.calls / f64::from(rate);
    (floor, run.elapsed / floor.max(1e-3))
}

/// Plan and import a whole HR file against a whole tenant of one shape,
/// then sync the same people.
fn tenant_scale_shape(dir: &Path, options: &Options, shape: ScaleShape) {
    let users = options.scale_users;
    let point = Options {
        latency_ms: 10,
        rate: options.scale_rate,
        concurrency: None,
        ..*options
    };
    let input = dir.join(format!("scale-{}.csv", shape.tag()));
    write_scale_file(&input, users, shape, false);
    println!(
        "tenant scale ({}): {users} users, a file of {users} rows (10% move), latency 10 ms, limit {}/s",
        shape.name(),
        point.rate
    );
    let seed = big_tenant(dir, users, shape);
    // export users on the same tenant: the lookup's yardstick. The
    // sandbox runs as its own process, as a user runs one.
    let sandbox = SandboxProcess::spawn(&seed, &point);
    let out = dir.join(format!("scale-export-{}.csv", shape.tag()));
    let export = run_sebulk(
        &sandbox.base_url,
        &point,
        &dir.join(format!("scale-export-{}.json", shape.tag())),
        &[
            "export".as_ref(),
            "users".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    );
    let export_seconds = export.summary["elapsed_seconds"].as_f64().unwrap_or(0.0);
    println!(
        "  export users        {:.2} s, {:.1} MB",
        export_seconds, export.peak_mb
    );
    let mut import_calls = 0.0;
    for command in ["plan", "import"] {
        let output = dir.join(format!("scale-{command}-{}.csv", shape.tag()));
        let run = run_sebulk(
            &sandbox.base_url,
            &point,
            &dir.join(format!("scale-{command}-{}.json", shape.tag())),
            &[
                command.as_ref(),
                input.as_os_str(),
                "-o".as_ref(),
                output.as_os_str(),
            ],
        );
        scale_report(command, &run, (users, &point), export_seconds);
        if command == "import" {
            import_calls = run.calls;
        }
    }
    drop(sandbox);
    sync_scale(dir, (&seed, users, shape), &point, import_calls);
}

/// What one tenant-scale run did, each measure against its target.
fn scale_report(command: &str, run: &Run, (users, point): (usize, &Options), export_seconds: f64) {
    let summary = &run.summary;
    let lookup_seconds = summary["lookup_seconds"].as_f64().unwrap_or(0.0);
    let lookup_calls = summary["lookup_calls"].as_f64().unwrap_or(0.0);
    let lookup_share = lookup_calls / lookup_seconds.max(0.001) / f64::from(point.rate);
    let per_row = run.calls / users as f64;
    let index_per_user = summary["tenant_index_bytes"].as_f64().unwrap_or(0.0) / users as f64;
    let changed = summary["counts"][if command == "plan" {
        "update"
    } else {
        "updated"
    }]
    .as_u64()
    .unwrap_or(0);
    println!(
        "  {command:<6}            {} in {:.1} s: {changed} changes (target exactly the {} moving): {}",
        summary["counts"],
        run.elapsed,
        users.div_ceil(10),
        verdict(run.status.success() && changed == users.div_ceil(10) as u64)
    );
    println!(
        "    lookup phase      {lookup_calls:.0} calls in {lookup_seconds:.2} s: {:.0}% of the limit, {:.2}x export users (target >= 80% or <= 1.5x): {}",
        lookup_share * 100.0,
        lookup_seconds / export_seconds.max(0.001),
        verdict(lookup_share >= 0.8 || lookup_seconds <= export_seconds * 1.5)
    );
    let (floor, ratio) = against_floor(run, point.rate);
    if command == "import" {
        println!(
            "    against its floor {:.2} s for {:.0} calls at the rate: {ratio:.2}x (target <= 1.4x): {}",
            floor,
            run.calls,
            verdict(ratio <= 1.4)
        );
    } else {
        println!(
            "    against its floor {:.2} s for {:.0} calls at the rate: {ratio:.2}x",
            floor, run.calls
        );
    }
    println!(
        "    calls per row     {per_row:.3} (target <= 0.12): {}",
        verdict(per_row <= 0.12)
    );
    println!(
        "    peak memory       {:.1} MB (target <= 64 MB): {}; tenant index {index_per_user:.0} bytes per user",
        run.peak_mb,
        verdict(run.peak_mb <= 64.0)
    );
}

/// The nightly sync of the same people (keyed on employee number, the
/// same 10% moving) against a fresh copy of the tenant: the same changes
/// as the import, for no more calls.
fn sync_scale(
    dir: &Path,
    (seed, users, shape): (&Path, usize, ScaleShape),
    point: &Options,
    import_calls: f64,
) {
    let roster = dir.join(format!("scale-roster-{}.csv", shape.tag()));
    write_scale_file(&roster, users, shape, true);
    let sandbox = SandboxProcess::spawn(seed, point);
    let output = dir.join(format!("scale-sync-{}.csv", shape.tag()));
    let run = run_sebulk(
        &sandbox.base_url,
        point,
        &dir.join(format!("scale-sync-{}.json", shape.tag())),
        &[
            "sync".as_ref(),
            roster.as_os_str(),
            "-o".as_ref(),
            output.as_os_str(),
        ],
    );
    let updated = run.summary["counts"]["updated"].as_u64().unwrap_or(0);
    let (floor, ratio) = against_floor(&run, point.rate);
    println!(
        "  sync              {} in {:.1} s ({ratio:.2}x its floor of {floor:.2} s)",
        run.summary["counts"], run.elapsed
    );
    println!(
        "    calls             {:.0} against import's {import_calls:.0} for the same {updated} changes (target: no more): {}",
        run.calls,
        verdict(
            run.status.success()
                && updated == users.div_ceil(10) as u64
                && run.calls <= import_calls
        )
    );
    println!(
        "    peak memory       {:.1} MB (target <= 64 MB): {}",
        run.peak_mb,
        verdict(run.peak_mb <= 64.0)
    );
    drop(sandbox);
}
