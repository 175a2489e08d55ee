//! The nightly job as docs/sync.md writes it: its cron line, run as
//! written three nights in a row against one tenant, each night leaving
//! its own dated results and replacing `last.json` and `last.html` with
//! that night's; then a fourth night through the systemd unit's
//! `ExecStart`, its environment and its credential.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sebulk::Completion;
use sebulk::sandbox::{SandboxHandle, Seed};

use super::sync::write;
use crate::support::{KEY, against, config, process, start};

const TENANT: &str = "\
username,email,firstName,lastName,employeeNumber,department,userType
ana,ana@example.com,Ana,Ant,1001,Sales,user
bob,bob@example.com,Bob,Bee,1002,Sales,user
root,root@example.com,Root,Admin,,IT,admin
";

/// Bob moves to Ops; Fay started on the 1st; Gus starts on the 8th.
const ROSTER: &str = "\
username,email,firstName,lastName,employeeNumber,department,Start Date
ana,ana@example.com,Ana,Ant,1001,Sales,2020-01-06
bob,bob@example.com,Bob,Bee,1002,Ops,2019-01-01
fay,fay@example.com,Fay,Fox,2001,Sales,2026-12-01
gus,gus@example.com,Gus,Gnu,2002,Sales,2026-12-08
";

/// The documented line's command: after the cron time fields, or after `ExecStart=`.
fn documented(prefix: &str) -> Vec<String> {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sync.md"))
        .expect("docs/sync.md");
    let line = docs
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("docs/sync.md has no line starting {prefix}"));
    let words: Vec<String> = line[prefix.len()..]
        .split_whitespace()
        .map(String::from)
        .collect();
    let program = words.first().expect("a command");
    assert!(program.ends_with("sebulk"), "{line}");
    words[1..].to_vec()
}

/// The unit's `Environment=` settings.
fn unit_environment() -> Vec<(String, String)> {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sync.md"))
        .expect("docs/sync.md");
    docs.lines()
        .filter_map(|line| line.strip_prefix("Environment="))
        .filter_map(|setting| setting.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The machine the docs describe, in a temporary directory.
struct Machine {
    paths: BTreeMap<&'static str, PathBuf>,
    config: PathBuf,
}

impl Machine {
    fn new(root: &Path, sandbox: &SandboxHandle) -> Self {
        let make = |name: &str| {
            let dir = root.join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            dir
        };
        let (etc, srv, logs, state) = (make("etc"), make("srv"), make("log"), make("lib"));
        let key = etc.join("api-key");
        std::fs::write(&key, format!("{KEY}\n")).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let roster = srv.join("roster.csv");
        std::fs::write(&roster, ROSTER).unwrap();
        let config = etc.join("config.toml");
        let profile = format!(
            "default_profile = \"prod\"\n[profiles.prod]\nbase_url = \"{}\"\nrate = 200\n",
            sandbox.base_url()
        );
        std::fs::write(&config, profile).unwrap();
        let paths = BTreeMap::from([
            ("/etc/sebulk/api-key", key),
            ("/srv/hr/roster.csv", roster),
            ("/var/log/sebulk", logs),
            ("/var/lib/sebulk", state),
        ]);
        Machine { paths, config }
    }

    /// `words` with the documented paths moved into the temporary machine.
    fn translated(&self, words: &[String]) -> Vec<String> {
        words
            .iter()
            .map(|word| match self.paths.get(word.as_str()) {
                Some(path) => path.to_str().unwrap().to_string(),
                None => word.clone(),
            })
            .collect()
    }

    fn logs(&self) -> &Path {
        &self.paths["/var/log/sebulk"]
    }

    /// Runs `words` as a night of `as_of`; the last.json it left.
    async fn night(
        &self,
        mut command: tokio::process::Command,
        words: &[String],
        as_of: &str,
    ) -> serde_json::Value {
        let output = command
            .env("SEBULK_CONFIG", &self.config)
            .args(self.translated(words))
            .args(["--as-of", as_of])
            .output()
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{as_of}: {said}");
        assert!(
            output.stdout.is_empty(),
            "-q: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let last = std::fs::read_to_string(self.logs().join("last.json")).unwrap();
        serde_json::from_str(&last).unwrap()
    }

    /// The dated results in the logs directory, oldest first.
    fn dated_results(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.logs())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("roster.sync.") && name.ends_with(".csv")
            })
            .collect();
        found.sort();
        found
    }
}

/// What a night's last.json must say: that night's day, counts and results.
fn check_night(
    machine: &Machine,
    last: &serde_json::Value,
    (as_of, nights): (&str, usize),
    counts: serde_json::Value,
) {
    assert_eq!(last["as_of"], as_of, "{last}");
    assert_eq!(last["counts"], counts, "{as_of}: {last}");
    let dated = machine.dated_results();
    assert_eq!(
        dated.len(),
        nights,
        "one dated results file a night: {dated:?}"
    );
    let newest = dated.iter().find(|p| p.to_str() == last["output"].as_str());
    assert!(
        newest.is_some(),
        "{as_of}: last.json names that night's results: {last}"
    );
    let page = std::fs::read_to_string(machine.logs().join("last.html")).unwrap();
    let run_id = last["run_id"].as_str().unwrap();
    assert!(page.contains(run_id), "{as_of}: last.html is that night's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_line_and_systemd_unit_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let mut empty = config();
    empty.seed = Seed::Empty;
    let sandbox = start(empty).await;
    let tenant = write(dir.path(), "tenant.csv", TENANT);
    let results = dir.path().join("tenant.results.csv");
    let args = ["import", &tenant, "-o", results.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let machine = Machine::new(dir.path(), &sandbox);
    let cron = documented("30 2 * * *");
    let enabled = |name: &str| {
        sandbox
            .tenant()
            .user_by_username(name)
            .unwrap()
            .fields
            .is_enabled
    };

    let last = machine.night(process(), &cron, "2026-12-01").await;
    let counts = serde_json::json!({"created": 2, "unchanged": 1, "updated": 1});
    check_night(&machine, &last, ("2026-12-01", 1), counts);
    assert_eq!((enabled("fay"), enabled("gus")), (Some(true), Some(false)));

    let last = machine.night(process(), &cron, "2026-12-02").await;
    check_night(
        &machine,
        &last,
        ("2026-12-02", 2),
        serde_json::json!({"unchanged": 4}),
    );

    let last = machine.night(process(), &cron, "2026-12-08").await;
    let counts = serde_json::json!({"unchanged": 3, "updated": 1});
    check_night(&machine, &last, ("2026-12-08", 3), counts);
    assert_eq!(enabled("gus"), Some(true), "Gus started today");

    // The service: its Environment=, its credential (0400, as systemd
    // makes it) and no key otherwise.
    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    let credential = credentials.join("sebulk-api-key");
    std::fs::copy(&machine.paths["/etc/sebulk/api-key"], &credential).unwrap();
    std::fs::set_permissions(&credential, std::fs::Permissions::from_mode(0o400)).unwrap();
    let mut service = process();
    for (name, value) in unit_environment() {
        service.env(name, machine.translated(&[value]).remove(0));
    }
    service.env("CREDENTIALS_DIRECTORY", &credentials);
    let exec = documented("ExecStart=");
    let last = machine.night(service, &exec, "2026-12-09").await;
    check_night(
        &machine,
        &last,
        ("2026-12-09", 4),
        serde_json::json!({"unchanged": 4}),
    );
    let state = &machine.paths["/var/lib/sebulk"];
    assert_eq!(
        std::fs::read_dir(state).unwrap().count(),
        1,
        "its lock, in its state directory"
    );
}
