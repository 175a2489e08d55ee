#![warn(missing_docs)]
// No function over 100 lines (clippy counts its code lines): a longer one
// is split into named steps.
#![warn(clippy::too_many_lines)]
//! sebulk: bulk provisioning between HR spreadsheets and SecurEnvoy Access
//! Management.
//!
//! Layers, top to bottom; dependencies point down only (a test checks):
//!
//! - `cli`: clap types, their resolution into plain jobs, exit codes.
//! - `commands`: one job per command, every row command on one shell
//!   (`commands::shell`); owns signals; hands results to `ui`.
//! - `config`: the tenant and pacing settings (one definition for flags
//!   and profile keys), the profiles, and their resolution into `Config`.
//! - `ui`: the one place that prints (progress, problems, summaries, JSON).
//! - `row_commands`: import, sync, apply, the lifecycle commands and undo,
//!   one module each, each on the engine and none using another;
//! - the engine, which reports through `events` and never prints:
//!   `engine` (the row runner, guard, results, resume, plans and the pieces
//!   commands share), `export` (export, diff),
//!   `decision` (catalog, lookups, per-row decisions), `input` (reading,
//!   mapping, checking), `output` (results, reports, atomic private files);
//! - `api` (the client: paging, memberships, wire-format guesses), built on
//!   `limiter` (rate, pause, retry policy);
//! - `model`: the wire data and field rules, shared by the client and
//!   `sandbox`, the fake tenant, which knows nothing of the client.

pub mod api;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod decision;
pub(crate) mod diff;
pub(crate) mod engine;
pub(crate) mod events;
pub(crate) mod export;
pub(crate) mod formats;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod input;
pub mod limiter;
pub mod model;
pub(crate) mod output;
pub(crate) mod row_commands;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub(crate) mod ui;

pub use commands::{CommandError, Completion};

/// The command line as clap sees it: for completions, manual pages and
/// tests that walk every command's help.
pub fn command_line() -> clap::Command {
    cli::command()
}

use std::ffi::OsString;
use std::process::ExitCode;

use cli::exit;
use ui::Ui;

/// Runs sebulk with `args` (program name first) and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    let ui = Ui::new(cli::config::output(&cli.global));
    ui.init_logging();
    keep_large_buffers_apart();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("sebulk: error: cannot start the async runtime: {err}\n").as_bytes(),
            );
            return ExitCode::from(exit::FATAL);
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let result = runtime.block_on(cli::dispatch(&cli, &env, &ui));
    ui.finish_progress();
    match result {
        Ok(completion) => ExitCode::from(exit::code_for(completion)),
        Err(err) => exit::report(&err),
    }
}

/// Runs a command line (program name first) in-process with `env` for
/// the environment, printing as its `-q`/`-v` say: how tests drive
/// commands. A command line clap refuses is a usage error.
pub async fn dispatch<I, T>(
    args: I,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Completion, CommandError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = cli::parse(args).map_err(|err| CommandError::usage(err.to_string()))?;
    let ui = Ui::new(cli::config::output(&cli.global));
    let result = cli::dispatch(&cli, env, &ui).await;
    ui.finish_progress();
    result
}

/// Large buffers (a group's members in one answer, 1.5 MB at 5,000; the
/// tenant index as it grows) get memory of their own, given back whole
/// when freed. glibc raises that threshold each time such a buffer is
/// freed, after which the next ones come from the heap and leave it
/// fragmented: measured at 100,000 users in groups, a fixed 256 KB
/// threshold kept import's peak at 61 MB (62–65 MB without) and plan's at
/// 53 MB (61 MB), at the same speed.
fn keep_large_buffers_apart() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it takes no pointer
    // and changes no allocation already made.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// The exit code sebulk ends with after `error`.
pub fn exit_code(error: &CommandError) -> u8 {
    exit::classify(error).0
}

#[cfg(test)]
mod layers {
    //! Dependencies point down only: each module may use itself and what
    //! this table allows, nothing else of the crate.

    const ALLOWED: &[(&str, &[&str])] = &[
        ("model", &[]),
        ("formats", &["model"]),
        ("limiter", &[]),
        ("api", &["model", "limiter"]),
        ("sandbox", &["model"]),
        ("input", &["formats", "model"]),
        ("output", &["formats", "model"]),
        ("decision", &["api", "input", "model"]),
        ("events", &["input", "limiter", "output"]),
        ("config", &["api", "formats", "limiter", "model", "sandbox"]),
        ("diff", &["formats", "input", "output"]),
        (
            "export",
            &[
                "api", "events", "formats", "input", "limiter", "model", "output",
            ],
        ),
        (
            "engine",
            &[
                "api", "events", "formats", "input", "limiter", "model", "output", "decision",
            ],
        ),
        (
            "row_commands",
            &[
                "api", "engine", "events", "formats", "input", "limiter", "model", "output",
                "decision",
            ],
        ),
        (
            "ui",
            &[
                "diff",
                "engine",
                "events",
                "export",
                "input",
                "limiter",
                "model",
                "output",
                "decision",
                "row_commands",
            ],
        ),
    ];

    fn sources(path: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                sources(&entry.path(), found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path.to_path_buf());
        }
    }

    #[test]
    fn dependencies_point_down() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut wrong = Vec::new();
        for (module, allowed) in ALLOWED {
            let mut files = Vec::new();
            sources(&root.join(module), &mut files);
            sources(&root.join(format!("{module}.rs")), &mut files);
            assert!(!files.is_empty(), "no sources for {module}");
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                for (number, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    for used in code.split("crate::").skip(1) {
                        let name: String = used
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if name != *module && !allowed.contains(&name.as_str()) {
                            wrong.push(format!(
                                "{}:{}: {module} uses crate::{name}",
                                file.display(),
                                number + 1
                            ));
                        }
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// A write that has not been judged cannot be sent: a command's client
    /// holds every write until shown a `Cleared`, and only the guard makes
    /// one. A new command that wrote around the guard would have to make
    /// one elsewhere, and this names it.
    #[test]
    fn only_the_guard_clears_a_run_to_write() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let minting: Vec<String> = files
            .iter()
            .filter(|file| {
                let text = std::fs::read_to_string(file).unwrap_or_default();
                text.lines().any(|line| {
                    let code = line.split("//").next().unwrap_or_default();
                    code.contains(concat!("Cleared::", "by_the_guard()"))
                })
            })
            .map(|file| module_of(&root, file).join("::"))
            .collect();
        assert_eq!(minting, ["engine::guard"], "{minting:?}");
    }

    /// Every module under `src` with its text.
    fn modules() -> Vec<(Vec<String>, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                (module_of(&root, f), text)
            })
            .collect()
    }

    /// A file's module path: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
    fn module_of(root: &std::path::Path, file: &std::path::Path) -> Vec<String> {
        let relative = file.strip_prefix(root).unwrap_or(file).with_extension("");
        let mut path: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|l| l == "mod" || l == "lib") {
            path.pop();
        }
        path
    }

    /// The modules a file's code (tests aside) names through `crate::` or
    /// `super::` paths, each as the longest known module prefix.
    fn uses(
        module: &[String],
        text: &str,
        known: &std::collections::BTreeSet<Vec<String>>,
    ) -> std::collections::BTreeSet<Vec<String>> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut found = std::collections::BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or_default();
            for (at, _) in line
                .match_indices("crate::")
                .chain(line.match_indices("super::"))
            {
                let path: Vec<&str> = line[at..]
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or_default()
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .collect();
                let mut base: Vec<String> = Vec::new();
                let mut rest = path.as_slice();
                if rest.first() == Some(&"crate") {
                    rest = &rest[1..];
                } else {
                    base = module.to_vec();
                    while rest.first() == Some(&"super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                }
                let target = (0..=rest.len()).rev().find_map(|n| {
                    let mut candidate = base.clone();
                    candidate.extend(rest[..n].iter().map(|s| s.to_string()));
                    known.contains(&candidate).then_some(candidate)
                });
                if let Some(target) = target.filter(|t| !t.is_empty() && !module.starts_with(t)) {
                    found.insert(target);
                }
            }
        }
        found
    }

    /// Commands on an engine: a row command (`row_commands::<command>`,
    /// tests included) uses the engine and never another command, and
    /// nothing in the engine uses a command. What two commands would
    /// share belongs in the engine, named for what it is.
    #[test]
    fn commands_use_the_engine_and_never_each_other() {
        let modules: Vec<(Vec<String>, String)> = modules()
            .into_iter()
            .map(|(module, text)| (module, text.replace("#[cfg(test)]", "")))
            .collect();
        let known = modules.iter().map(|(m, _)| m.clone()).collect();
        let commands = ["row_commands".to_string()];
        let mut wrong = Vec::new();
        for (module, text) in &modules {
            let in_engine = module.first().is_some_and(|m| m == "engine");
            let command = module
                .starts_with(&commands)
                .then(|| module.get(1))
                .flatten();
            for used in uses(module, text, &known) {
                if !used.starts_with(&commands) {
                    continue;
                }
                let other_command = command.is_some_and(|own| used.get(1) != Some(own));
                if in_engine || other_command {
                    wrong.push(format!("{} uses {}", module.join("::"), used.join("::")));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn no_module_uses_one_that_uses_it_back() {
        let modules = modules();
        let known = modules.iter().map(|(m, _)| m.clone()).collect();
        let edges: std::collections::BTreeMap<Vec<String>, _> = modules
            .iter()
            .map(|(m, text)| (m.clone(), uses(m, text, &known)))
            .collect();
        // Depth-first: a module met again while still on the path closes a circle.
        fn visit(
            at: &Vec<String>,
            edges: &std::collections::BTreeMap<
                Vec<String>,
                std::collections::BTreeSet<Vec<String>>,
            >,
            path: &mut Vec<Vec<String>>,
            done: &mut std::collections::BTreeSet<Vec<String>>,
            circles: &mut Vec<String>,
        ) {
            if let Some(start) = path.iter().position(|p| p == at) {
                let names: Vec<String> = path[start..].iter().map(|m| m.join("::")).collect();
                circles.push(format!("{} -> {}", names.join(" -> "), at.join("::")));
                return;
            }
            if !done.insert(at.clone()) {
                return;
            }
            path.push(at.clone());
            for next in edges.get(at).into_iter().flatten() {
                visit(next, edges, path, done, circles);
            }
            path.pop();
        }
        let (mut done, mut circles) = (std::collections::BTreeSet::new(), Vec::new());
        for module in edges.keys() {
            visit(module, &edges, &mut Vec::new(), &mut done, &mut circles);
        }
        assert!(
            circles.is_empty(),
            "import circles:\n{}",
            circles.join("\n")
        );
    }
}
