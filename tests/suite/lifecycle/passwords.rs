//! `passwords`: set or reset in bulk, never seen again anywhere.

use std::path::Path;

use sebulk::Completion;

use crate::support::{KEY, against, config, read_csv, start};

#[cfg(unix)]
fn private(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_set_and_appear_nowhere() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("resets.csv");
    let secrets = ["Tr0ub4dor&3-first", "correct-horse-battery-2"];
    std::fs::write(
        &input,
        format!(
            "username,password\njonas.becker,{}\npriya.raman,{}\nnobody.here,Some-Password-9\nmateo.garcia,short\n",
            secrets[0], secrets[1]
        ),
    )
    .unwrap();
    let before = std::fs::read(&input).unwrap();
    let times_set = |name: &str| crate::support::times_password_set(&sandbox, name);
    let set_before = [times_set("jonas.becker"), times_set("priya.raman")];

    // Readable by everyone: refused before anything is sent.
    private(&input, 0o644);
    let results = dir.path().join("results.csv");
    let args = [
        "passwords",
        input.to_str().unwrap(),
        "-o",
        results.to_str().unwrap(),
    ];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("a world-readable password file");
    assert!(refused.to_string().contains("chmod 600"), "{refused}");
    assert_eq!(sandbox.counters().writes, 0);

    private(&input, 0o600);
    let summary = dir.path().join("summary.json");
    let output = crate::support::process()
        .env("SEBULK_API_KEY", KEY)
        .env("SEBULK_LOG", "trace")
        .args([
            "--base-url",
            sandbox.base_url().as_str(),
            "-vv",
            "passwords",
            "--must-change-password",
        ])
        .arg(&input)
        .args([
            "-o",
            results.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "two rows fail");
    let lines = read_csv(&results);
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["updated", "updated", "failed", "invalid"]);
    assert_eq!(lines[0]["changes"], "password set");
    assert!(
        lines[3]["error"].contains("at least 8"),
        "{}",
        lines[3]["error"]
    );
    let tenant = sandbox.tenant();
    for (name, before) in ["jonas.becker", "priya.raman"].into_iter().zip(set_before) {
        let user = tenant.user_by_username(name).unwrap();
        assert_eq!(user.password.times_set, before + 1, "{name}: set once more");
        assert!(user.password.must_change_on_logon, "{name}");
    }
    let everything = [
        std::fs::read(&results).unwrap(),
        std::fs::read(&summary).unwrap(),
        output.stdout.clone(),
        output.stderr.clone(),
    ]
    .concat();
    let everything = String::from_utf8_lossy(&everything);
    assert!(everything.len() > 500, "trace logging produced output");
    for secret in secrets.iter().chain(&["Some-Password-9", "short", KEY]) {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is never written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_passwords_for_a_list_of_users() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.csv");
    std::fs::write(&input, "email\nsofia.rossi@northwind.example\n").unwrap();
    let results = dir.path().join("results.csv");
    let args = [
        "passwords",
        "--match-by",
        "email",
        "--auto-generate",
        "--send-email",
        input.to_str().unwrap(),
        "-o",
        results.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let sofia = sandbox
        .tenant()
        .user_by_username("sofia.rossi")
        .cloned()
        .unwrap();
    assert!(sofia.password.auto_generated);
    assert_eq!(
        read_csv(&results)[0]["username"],
        "sofia.rossi@northwind.example"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_never_sets_a_password_twice() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.csv");
    std::fs::write(&input, "username\nsofia.rossi\nmateo.garcia\n").unwrap();
    let results = dir.path().join("users.passwords.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let run = ["passwords", "--auto-password", "--send-email", "-o", &r, &i];
    assert_eq!(against(&sandbox, &run).await.unwrap(), Completion::Clean);
    // The file grows by one user; resumed, only that one is set.
    std::fs::write(
        &input,
        "username\nsofia.rossi\nmateo.garcia\nlars.nilsson\n",
    )
    .unwrap();
    let writes = sandbox.counters().writes;
    let resumed = [
        "passwords",
        "--auto-generate",
        "--send-email",
        "--resume",
        &r,
        "-o",
        &r,
        &i,
    ];
    assert_eq!(
        against(&sandbox, &resumed).await.unwrap(),
        Completion::Clean
    );
    assert_eq!(sandbox.counters().writes - writes, 1);
    let emails = |name: &str| {
        sandbox
            .tenant()
            .user_by_username(name)
            .unwrap()
            .password
            .emails_sent
    };
    assert_eq!(
        [
            emails("sofia.rossi"),
            emails("mateo.garcia"),
            emails("lars.nilsson")
        ],
        [1, 1, 1],
        "one email each"
    );
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["outcome"] == "updated"));
    assert_eq!(lines[0]["run_id"], lines[1]["run_id"]);
    assert_ne!(
        lines[0]["run_id"], lines[2]["run_id"],
        "carried rows keep their run"
    );
}

/// Killed twice (SIGKILL), the second time while resuming into the same
/// results file: every user is set once (at most the requests on the wire
/// at a kill twice), the journal carries what the lines had not yet said,
/// and the final results cover every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_twice_while_resuming_no_user_is_set_again() {
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(30);
    let sandbox = start(slow).await;
    let api = crate::support::client(&sandbox);
    let names: Vec<String> = (1..=60).map(|n| format!("staff{n:03}")).collect();
    for name in &names {
        api.create_user(&crate::support::new_user(name))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.csv");
    std::fs::write(&input, format!("username\n{}\n", names.join("\n"))).unwrap();
    let results = dir.path().join("users.passwords.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let base = sandbox.base_url().to_string();
    // 60 passwords in a tenant of some 90: said, as a run that means it.
    let first = [
        "passwords",
        "--auto-password",
        "--send-email",
        "--max-passwords",
        "60",
        "-o",
        &r,
        &i,
    ];
    let resume = [
        "passwords",
        "--auto-generate",
        "--send-email",
        "--max-passwords",
        "60",
        "--resume",
        &r,
        "-o",
        &r,
        &i,
    ];
    let mut expected_writes = sandbox.counters().writes;
    for (args, writes) in [(&first[..], 15), (&resume[..], 15)] {
        expected_writes += writes;
        let mut child = crate::support::sebulk(&base, args).spawn().unwrap();
        crate::support::wait_for_writes(&sandbox, expected_writes).await;
        child.start_kill().unwrap();
        let _ = child.wait().await;
        expected_writes = sandbox.counters().writes;
        assert!(
            dir.path().join("users.passwords.csv.journal").exists(),
            "a killed run leaves its journal"
        );
    }
    assert_eq!(against(&sandbox, &resume).await.unwrap(), Completion::Clean);
    let emails: Vec<u64> = names
        .iter()
        .map(|n| {
            u64::from(
                sandbox
                    .tenant()
                    .user_by_username(n)
                    .unwrap()
                    .password
                    .emails_sent,
            )
        })
        .collect();
    assert!(
        emails.iter().all(|e| *e >= 1),
        "everyone is set: {emails:?}"
    );
    let twice = emails.iter().filter(|e| **e > 1).count();
    assert!(twice <= 8, "only requests on the wire at a kill: {twice}");
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 60);
    assert!(lines.iter().all(|l| l["outcome"] == "updated"), "{lines:?}");
    assert!(!dir.path().join("users.passwords.csv.journal").exists());
    assert!(!dir.path().join("users.passwords.resuming.csv").exists());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_columns_by_any_common_name_and_ragged_rows_never_shifted() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("out.csv");
    let r = results.display().to_string();
    for column in [
        "New Password",
        "pwd",
        "Passwort",
        "Mot de passe",
        "Contraseña",
    ] {
        let input = dir.path().join("users.csv");
        std::fs::write(
            &input,
            format!("username,{column}\nsofia.rossi,Correct-Horse-9\n"),
        )
        .unwrap();
        std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
        let i = input.display().to_string();
        let refused = against(&sandbox, &["passwords", "-o", &r, "--force", &i])
            .await
            .expect_err("a readable password file");
        assert!(
            refused.to_string().contains("holds passwords"),
            "{column}: {refused}"
        );
        std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            against(&sandbox, &["passwords", "-o", &r, "--force", &i])
                .await
                .unwrap(),
            Completion::Clean,
            "{column}"
        );
        let text = std::fs::read_to_string(&results).unwrap();
        assert!(!text.contains("Correct-Horse-9"), "{column}: {text}");
    }
    // A column that looks like passwords but is not one we read: refused.
    let input = dir.path().join("odd.csv");
    std::fs::write(
        &input,
        "username,Secret Password Value\nsofia.rossi,Hunter2-Hunter2\n",
    )
    .unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
    let i = input.display().to_string();
    let refused = against(
        &sandbox,
        &["passwords", "--auto-generate", "-o", &r, "--force", &i],
    )
    .await
    .expect_err("looks like a password column");
    assert!(
        refused.to_string().contains("looks like a password column"),
        "{refused}"
    );

    // A ragged row (an unquoted comma in a name): invalid, nothing set.
    let input = dir.path().join("ragged.csv");
    std::fs::write(
        &input,
        "username,lastName,password\nmateo.garcia,Smith, J@x,Secret-Pass-1\n",
    )
    .unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
    let i = input.display().to_string();
    let writes = sandbox.counters().writes;
    assert_eq!(
        against(&sandbox, &["passwords", "-o", &r, "--force", &i])
            .await
            .unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&results);
    assert_eq!(lines[0]["outcome"], "invalid", "{lines:?}");
    assert!(lines[0]["error"].contains("4 cells"), "{lines:?}");
    assert_eq!(sandbox.counters().writes, writes);

    // The same ragged row naming a leaver: failed, nobody touched.
    let leavers = dir.path().join("leavers.csv");
    std::fs::write(
        &leavers,
        "username,lastName,email\nmateo.garcia,Smith, Jo,x@y.example\n",
    )
    .unwrap();
    let l = leavers.display().to_string();
    assert_eq!(
        against(
            &sandbox,
            &["offboard", "--action", "delete", "-o", &r, "--force", &l]
        )
        .await
        .unwrap(),
        Completion::WithProblems
    );
    assert_eq!(read_csv(&results)[0]["outcome"], "failed");
    assert_eq!(sandbox.counters().writes, writes);
}

/// A passwords file that names most of the tenant is refused before any
/// password is set (a file meant for a few, pointed at everyone); said
/// with --max-passwords, it is done.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passwords_file_naming_most_of_the_tenant_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = crate::support::start(crate::support::config()).await;
    let api = crate::support::client(&sandbox);
    for i in 0..30 {
        api.create_user(&crate::support::new_user(&format!("staff{i:02}")))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("everyone.csv");
    let mut text = String::from("username\n");
    for i in 0..30 {
        text.push_str(&format!("staff{i:02}\n"));
    }
    std::fs::write(&input, text).unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
    let writes = sandbox.counters().writes;
    let results = dir.path().join("results.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let args = ["passwords", "--auto-password", &i, "-o", &r];
    let refused = against(&sandbox, &args).await.expect_err("too many");
    assert!(
        refused.to_string().contains("--max-passwords 30"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes, "none set");
    let args = [
        "passwords",
        "--auto-password",
        "--max-passwords",
        "30",
        &i,
        "-o",
        &r,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes + 30);
}
