//! The lifecycle commands and undo against every sandbox variant (list
//! shapes, paged or unpaged member lists, page base, server fields,
//! disabled by default): the same guesses import and export are played
//! against (tests/suite/import/variants.rs).

use std::path::Path;

use sebulk::Completion;

use crate::import::variants::{Case, cases, run, sandbox_config, truth};
use crate::support::{read_csv, start};

/// Field differences between two user exports, by username.
async fn differences(dir: &Path, before: &Path, after: &Path) -> Vec<(String, String, String)> {
    let [b, a] = [before, after].map(|p| p.display().to_string());
    crate::support::export_differences(dir, &b, &a).await
}

/// `export users` with groups and applications, through `case`'s flags.
async fn export_users_to(sandbox: &sebulk::sandbox::SandboxHandle, case: &Case, out: &Path) {
    let out = out.display().to_string();
    let include = ["--include", "groups,applications"];
    let args = [&["export", "users"][..], &include, &["--force", "-o", &out]].concat();
    assert_eq!(
        run(sandbox, case, &args).await,
        Completion::Clean,
        "{}",
        case.name
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_and_undo_work_against_every_variant() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let name = case.name;
        let path = |file: &str| dir.path().join(file);
        let text = |file: &str| path(file).display().to_string();
        let export_users = async |file: &str| {
            export_users_to(&sandbox, &case, &path(file)).await;
            path(file)
        };
        let before = export_users("before.csv").await;
        let tenant_users = sandbox.tenant().users().count();

        // A joiners run that also lists the users the file does not name.
        std::fs::write(
            path("hires.csv"),
            "username,email,firstName,lastName,department,groups,applications\n\
             new.one,new.one@example.com,New,One,Sales,All Staff;Sales,Slack\n\
             person0001,person0001@example.com,,,Dept 9,All Staff;Marketing,\n",
        )
        .unwrap();
        let (hires, results, missing) = (
            text("hires.csv"),
            text("hires.results.csv"),
            text("missing.csv"),
        );
        let args = [
            "import",
            "--sync-groups",
            "--auto-password",
            "--send-email",
            "--report-missing",
            &missing,
            "-o",
            &results,
            &hires,
        ];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        assert_eq!(
            read_csv(&path("missing.csv")).len(),
            tenant_users - 1,
            "{name}: everyone but person0001"
        );

        // An export of memberships imported back writes nothing.
        let members = text("members.csv");
        run(&sandbox, &case, &["export", "memberships", "-o", &members]).await;
        let writes = sandbox.counters().writes;
        let again = text("members.results.csv");
        let args = ["memberships", "import", "-o", &again, &members];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        assert_eq!(sandbox.counters().writes, writes, "{name}: zero writes");

        // A leaver disabled and stripped, read through the variant's lists.
        std::fs::write(path("leavers.csv"), "username\nperson0002\n").unwrap();
        let (leavers, off) = (text("leavers.csv"), text("leavers.offboard.csv"));
        let args = [
            "offboard",
            "--action",
            "disable,revoke-access",
            "--max-affected",
            "1",
            "-o",
            &off,
            &leavers,
        ];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        let state = truth(&sandbox);
        assert_eq!(
            state["person0002"],
            (vec![], vec![]),
            "{name}: access revoked"
        );

        // Factors: one row per user, whatever the list shape.
        let factors = text("factors.csv");
        run(&sandbox, &case, &["export", "factors", "-o", &factors]).await;
        assert_eq!(
            read_csv(&path("factors.csv")).len(),
            tenant_users + 1,
            "{name}"
        );

        // Undo both runs: the tenant is as it was.
        for (results, file) in [(&off, "undo-off.csv"), (&results, "undo-import.csv")] {
            let out = text(file);
            let args = ["undo", "--max-affected", "5", "-o", &out, results];
            assert_eq!(
                run(&sandbox, &case, &args).await,
                Completion::Clean,
                "{name}: {:?}",
                read_csv(&path(file))
            );
        }
        let after = export_users("after.csv").await;
        assert_eq!(differences(dir.path(), &before, &after).await, [], "{name}");

        // A sync of the roster without one person, through the variant's
        // listing: exactly that person leaves; undone, the tenant is back.
        let mut reader = csv::Reader::from_path(&before).unwrap();
        let header = reader.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let gone = rows
            .iter()
            .rposition(|r| {
                r[at("isEnabled")] == *"true" && matches!(&r[at("userType")], "" | "user")
            })
            .expect("an enabled plain user");
        let mut roster = csv::Writer::from_path(path("roster.csv")).unwrap();
        roster.write_record(&header).unwrap();
        for (i, row) in rows.iter().enumerate() {
            if i != gone {
                roster.write_record(row).unwrap();
            }
        }
        roster.flush().unwrap();
        let (roster, synced) = (text("roster.csv"), text("sync.csv"));
        let args = [
            "sync",
            "--match-by",
            "username",
            "--as-of",
            "2026-12-03",
            "--max-affected",
            "1",
            "-o",
            &synced,
            &roster,
        ];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        let changed: Vec<String> = read_csv(&path("sync.csv"))
            .into_iter()
            .filter(|l| l["outcome"] != "unchanged" && l["outcome"] != "protected")
            .map(|l| l["outcome"].clone())
            .collect();
        assert_eq!(changed, ["disabled"], "{name}: one leaver, nothing else");
        let undone = text("undo-sync.csv");
        let args = ["undo", "--max-affected", "5", "-o", &undone, &synced];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        let again = export_users("after-sync.csv").await;
        assert_eq!(differences(dir.path(), &before, &again).await, [], "{name}");
        sandbox.shutdown().await.unwrap();
    }
}

/// Keys that only look alike, through every variant's listing: a username
/// in full-width letters is the same person; one mistyped, with its email
/// right, is a conflict and its user is kept, never let go as absent.
/// A plain joiner beside a tenant user who only imitates that name
/// (`mаrk`, a Cyrillic а) is a conflict against every list shape and
/// paging the tenant's listing may take: never a second account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_joiner_beside_an_imitation_is_refused_against_every_variant() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let name = case.name;
        crate::support::create_mark_imitation(&sandbox).await;
        let users = sandbox.tenant().users().count();
        // An employeeNumber column: the tenant is listed.
        let file = dir.path().join("mark.csv");
        std::fs::write(
            &file,
            "username,email,firstName,lastName,employeeNumber\nmark,mark9@example.com,Mark,Other,4200\n",
        )
        .unwrap();
        let out = dir.path().join("mark.results.csv").display().to_string();
        let file = file.display().to_string();
        let args = ["import", file.as_str(), "-o", out.as_str()];
        assert_ne!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        let line = &read_csv(Path::new(&out))[0];
        assert!(
            line["error"].contains("only looks like 'm\u{430}rk'"),
            "{name}: {line:?}"
        );
        assert_eq!(
            sandbox.tenant().users().count(),
            users,
            "{name}: nothing created"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookalike_keys_make_no_leaver_against_every_variant() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let name = case.name;
        let text = |file: &str| dir.path().join(file).display().to_string();
        let before = text("before.csv");
        let args = ["export", "users", "-o", &before];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        let mut reader = csv::Reader::from_path(&before).unwrap();
        let header = reader.headers().unwrap().clone();
        let at = header.iter().position(|h| h == "username").unwrap();
        let mut roster = csv::Writer::from_path(text("roster.csv")).unwrap();
        roster.write_record(&header).unwrap();
        for row in reader.records() {
            let mut row: Vec<String> = row.unwrap().iter().map(str::to_string).collect();
            row[at] = match row[at].as_str() {
                // Full-width, as an East Asian HR system exports it.
                "person0003" => "person0003"
                    .chars()
                    .map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap())
                    .collect(),
                "person0004" => "persn0004".to_string(),
                other => other.to_string(),
            };
            roster.write_record(&row).unwrap();
        }
        roster.flush().unwrap();
        let (roster, synced, summary) = (text("roster.csv"), text("sync.csv"), text("sync.json"));
        let writes = sandbox.counters().writes;
        let args = [
            "sync",
            "--match-by",
            "username",
            "--as-of",
            "2026-12-03",
            "--max-affected",
            "1",
            "-o",
            &synced,
            "--summary-json",
            &summary,
            &roster,
        ];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::WithProblems,
            "{name}: the mistyped row is a conflict"
        );
        let changed: Vec<(String, String)> = read_csv(Path::new(&synced))
            .into_iter()
            .filter(|l| l["outcome"] != "unchanged" && l["outcome"] != "protected")
            .map(|l| (l["username"].clone(), l["outcome"].clone()))
            .collect();
        assert_eq!(
            changed,
            [("persn0004".to_string(), "conflict".to_string())],
            "{name}: no leaver"
        );
        assert_eq!(sandbox.counters().writes, writes, "{name}: nothing written");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(summary["named_otherwise_users"][0], "person0004", "{name}");
        sandbox.shutdown().await.unwrap();
    }
}

/// The guard on updates holds against every variant (capped pages, bare
/// arrays without totals, pages from 0, paged member lists): a column
/// that disables everyone and a groups column that drops everyone's
/// groups are refused before any write, a roster that names everyone
/// makes no leaver, and an onboarding batch imports with default flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_on_updates_holds_against_every_variant() {
    use crate::import::variants::PEOPLE;
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let name = case.name;
        let path = |file: &str| dir.path().join(file).display().to_string();
        let everyone = |extra: &str, cell: &dyn Fn(usize) -> String| {
            let mut file = format!("username,email,{extra}\n");
            for i in 0..PEOPLE {
                file.push_str(&format!(
                    "person{i:04},person{i:04}@example.com,{}\n",
                    cell(i)
                ));
            }
            file
        };
        let refused = async |file: &str, text: String, extra: &[&str]| {
            std::fs::write(dir.path().join(file), text).unwrap();
            let writes = sandbox.counters().writes;
            let input = path(file);
            let out = path("refused.csv");
            let mut argv: Vec<&str> = case.flags.clone();
            argv.extend_from_slice(extra);
            argv.extend(["--force", "-o", &out, &input]);
            let err = crate::support::against(&sandbox, &argv)
                .await
                .expect_err(&format!("{name}: {file} is refused"));
            assert!(
                err.to_string().contains("refused before any change"),
                "{name}: {err}"
            );
            assert_eq!(sandbox.counters().writes, writes, "{name}: nothing written");
        };
        let disabled = everyone("isEnabled", &|_| "FALSE".into());
        refused("disabled.csv", disabled, &["import"]).await;
        let staff_only = everyone("groups", &|_| "All Staff".into());
        refused("groups.csv", staff_only, &["import", "--sync-groups"]).await;

        // A roster naming everyone (plus joiners) makes no leaver, however
        // the tenant pages its listing.
        let mut roster = everyone("department", &|i| format!("Dept {}", i % 7));
        roster.push_str("joiner.one,joiner.one@example.com,Sales\n");
        std::fs::write(dir.path().join("roster.csv"), roster).unwrap();
        let (input, out) = (path("roster.csv"), path("sync.csv"));
        let args = ["sync", &input, "--as-of", "2026-12-03", "-o", &out];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        let lines = read_csv(Path::new(&out));
        assert!(
            lines
                .iter()
                .all(|l| l["outcome"] != "disabled" && l["outcome"] != "deleted"),
            "{name}: no leavers"
        );
        assert_eq!(sandbox.tenant().users().count(), PEOPLE + 1, "{name}");

        // Onboarding 30 into the tenant takes no flag.
        let mut hires = String::from("username,email,department\n");
        for i in 0..30 {
            hires.push_str(&format!("hire{i:02},hire{i:02}@example.com,Sales\n"));
        }
        std::fs::write(dir.path().join("hires.csv"), hires).unwrap();
        let (input, out) = (path("hires.csv"), path("hires.results.csv"));
        let args = ["import", "--auto-password", "-o", &out, &input];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        assert_eq!(sandbox.tenant().users().count(), PEOPLE + 31, "{name}");
    }
}

/// An update run killed part-way (SIGKILL, writes and membership calls on
/// the wire), resumed, then undone, against every variant (capped pages
/// without totals, bare arrays, pages from 0, paged member lists): the
/// resume finishes every row exactly once, and undo of the resumed run
/// puts the tenant back as it was, whatever shape its lists take.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_update_run_resumed_and_undone_ends_exact_against_every_variant() {
    const MOVERS: usize = 32;
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = sandbox_config(dir.path(), &case);
        // Slow enough that the kill finds updates on the wire (4 at once).
        config.faults.latency = std::time::Duration::from_millis(100);
        let sandbox = start(config).await;
        let name = case.name;
        let path = |file: &str| dir.path().join(file);
        let text = |file: &str| path(file).display().to_string();
        let (before, after) = (path("before.csv"), path("after.csv"));
        export_users_to(&sandbox, &case, &before).await;
        let mut movers = String::from("username,email,department,groups\n");
        for i in 0..MOVERS {
            movers.push_str(&format!(
                "person{i:04},person{i:04}@example.com,Moved,Sales\n"
            ));
        }
        std::fs::write(path("movers.csv"), movers).unwrap();
        let (input, killed, resumed) =
            (text("movers.csv"), text("killed.csv"), text("resumed.csv"));
        let guard = ["--max-affected", "100%"];
        let mut argv: Vec<&str> = case.flags.clone();
        argv.extend(["import", "-o", &killed, &input]);
        argv.extend(guard);
        let child = crate::support::spawned(&sandbox, &argv);
        let from = sandbox.counters().writes;
        crate::support::wait_for_writes(&sandbox, from + 12).await;
        crate::support::send_signal(&child, "-KILL").await;
        let _ = child.wait_with_output().await;
        // The writes on the wire land, as a server finishing them would.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let moved = |sandbox: &sebulk::sandbox::SandboxHandle| {
            sandbox
                .tenant()
                .users()
                .filter(|u| u.fields.department.as_deref() == Some("Moved"))
                .count()
        };
        let landed = moved(&sandbox);
        assert!(
            landed > 0 && landed < MOVERS,
            "{name}: killed part-way ({landed})"
        );

        let args = [
            "import", "--resume", &killed, "-o", &resumed, &input, guard[0], guard[1],
        ];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}"
        );
        assert_eq!(moved(&sandbox), MOVERS, "{name}: every mover moved");
        let state = truth(&sandbox);
        for i in 0..MOVERS {
            let groups = &state[&format!("person{i:04}")].0;
            assert!(
                groups.iter().any(|g| g == "Sales"),
                "{name}: person{i:04} {groups:?}"
            );
        }
        let lines = read_csv(&path("resumed.csv"));
        let rows: std::collections::BTreeSet<&str> =
            lines.iter().map(|l| l["row"].as_str()).collect();
        assert_eq!(
            (lines.len(), rows.len()),
            (MOVERS, MOVERS),
            "{name}: each row once"
        );
        assert!(
            lines
                .iter()
                .all(|l| ["updated", "unchanged"].contains(&l["outcome"].as_str())),
            "{name}: {lines:?}"
        );

        let undone = text("undo.csv");
        let args = ["undo", "--max-affected", "100%", "-o", &undone, &resumed];
        assert_eq!(
            run(&sandbox, &case, &args).await,
            Completion::Clean,
            "{name}: {:?}",
            read_csv(&path("undo.csv"))
        );
        export_users_to(&sandbox, &case, &after).await;
        let left = differences(dir.path(), &before, &after).await;
        let said = |file: &str| {
            let lines = read_csv(&path(file));
            lines
                .into_iter()
                .filter(|l| left.iter().any(|(_, user, _)| &l["username"] == user))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            left,
            [],
            "{name}: resumed {:?} undo {:?}",
            said("resumed.csv"),
            said("undo.csv")
        );
        sandbox.shutdown().await.unwrap();
    }
}
