//! `sebulk man -o DIR` through the binary: every page a Unix admin
//! expects, with its sections, referring only to pages that were written,
//! and rendered by man(1) (or groff) without a warning.

use std::collections::BTreeSet;
use std::path::Path;

const SECTIONS: [&str; 9] = [
    ".SH NAME",
    ".SH SYNOPSIS",
    ".SH DESCRIPTION",
    ".SH OPTIONS",
    ".SH \"EXIT STATUS\"",
    ".SH ENVIRONMENT",
    ".SH FILES",
    ".SH EXAMPLES",
    ".SH \"SEE ALSO\"",
];

/// Every sebulk page a page names: `.BR name (1)` and `name(1)` in its text.
fn references(page: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix(".BR ") {
            let name = rest.split(' ').next().unwrap_or_default();
            found.insert(name.replace("\\-", "-"));
        }
        let text = line
            .replace("\\-", "-")
            .replace("\\fB", "")
            .replace("\\fR", "");
        for (at, _) in text.match_indices("(1)") {
            let name: String = text[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            // Others (diff(1), cron(8)) are the system's pages.
            if name.starts_with("sebulk") {
                found.insert(name);
            }
        }
    }
    found
}

fn tool(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Renders `page` with man(1), else groff; `None` when neither is here.
fn rendered(page: &Path) -> Option<std::process::Output> {
    let output = if tool("man").is_some() {
        std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
    } else if tool("groff").is_some() {
        std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(page)
            .output()
    } else {
        return None;
    };
    Some(output.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_man_page_has_its_sections_and_names_only_written_pages() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_man_pages(dir.path()).await;
    let written: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".1").map(str::to_string))
        .collect();
    for page in [
        "sebulk",
        "sebulk-sync",
        "sebulk-groups",
        "sebulk-groups-import",
    ] {
        assert!(
            written.contains(page),
            "{page} was not written: {written:?}"
        );
    }
    assert!(!written.iter().any(|n| n.ends_with("-help")), "{written:?}");
    let mut renderer = None;
    for name in &written {
        let path = dir.path().join(format!("{name}.1"));
        let page = std::fs::read_to_string(&path).unwrap();
        for section in SECTIONS {
            assert_eq!(page.matches(section).count(), 1, "{name}: {section}");
        }
        assert!(!page.contains(".SH EXTRA"), "{name}");
        for reference in references(&page) {
            assert!(
                written.contains(&reference),
                "{name} names {reference}(1), not written"
            );
        }
        if let Some(output) = rendered(&path) {
            renderer = Some(());
            let err = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success() && err.trim().is_empty(),
                "{name}: {err}"
            );
            if name == "sebulk" && !output.stdout.is_empty() {
                let text = String::from_utf8_lossy(&output.stdout);
                assert!(
                    text.contains("EXIT STATUS") && text.contains("--date-order"),
                    "{text}"
                );
            }
        }
    }
    if renderer.is_none() {
        eprintln!("neither man nor groff is installed: the pages were not rendered");
    }
    let sebulk = std::fs::read_to_string(dir.path().join("sebulk.1")).unwrap();
    for rule in [
        "DATES",
        "NIGHTLY RUNS",
        "GUARD RAILS",
        "SCOPE",
        "max\\-joiners",
        "allow\\-privileged",
        "Last Working Day",
        "two\\-digit years are refused",
        "\\-\\-results\\-dir /var/log/sebulk",
    ] {
        assert!(sebulk.contains(rule), "sebulk(1) has no '{rule}'");
    }
    for variable in [
        "SEBULK_API_KEY",
        "SEBULK_API_KEY_FILE",
        "SEBULK_NOTIFY",
        "SEBULK_STATE_DIR",
        "CREDENTIALS_DIRECTORY",
        "NO_COLOR",
    ] {
        assert!(
            sebulk.contains(&format!(".B {variable}\n")),
            "no {variable}"
        );
    }
    for code in ["0", "1", "2", "3", "130"] {
        assert!(sebulk.contains(&format!(".TP\n.B {code}\n")), "exit {code}");
    }
    let sync = std::fs::read_to_string(dir.path().join("sebulk-sync.1")).unwrap();
    assert!(
        sync.contains("roster.csv \\-\\-dry\\-run"),
        "sync's own examples"
    );
    assert!(sync.contains("tenant\\-HASH.lock") && sync.contains("snapshot"));
    let diff = std::fs::read_to_string(dir.path().join("sebulk-diff.1")).unwrap();
    assert!(
        !diff.contains("SEBULK_STATE_DIR"),
        "diff writes to no tenant"
    );
    assert!(diff.contains("there are differences"), "diff --exit-code");
}
