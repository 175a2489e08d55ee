//! What the binary says, as an admin meets it in the first week: `check`
//! counting a tenant that pages without totals and naming the privileged
//! groups, every command quiet on a closed pipe (standard error too), and
//! the smaller texts (a template as written, a preset's filter, the plan's
//! warning past invalid rows, a profile that is not there).

use std::process::{Output, Stdio};

use sebulk::sandbox::ListShape;

use super::{KEY, sebulk, text};
use crate::support::{STATE_DIR, config, start};

/// Runs sebulk with `args` and the test key.
async fn run(args: &[&str]) -> Output {
    super::with_key(args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn check_counts_a_tenant_that_pages_without_totals() {
    let mut config = config();
    config.variant.list_shape = ListShape::Array;
    let sandbox = start(config).await;
    let url = sandbox.base_url().to_string();
    let (users, mut types, groups) = {
        let tenant = sandbox.tenant();
        let mut types: Vec<String> = tenant
            .users()
            .filter_map(|u| u.fields.user_type.clone())
            .collect();
        types.sort();
        types.dedup();
        let groups: Vec<String> = tenant.groups().map(|g| g.name.clone()).collect();
        (tenant.users().count(), types, groups)
    };
    assert!(users > 6 && types.len() > 1, "a tenant worth counting");
    let output = run(&["--base-url", &url, "--page-size", "3", "check", "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["users"], users, "every page read, no total needed");
    assert_eq!(report["users_listing"], "complete");
    let seen: Vec<String> = serde_json::from_value(report["user_types_seen"].clone()).unwrap();
    types.sort();
    assert_eq!(seen, types, "every type, not one page's");
    let privileged: Vec<String> = report["privileged_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    let by_word: Vec<String> = groups
        .iter()
        .filter(|g| {
            let name = g.to_lowercase();
            ["admin", "privileged", "superuser", "root"]
                .iter()
                .any(|w| name.contains(w))
        })
        .cloned()
        .collect();
    assert!(
        !by_word.is_empty(),
        "the sandbox has an admin group: {groups:?}"
    );
    assert_eq!(privileged, by_word);
    // As text: the count, and the rule with each group's reason.
    let output = run(&["--base-url", &url, "--page-size", "3", "check"]).await;
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(&format!(
            "users        {users} (counted by a complete listing)"
        )),
        "{said}"
    );
    assert!(!said.contains("count not given"), "{said}");
    assert!(
        said.contains("privileged   groups by names holding admin"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{}: its name holds", by_word[0])),
        "{said}"
    );
    // The profile's list is the list.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("config.toml");
    let named = groups.iter().find(|g| !by_word.contains(g)).unwrap();
    std::fs::write(
        &profile,
        format!("[profiles.p]\nprivileged_groups = [\"{named}\"]\n"),
    )
    .unwrap();
    let output = run(&[
        "--config",
        profile.to_str().unwrap(),
        "--profile",
        "p",
        "--base-url",
        &url,
        "check",
        "--json",
    ])
    .await;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["privileged_groups"][0]["name"], named.as_str());
    assert_eq!(report["privileged_groups"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_ends_quietly_on_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let hires = dir.path().join("hires.csv");
    std::fs::write(&hires, "username,email\nana,ana@example.com\n").unwrap();
    let hires = hires.to_str().unwrap();
    for args in [
        vec!["--sandbox", "check"],
        vec!["--sandbox", "check", "--json"],
        vec!["mapping", "show", "okta"],
        vec!["validate", "--json", hires],
        vec!["--sandbox", "plan", hires],
    ] {
        // Standard output and standard error both into a pipe whose
        // reader is gone (`2>&1 | head` once head has left).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = sebulk()
            .args(&args)
            .env("SEBULK_API_KEY", KEY)
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
    }
    // As a user types it: the first line, and sebulk's own status.
    let line = r#""$0" --sandbox check 2>&1 | head -1; exit "${PIPESTATUS[0]}""#;
    let output = tokio::process::Command::new("bash")
        .args(["-c", line, env!("CARGO_BIN_EXE_sebulk")])
        .env("SEBULK_API_KEY", KEY)
        .env("SEBULK_CONFIG", "/dev/null")
        .env("SEBULK_STATE_DIR", STATE_DIR)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.starts_with("tenant "), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_smaller_texts_say_what_they_mean() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };
    // A template as the mapping wrote it.
    let mapping = write(
        "hr.toml",
        "[fields]\nusername = { template = \"{Work Email|local-part|lower}\" }\nemail = \"Work Email\"\n",
    );
    let input = write("hr.csv", "Work Email\nana@example.com\n");
    let output = run(&["validate", "--mapping", &mapping, &input]).await;
    let said = text(&output);
    assert!(
        said.contains("template '{Work Email|local-part|lower}'"),
        "{said}"
    );
    // Okta's filter names each value once.
    let okta = write(
        "okta.csv",
        "login,email,firstName,lastName,status\nana@example.com,ana@example.com,Ana,Lima,ACTIVE\n",
    );
    let output = run(&["validate", "--preset", "okta", &okta]).await;
    let said = text(&output);
    assert!(
        said.contains("status is none of deprovisioned, deactivated\n"),
        "{said}"
    );
    // plan --skip-invalid does not say a real run refuses the file.
    let sandbox = start(config()).await;
    let url = sandbox.base_url().to_string();
    let mixed = write(
        "mixed.csv",
        "username,email\nnew.one,new.one@example.com\nbad one,not-an-email\n",
    );
    let plan = dir.path().join("plan.csv");
    let plan = plan.to_str().unwrap();
    let args = [
        "--base-url",
        url.as_str(),
        "plan",
        "--auto-password",
        "-o",
        plan,
    ];
    let skipping = run(&[&args[..], &["--skip-invalid", &mixed]].concat()).await;
    let said = text(&skipping);
    assert!(!said.contains("a real run refuses the file"), "{said}");
    assert!(said.contains("with --skip-invalid skips them"), "{said}");
    let refusing = run(&[&args[..], &["--force", &mixed]].concat()).await;
    assert!(text(&refusing).contains("a real run refuses the file"));
    // A profile asked of a config file that is not there says so, by its path.
    let missing = dir.path().join("nowhere.toml");
    let output = run(&[
        "--config",
        missing.to_str().unwrap(),
        "--profile",
        "prod",
        "--sandbox",
        "check",
    ])
    .await;
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("{} does not exist", missing.display())),
        "{said}"
    );
    let home = tempfile::tempdir().unwrap();
    let output = sebulk()
        .env_remove("SEBULK_CONFIG")
        .env("XDG_CONFIG_HOME", home.path())
        .env("SEBULK_API_KEY", KEY)
        .args(["--profile", "prod", "--sandbox", "check"])
        .output()
        .await
        .unwrap();
    let said = text(&output);
    let default = home.path().join("sebulk").join("config.toml");
    assert!(
        said.contains(&format!(
            "{} does not exist (the default file",
            default.display()
        )),
        "{said}"
    );
    let config = write("config.toml", "[profiles.test]\nrate = 5\n");
    let output = run(&[
        "--config",
        &config,
        "--profile",
        "prod",
        "--sandbox",
        "check",
    ])
    .await;
    assert!(
        text(&output).contains("its profiles: test"),
        "{}",
        text(&output)
    );
}
