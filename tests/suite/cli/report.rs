//! `--report FILE.html`: one self-contained page per run — an import with
//! every kind of outcome, a refused offboarding, a diff, `export
//! factors` — hostile cells shown as text, nothing fetched from anywhere,
//! and the page rendered by a real headless browser.

use std::path::{Path, PathBuf};

use sebulk::Completion;

use crate::support::{against, config, read_csv, start, start_empty};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Nothing in the page is fetched: no source, link, import or remote URL
/// outside the text.
fn assert_self_contained(page: &str) {
    for needle in [
        "src=", "href=", "url(", "@import", "<link", "<iframe", "<object",
    ] {
        assert!(!page.contains(needle), "the page references '{needle}'");
    }
    assert_eq!(page.matches("<script>").count(), 1, "one inline script");
}

fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// An import with created, updated, unchanged, invalid, failed and
/// filtered rows, a hostile cell among them.
async fn import_report(dir: &Path) -> PathBuf {
    let sandbox = start_empty().await;
    let first = write(
        dir,
        "first.csv",
        "username,email,department\nana,ana@example.com,Sales\nbo,bo@example.com,Ops\n",
    );
    let out = dir.join("first.results.csv");
    against(&sandbox, &["import", &first, "-o", out.to_str().unwrap()])
        .await
        .unwrap();
    let hires = write(
        dir,
        "hires.csv",
        "username,email,department\n\
         ana,ana@example.com,<script>alert('pwned')</script>\n\
         bo,bo@example.com,Ops\n\
         cy,cy@example.com,Legal\n\
         dee,not-an-email,Legal\n\
         eve,,Legal\n\
         fay,fay@example.com,Contractors\n",
    );
    // Contractors are left out by the mapping's filter: `filtered`.
    let mapping = write(
        dir,
        "m.toml",
        "[[filter]]\ncolumn = \"department\"\nnot_in = [\"Contractors\"]\n",
    );
    let report = dir.join("import.html");
    let out = dir.join("hires.results.csv");
    let args = [
        "import",
        &hires,
        "--mapping",
        &mapping,
        "--skip-invalid",
        "-o",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imports_report_shows_every_outcome_and_hostile_cells_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let report = import_report(dir.path()).await;
    private(&report);
    let page = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&page);
    for outcome in [
        "1 created",
        "1 updated",
        "1 unchanged",
        "1 invalid",
        "1 failed",
    ] {
        assert!(page.contains(outcome), "no '{outcome}' in the counts");
    }
    assert!(
        !page.contains("<script>alert"),
        "a hostile cell became markup"
    );
    assert!(page.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    assert!(page.contains("Problems by kind"));
    assert!(page.contains("a new user needs email"));
    assert!(
        page.contains("department: &quot;Sales&quot; → &quot;&lt;script&gt;"),
        "old → new"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_offboarding_a_diff_and_a_factors_export_have_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let path = |name: &str| dir.path().join(name);
    // Refused by its guard: the report says so, and why.
    let users: Vec<String> = sandbox
        .tenant()
        .users()
        .map(|u| u.fields.username.clone().unwrap_or_default())
        .collect();
    let leavers = write(
        dir.path(),
        "leavers.csv",
        &format!("username\n{}\n", users.join("\n")),
    );
    let report = path("offboard.html");
    let args = [
        "offboard",
        &leavers,
        "--action",
        "delete",
        "--report",
        report.to_str().unwrap(),
    ];
    against(&sandbox, &args).await.expect_err("refused");
    let page = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&page);
    assert!(
        page.contains("sebulk offboard — refused"),
        "{}",
        &page[..400]
    );
    assert!(page.contains("--max-affected"));

    // A diff: joiners, leavers, movers with their field changes.
    let old = write(
        dir.path(),
        "old.csv",
        "username,department,user_id\nana,Sales,1\nbo,Ops,2\n",
    );
    let new = write(
        dir.path(),
        "new.csv",
        "username,department,user_id\nana,Legal,1\ncy,Ops,3\n",
    );
    let report = path("diff.html");
    let changes = path("changes.csv");
    let args = [
        "diff",
        &old,
        &new,
        "-o",
        changes.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    against(&sandbox, &args).await.unwrap();
    let page = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&page);
    for text in [
        "1 joiners",
        "1 leavers",
        "1 movers",
        "<td>department</td><td>Sales</td><td>Legal</td>",
    ] {
        assert!(page.contains(text), "no '{text}' in the diff report");
    }

    // export factors: coverage by type and who has none.
    let factors = path("factors.csv");
    let report = path("factors.html");
    let args = [
        "export",
        "factors",
        "-o",
        factors.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    against(&sandbox, &args).await.unwrap();
    let rows = read_csv(&factors);
    let page = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&page);
    assert!(
        page.contains(&format!("0 of {} users have a second factor", rows.len())),
        "{page}"
    );
    assert!(page.contains("Users without a second factor"));
}

/// Chromium from the distribution's packages (`.ci/run` installs it);
/// without it the browser test says so and is left to CI, where
/// `SEBULK_REQUIRE_CHROMIUM` makes its absence a failure.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .flat_map(|name| {
            std::env::var_os("PATH")
                .map(|paths| {
                    std::env::split_paths(&paths)
                        .map(|p| p.join(name))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("SEBULK_REQUIRE_CHROMIUM").is_none(),
            "SEBULK_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("no chromium on PATH: the browser test runs in CI (.ci/run installs it)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_renders_in_a_headless_browser_without_errors() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = import_report(dir.path()).await;
    let url = format!("file://{}", report.display());
    let profile = dir.path().join("profile");
    let run = |extra: &[&str]| {
        let mut command = tokio::process::Command::new(&browser);
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--enable-logging=stderr", "--v=0", "--window-size=1280,900"])
            .args(extra)
            .arg(&url)
            .kill_on_drop(true);
        command
    };
    // The DOM after the script ran: the counts are there, no console error.
    let dumped = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        run(&["--dump-dom"]).output(),
    )
    .await
    .expect("chromium answers")
    .unwrap();
    let dom = String::from_utf8_lossy(&dumped.stdout);
    let log = String::from_utf8_lossy(&dumped.stderr);
    assert!(dom.contains("1 created"), "{dom}");
    // The script ran: the outcome filter, hidden without scripts, is shown.
    assert!(dom.contains("<select id=\"outcome-filter\">"), "{dom}");
    for line in log.lines().filter(|l| l.contains("CONSOLE")) {
        assert!(
            !line.contains("Uncaught") && !line.contains("Error"),
            "console: {line}"
        );
    }
    // The screenshot shows the chart: bars in the report's blue.
    let shot = dir.path().join("shot.png");
    let screenshot = format!("--screenshot={}", shot.display());
    let taken = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        run(&[&screenshot]).output(),
    )
    .await
    .expect("chromium answers")
    .unwrap();
    assert!(shot.is_file(), "{}", String::from_utf8_lossy(&taken.stderr));
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let blue = pixels
        .chunks(channels)
        .filter(|p| p.len() >= 3 && p[0] == 0x2e && p[1] == 0x86 && p[2] == 0xc1)
        .count();
    assert!(
        blue > 200,
        "the outcome bars are drawn ({blue} blue pixels)"
    );
}

/// A sync's page, from the binary as cron runs it: it opens on what
/// changed (joiners, movers, leavers, rehires, each its own section), the
/// unchanged rows after it, collapsed; a joiner's fields once, compactly;
/// custom attributes as `name = value`; local times with their offset;
/// who ran it; no pace chart for a run of a second or two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syncs_report_opens_on_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    crate::support::seed_tenant(
        &sandbox,
        dir.path(),
        "username,email,firstName,lastName,employeeNumber,department,isEnabled\n\
         ana,ana@example.com,Ana,Ant,1001,Sales,true\n\
         bob,bob@example.com,Bob,Bee,1002,Sales,true\n\
         cara,cara@example.com,Cara,Cat,1003,Ops,true\n\
         dan,dan@example.com,Dan,Dog,1004,Ops,true\n\
         eve,eve@example.com,Eve,Eel,1005,Ops,false\n",
    )
    .await;
    // Ana moves, Bob is gone, Cara and Dan stay, Eve is back, Fay joins.
    let roster = write(
        dir.path(),
        "roster.csv",
        "username,email,firstName,lastName,employeeNumber,department,custom.Cost Centre,Start Date\n\
         ana,ana@example.com,Ana,Ant,1001,Ops,,2020-01-06\n\
         cara,cara@example.com,Cara,Cat,1003,Ops,,2019-03-01\n\
         dan,dan@example.com,Dan,Dog,1004,Ops,,2018-05-01\n\
         eve,eve@example.com,Eve,Eel,1005,Ops,,2021-02-01\n\
         fay,fay@example.com,Fay,Fox,2001,Sales,C-42,2026-11-20\n",
    );
    let report = dir.path().join("sync.html");
    let state = tempfile::tempdir().unwrap();
    let output = crate::support::process()
        .args([
            "--base-url",
            sandbox.base_url().as_str(),
            "--config",
            "/dev/null",
        ])
        .args([
            "sync",
            &roster,
            "--as-of",
            "2026-12-03",
            "--max-affected",
            "5",
        ])
        .args(["--max-reenabled", "5"])
        .arg("-o")
        .arg(dir.path().join("roster.sync.csv"))
        .arg("--report")
        .arg(&report)
        .env("SEBULK_API_KEY", crate::support::KEY)
        .env("SEBULK_STATE_DIR", state.path())
        .env("USER", "ana.admin")
        .output()
        .await
        .unwrap();
    let page = std::fs::read_to_string(&report)
        .unwrap_or_else(|_| panic!("no report: {}", String::from_utf8_lossy(&output.stderr)));
    private(&report);
    assert_self_contained(&page);
    let at = |text: &str| {
        page.find(text)
            .unwrap_or_else(|| panic!("no '{text}' in the sync report"))
    };
    let changed = at("<h2>What changed</h2>");
    for section in ["Joiners (1)", "Movers (1)", "Leavers (1)", "Rehires (1)"] {
        assert!(at(section) > changed, "{section}");
    }
    let unchanged = at("rows unchanged or left alone</summary>");
    assert!(
        unchanged > at("Rehires (1)"),
        "unchanged rows come after the changes"
    );
    assert!(page.contains("<details class=\"rest\">"), "collapsed");
    // The joiner's fields once, on one line, its attribute by name.
    assert!(
        page.contains("username = fay · email = fay@example.com"),
        "{page}"
    );
    assert!(page.contains("Cost Centre = C-42"), "{page}");
    assert!(!page.contains("&quot;&quot; →"), "no empty old values");
    assert!(!page.contains("\\&quot;"), "no escaped JSON");
    // The mover's change, old → new.
    assert!(page.contains("department: &quot;Sales&quot; → &quot;Ops&quot;"));
    // Who and when.
    let host = std::process::Command::new("hostname").output().ok();
    let host = host.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    assert!(page.contains("<dt>Run by</dt><dd>ana.admin@"), "{page}");
    if let Some(host) = host.filter(|h| !h.is_empty()) {
        assert!(page.contains(&format!("ana.admin@{host}")), "{page}");
    }
    let started = &page[at("<dt>Started</dt><dd>") + 20..];
    let started = &started[..started.find("</dd>").unwrap()];
    assert!(!started.ends_with('Z'), "local time: {started}");
    assert!(
        started.contains(" +") || started.contains(" -"),
        "an offset: {started}"
    );
    assert!(
        !page.contains("<h2>Pace</h2>"),
        "a short run has no pace chart"
    );
}
