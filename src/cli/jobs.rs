//! From parsed options to the plain job each command runs: one function
//! per command, so `dispatch` is only the table that pairs them. Paths
//! for results are decided here (`-o`, `--results-dir`, beside the
//! input), and the profile is consulted through one [`ProfileSource`].
//!
//! Adding a command (its job function here is one step): the one recipe
//! is in the docs of [`crate::commands`].

use std::path::{Path, PathBuf};

use super::args::{self, ImportArgs, PlanArgs, PolicyArgs};
use super::config::{self, ProfileSource};
use super::end::summary_path;
use crate::commands::CommandError;
use crate::commands::export::{DiffJob, ExportJob};
use crate::commands::import::ImportJob;
use crate::commands::lifecycle::LifecycleJob;
use crate::commands::mapping::InitJob;
#[cfg(feature = "sandbox")]
use crate::commands::sandbox::SandboxJob;
use crate::commands::shell::RowJob;
use crate::commands::tenant_lock::LockRequest;
use crate::commands::validate::ValidateJob;
use crate::decision::Policy;
use crate::diff::DiffOptions;
use crate::engine::decided_rows::ResultsOptions;
use crate::engine::upsert::UpsertOptions;
use crate::export::ExportOptions;
use crate::output::files::timestamped;
use crate::row_commands::apply::ApplyOptions;
use crate::row_commands::groups::GroupsOptions;
use crate::row_commands::memberships::MembershipsOptions;
use crate::row_commands::offboard::{OffboardOptions, Who};
use crate::row_commands::passwords::PasswordsOptions;
use crate::row_commands::restore::RestoreOptions;
use crate::row_commands::undo::UndoOptions;
#[cfg(feature = "sandbox")]
use crate::sandbox::{Faults, SandboxConfig, Seed, Variant};

/// The import policy: the command line, or else the mapping's options.
fn policy(
    spec: &crate::input::InputSpec,
    args: &PolicyArgs,
    profile: &crate::config::profile::Profile,
) -> Policy {
    let options = spec.mapping.as_ref().map(|m| &m.file.options);
    let set =
        |flag: bool, option: fn(&crate::input::mapping::file::MappingOptions) -> Option<bool>| {
            flag || options.and_then(option).unwrap_or(false)
        };
    Policy {
        mode: spec.rules.mode,
        match_by: spec.rules.match_by,
        sync_groups: set(args.sync_groups, |o| o.sync_groups),
        sync_applications: set(args.sync_applications, |o| o.sync_applications),
        create_missing_groups: set(args.create_missing_groups, |o| o.create_missing_groups),
        reset_passwords: args.reset_passwords,
        auto_password: spec.rules.auto_password,
        must_change_password: set(args.passwords.must_change_password, |o| {
            o.must_change_password
        }),
        send_email: spec.rules.send_email,
        privilege: privilege_rules(profile, &args.allow_privileged),
    }
}

/// Which groups are privileged (the profile's list) and whom the run may
/// raise or change although privileged (`--allow-privileged`, then the
/// profile's `allow_privileged`).
fn privilege_rules(
    profile: &crate::config::profile::Profile,
    named: &[String],
) -> crate::decision::access::PrivilegeRules {
    crate::decision::access::PrivilegeRules {
        groups: profile.privileged_groups.clone(),
        allowed: named
            .iter()
            .chain(&profile.allow_privileged)
            .map(|user| user.trim().to_string())
            .filter(|user| !user.is_empty())
            .collect(),
        ..Default::default()
    }
}

/// A lifecycle command's job: its options, where its summary goes, and
/// what it asks of the tenant's lock.
fn lifecycle_job<O>(
    options: O,
    (run, command): (&args::RunArgs, &'static str),
) -> crate::commands::lifecycle::LifecycleJob<O> {
    crate::commands::lifecycle::LifecycleJob {
        options,
        summary_json: summary_path(&run.summary, &run.record),
        json: run.summary.json,
        lock: lock_request(run, command),
    }
}

/// What a writing run asks of its tenant's lock: who it is, and `--wait`.
fn lock_request(run: &args::RunArgs, command: &'static str) -> LockRequest {
    LockRequest {
        command,
        wait: std::time::Duration::from_secs(run.wait),
    }
}

/// How a run records, from its shared options, the results path and
/// the file it resumes.
fn recording(
    run: &args::RunArgs,
    output: Option<PathBuf>,
    resume: Option<PathBuf>,
) -> ResultsOptions {
    ResultsOptions {
        output,
        force: run.force,
        excel: run.record.excel,
        dry_run: run.dry_run,
        resume,
    }
}

/// Where a command's results go, from its shared run options.
fn results_of(
    run: &args::RunArgs,
    input: &Path,
    what: &str,
) -> Result<Option<PathBuf>, CommandError> {
    record_path(&run.output, &run.record, run.dry_run, input, what)
}

/// Where a run's results (or plan) go: `-o FILE`; a new timestamped file in
/// `--results-dir`; nothing for a dry run (the screen shows it); else
/// `<input stem>.<what>.csv` beside the input.
fn record_path(
    output: &Option<PathBuf>,
    record: &args::RecordArgs,
    dry_run: bool,
    input: &Path,
    what: &str,
) -> Result<Option<PathBuf>, CommandError> {
    match (output, &record.results_dir) {
        (Some(path), _) => Ok(Some(path.clone())),
        (None, Some(dir)) => Ok(Some(crate::output::files::timestamped(dir, input, what)?)),
        (None, None) if dry_run => Ok(None),
        (None, None) if input == Path::new("-") => Err(CommandError::usage(
            "reading standard input, the results need -o/--results FILE or --results-dir DIR",
        )),
        (None, None) => Ok(Some(crate::output::beside(input, &format!("{what}.csv")))),
    }
}

/// How an import-like command (plan, import, sync) reads its file.
fn import_spec(
    profile: &ProfileSource,
    input: &args::InputArgs,
    policy: &PolicyArgs,
) -> Result<crate::input::InputSpec, CommandError> {
    Ok(config::input_spec(
        profile.get()?,
        &input.file,
        &input.rules,
        &policy.passwords,
    )?)
}

pub fn plan_job(profile: &ProfileSource, args: &PlanArgs) -> Result<ImportJob, CommandError> {
    let spec = import_spec(profile, &args.input, &args.policy)?;
    let spec_file = spec.file.clone();
    Ok(ImportJob {
        options: UpsertOptions {
            policy: policy(&spec, &args.policy, profile.get()?),
            input: spec,
            limits: Default::default(),
            skip_invalid: args.skip_invalid,
            run: ResultsOptions {
                output: record_path(&args.output, &args.record, true, &spec_file, "plan")?,
                force: args.force,
                excel: args.record.excel,
                dry_run: true,
                resume: None,
            },
            report_missing: args.report_missing.clone(),
        },
        summary_json: summary_path(&args.summary, &args.record),
        json: args.summary.json,
        // A plan never writes: it takes no lock.
        lock: LockRequest {
            command: "plan",
            wait: std::time::Duration::ZERO,
        },
    })
}

/// What an import's updates may change: its own flags, else the profile.
fn import_limits(
    profile: &crate::config::profile::Profile,
    args: &ImportArgs,
) -> Result<crate::engine::guard::Limits, CommandError> {
    let guard = args::GuardArgs {
        max_affected: args.max_affected,
        changes: args.changes.clone(),
        ..Default::default()
    };
    Ok(config::guard(profile, &guard)?.1)
}

pub fn import_job(profile: &ProfileSource, args: &ImportArgs) -> Result<ImportJob, CommandError> {
    let spec = import_spec(profile, &args.input, &args.policy)?;
    let output = record_path(
        &args.run.output,
        &args.run.record,
        args.run.dry_run,
        &spec.file,
        if args.run.dry_run { "plan" } else { "results" },
    )?;
    Ok(ImportJob {
        options: UpsertOptions {
            policy: policy(&spec, &args.policy, profile.get()?),
            input: spec,
            limits: import_limits(profile.get()?, args)?,
            skip_invalid: args.skip_invalid,
            run: recording(&args.run, output, args.resume.clone()),
            report_missing: args.report_missing.clone(),
        },
        summary_json: summary_path(&args.run.summary, &args.run.record),
        json: args.run.summary.json,
        lock: lock_request(&args.run, "import"),
    })
}

/// Whether the input (as its mapping reads it) has an employeeNumber column.
fn holds_employee_numbers(spec: &crate::input::InputSpec) -> Result<bool, CommandError> {
    use crate::input::columns::{Column, column_for};
    if spec.file.as_os_str() == "-" {
        return Ok(false);
    }
    let (source, _, _) = crate::input::scan::open_with(spec, spec.vocabulary.clone())?;
    Ok(source
        .header()
        .iter()
        .any(|name| column_for(name) == Some(Column::Text(crate::model::Field::EmployeeNumber))))
}

/// `--scope 'column = "department", not_in = ["Contractors"]'`: each a
/// mapping filter (docs/mapping.md) on a user field, as an inline table.
fn scope_filters(
    texts: &[String],
    (as_of, date_order): (i64, Option<crate::model::dates::DateOrder>),
) -> Result<Vec<(crate::model::Field, crate::input::mapping::filter::Filter)>, CommandError> {
    use crate::input::columns::{Column, column_for};
    use crate::input::mapping::filter::{Filter, FilterSpec};
    #[derive(serde::Deserialize)]
    struct Wrapped {
        scope: FilterSpec,
    }
    let mut filters = Vec::new();
    for text in texts {
        let wrapped: Wrapped = toml::from_str(&format!("scope = {{ {text} }}")).map_err(|e| {
            CommandError::usage(format!(
                "--scope '{text}': {} (write a filter as in a mapping, e.g. column = \"department\", in = [\"Sales\"])",
                e.message()
            ))
        })?;
        let field = match column_for(&wrapped.scope.column) {
            Some(Column::Text(field) | Column::Bool(field)) => field,
            _ => {
                return Err(CommandError::usage(format!(
                    "--scope: '{}' is not a user field",
                    wrapped.scope.column
                )));
            }
        };
        let filter = Filter::compile(&wrapped.scope, as_of, date_order)
            .map_err(|e| CommandError::usage(format!("--scope: {e}")))?;
        filters.push((field, filter));
    }
    Ok(filters)
}

/// `sync ROSTER`: the roster read as import reads a file, the dates it
/// is decided by, the leavers' actions and the guard.
pub fn sync_job(
    profile: &ProfileSource,
    args: &args::SyncArgs,
) -> Result<RowJob<crate::row_commands::sync::SyncOptions>, CommandError> {
    use crate::row_commands::sync::{Dates, SyncOptions};
    let mut spec = import_spec(profile, &args.input, &args.policy)?;
    let date_order = spec.vocabulary.date_order;
    let as_of = match &args.as_of {
        None => crate::model::dates::today(),
        Some(text) => crate::model::dates::parse_date(text, date_order).map_err(|why| {
            let hint = match why {
                crate::model::dates::DateError::NotADate(_) => " (write YYYY-MM-DD)",
                _ => "",
            };
            CommandError::usage(format!("--as-of: {why}{hint}"))
        })?,
    };
    let match_by_given = args.input.rules.match_by.is_some()
        || spec
            .mapping
            .as_ref()
            .is_some_and(|m| m.file.options.match_by.is_some());
    if !match_by_given && holds_employee_numbers(&spec)? {
        // HR's own key: a person keeps it through renames and rehires.
        spec.rules.match_by = crate::input::MatchBy::EmployeeNumber;
    }
    // Two people may share a name: a joiner whose username is taken gets a free one.
    spec.rules.usernames_may_repeat = spec.rules.match_by != crate::input::MatchBy::Username;
    // Keyed on something else, only joiners need a username (given them
    // by a documented default when the roster has none).
    spec.rules.usernames_for_joiners = spec.rules.usernames_may_repeat;
    let derived_usernames = spec.rules.username_from.is_some()
        || spec.mapping.as_ref().is_some_and(|m| m.derives_username());
    let leavers = crate::engine::leavers::Step::parse_list(&args.leavers)
        .map_err(|why| CommandError::usage(format!("--leavers: {why}")))?;
    let (protection, limits) = config::guard(profile.get()?, &args.guard)?;
    let output = results_of(&args.run, &spec.file, "sync")?;
    Ok(RowJob {
        options: SyncOptions {
            import: UpsertOptions {
                policy: policy(&spec, &args.policy, profile.get()?),
                input: spec,
                limits,
                // A bad row stops only itself: invalid rows are recorded
                // and the rest runs, unless the roster looks broken.
                skip_invalid: true,
                run: recording(&args.run, output, None),
                report_missing: None,
            },
            any_invalid: args.skip_invalid,
            derived_usernames,
            dates: Dates {
                as_of,
                create_ahead: i64::from(args.create_ahead),
            },
            leavers,
            limits,
            scope: crate::row_commands::sync::Scope {
                protection,
                filters: scope_filters(&args.scope, (as_of, date_order))?,
            },
            on_collision: match args.on_collision.as_str() {
                "fail" => crate::row_commands::sync::OnCollision::Fail,
                _ => crate::row_commands::sync::OnCollision::Suffix,
            },
        },
        summary_json: summary_path(&args.run.summary, &args.run.record),
        json: args.run.summary.json,
        lock: lock_request(&args.run, "sync"),
    })
}

pub fn offboard_job(
    profile: &ProfileSource,
    args: &args::OffboardArgs,
) -> Result<
    crate::commands::lifecycle::LifecycleJob<crate::row_commands::offboard::OffboardOptions>,
    CommandError,
> {
    use crate::engine::leavers::Step;
    use crate::row_commands::offboard::{OffboardOptions, Who};
    let file = args
        .names
        .as_ref()
        .or(args.roster.as_ref())
        .cloned()
        .unwrap_or_default();
    let spec = config::input_spec(profile.get()?, &file, &args.rules, &Default::default())?;
    let steps = Step::parse_list(&args.action).map_err(CommandError::usage)?;
    let output = results_of(&args.run, &file, "offboard")?;
    let guard = config::guard(profile.get()?, &args.guard)?;
    Ok(lifecycle_job(
        OffboardOptions {
            who: if args.roster.is_some() {
                Who::Roster(spec)
            } else {
                Who::Named(spec)
            },
            steps,
            max_unmatched: args.max_unmatched,
            limits: guard.1,
            protection: guard.0,
            run: recording(&args.run, output, args.resume.clone()),
        },
        (&args.run, "offboard"),
    ))
}

#[cfg(feature = "sandbox")]
pub fn sandbox_job(
    cli: &super::args::Cli,
    args: &args::SandboxArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SandboxJob, CommandError> {
    use crate::config::API_KEY_ENV;
    let key = args.key.or(&cli.early_tenant.key);
    let (api_key, key_source) = match (&key.api_key_file, env(API_KEY_ENV)) {
        (Some(path), _) => (
            crate::config::read_key_file(path)?,
            Some(path.display().to_string()),
        ),
        (None, Some(key)) if crate::config::clean_key(&key).is_some() => (
            secrecy::SecretString::from(crate::config::clean_key(&key).unwrap_or_default()),
            Some(format!("${API_KEY_ENV}")),
        ),
        _ => (crate::sandbox::random_key(), None),
    };
    let seed = match (&args.seed_data, args.empty) {
        (Some(path), _) => Seed::File(path.clone()),
        (None, true) => Seed::Empty,
        (None, false) => Seed::Demo,
    };
    Ok(SandboxJob {
        config: SandboxConfig {
            listen: args.listen,
            api_key,
            auth_scheme: key.auth_scheme.unwrap_or_default(),
            seed,
            state_file: args.state.clone(),
            faults: Faults {
                latency: std::time::Duration::from_millis(args.latency_ms),
                rate_limit: args.rate_limit,
                fail_rate: args.fail_rate,
                drop_rate: args.drop_rate,
                max_page_size: args.max_page_size,
                seed: args.seed,
                ..Faults::default()
            },
            variant: Variant {
                list_shape: args.list_shape,
                members_paged: args.members_paged,
                page_base: if args.zero_based_pages { 0 } else { 1 },
                server_fields: args.server_fields,
                unknown_fields: args.unknown_fields,
                enabled_by_default: !args.disabled_by_default,
                forbidden: args.forbidden.clone(),
                credentials_404: args.credentials_404,
                numbered_user_types: args.numbered_user_types,
            },
            idle_timeout: std::time::Duration::from_secs(60),
        },
        key_source,
    })
}

/// `validate`: how the file is read and checked, and where problems go.
pub fn validate_job(
    profile: &ProfileSource,
    args: &args::ValidateArgs,
) -> Result<ValidateJob, CommandError> {
    Ok(ValidateJob {
        spec: config::input_spec(
            profile.get()?,
            &args.input.file,
            &args.input.rules,
            &args.passwords,
        )?,
        report: args.output.clone(),
        force: args.force,
        json: args.json,
        summary_json: args.summary_json.clone(),
    })
}

/// `export`: what is listed and how it is written.
pub fn export_job(args: &args::ExportArgs) -> Result<ExportJob, CommandError> {
    let output = match &args.output_dir {
        Some(dir) => {
            let stem = args.what.name();
            let extension = match args.format {
                crate::output::records::Format::Csv => "csv",
                crate::output::records::Format::Jsonl => "jsonl",
            };
            crate::output::files::timestamped_as(dir, (stem, "export"), extension)?
        }
        None => args.output.clone(),
    };
    Ok(ExportJob {
        options: ExportOptions {
            entity: args.what,
            output,
            format: args.format,
            filters: args.filter.clone(),
            sort: args.sort.clone(),
            order: args.order,
            page_size: None,
            include_groups: args.include.iter().any(|i| i == "groups"),
            include_applications: args.include.iter().any(|i| i == "applications"),
            sanitize: !args.no_sanitize,
            excel: args.excel,
            force: args.force,
            allow_incomplete: args.allow_incomplete,
        },
        summary_json: args.summary.summary_json.clone(),
        json: args.summary.json,
    })
}

/// `diff`: two exports compared.
pub fn diff_job(args: &args::DiffArgs) -> DiffJob {
    DiffJob {
        options: DiffOptions {
            old: args.old.clone(),
            new: args.new.clone(),
            output: args.output.clone(),
            force: args.force,
            key: args.key,
            copy: None,
        },
        // The changes go to standard output: the report reads a copy.
        copy_for_report: args.end.report.is_some() && args.output == std::path::Path::new("-"),
        exit_code: args.exit_code,
        json: args.json,
        summary_json: args.summary_json.clone(),
    }
}

/// `approve HELD`: an offboarding of exactly the users a refused run held.
pub fn approve_job(
    profile: &ProfileSource,
    args: &args::ApproveArgs,
) -> Result<LifecycleJob<OffboardOptions>, CommandError> {
    let output = results_of(&args.run, &args.held, "approve")?;
    Ok(lifecycle_job(
        OffboardOptions {
            who: Who::Held(args.held.clone()),
            // The held file says which; read with it.
            steps: Vec::new(),
            max_unmatched: None,
            // The held count is the acknowledgement (set on reading it).
            limits: Default::default(),
            protection: config::protection(profile.get()?, &args.protect)?,
            run: recording(&args.run, output, None),
        },
        (&args.run, "approve"),
    ))
}

/// `passwords`: whose password is set, and how.
pub fn passwords_job(
    profile: &ProfileSource,
    args: &args::PasswordsArgs,
) -> Result<LifecycleJob<PasswordsOptions>, CommandError> {
    let spec = config::input_spec(profile.get()?, &args.file, &args.rules, &Default::default())?;
    let output = results_of(&args.run, &args.file, "passwords")?;
    Ok(lifecycle_job(
        PasswordsOptions {
            input: spec,
            auto_generate: args.auto_generate,
            send_email: args.send_email,
            must_change: args.must_change,
            run: recording(&args.run, output, args.resume.clone()),
            protection: config::protection(
                profile.get()?,
                &args::ProtectArgs {
                    protect: args.protect.clone(),
                    include_privileged: false,
                },
            )?,
            privilege: privilege_rules(profile.get()?, &args.allow_privileged),
            max_passwords: args.max_passwords,
        },
        (&args.run, "passwords"),
    ))
}

/// `groups import`: the groups file, and whether others are pruned.
pub fn groups_job(
    profile: &ProfileSource,
    args: &args::GroupsImportArgs,
) -> Result<LifecycleJob<GroupsOptions>, CommandError> {
    let output = results_of(&args.run, &args.file, "groups")?;
    let (protection, limits) = config::guard(profile.get()?, &args.guard)?;
    Ok(lifecycle_job(
        GroupsOptions {
            file: args.file.clone(),
            read: args.read.options(),
            prune: args.prune,
            limits,
            protection,
            run: recording(&args.run, output, None),
        },
        (&args.run, "groups import"),
    ))
}

/// `memberships import`: the rows, and the targets kept in sync.
pub fn memberships_job(
    profile: &ProfileSource,
    args: &args::MembershipsImportArgs,
) -> Result<LifecycleJob<MembershipsOptions>, CommandError> {
    let output = results_of(&args.run, &args.file, "memberships")?;
    let (protection, limits) = config::guard(profile.get()?, &args.guard)?;
    Ok(lifecycle_job(
        MembershipsOptions {
            file: args.file.clone(),
            read: args.read.options(),
            sync: args
                .sync
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            limits,
            protection,
            privilege: privilege_rules(profile.get()?, &args.allow_privileged),
            run: recording(&args.run, output, None),
        },
        (&args.run, "memberships import"),
    ))
}

/// Whether snapshots sealed the old way are read (`--accept-old-seal`).
fn old_seals(accept: bool) -> crate::output::snapshot::OldSeals {
    if accept {
        crate::output::snapshot::OldSeals::Accept
    } else {
        crate::output::snapshot::OldSeals::Refuse
    }
}

/// Where a restore's or undo's own results go: `-o`, else a new
/// timestamped file (`<stem>.<what>.<time>-<process>.csv`) in
/// `--results-dir` or beside the file it reads, so a second restore of
/// one snapshot (another `--only`) never needs `--force`; nothing for a
/// dry run.
fn own_results(
    run: &args::RunArgs,
    read: &Path,
    what: &str,
) -> Result<Option<PathBuf>, CommandError> {
    Ok(match (&run.output, &run.record.results_dir, run.dry_run) {
        (Some(path), _, _) => Some(path.clone()),
        (None, Some(dir), _) => Some(timestamped(dir, read, what)?),
        (None, None, true) => None,
        (None, None, false) => {
            let dir = read.parent().unwrap_or(Path::new(""));
            Some(timestamped(dir, read, what)?)
        }
    })
}

/// `restore SNAPSHOT`.
pub fn restore_job(
    profile: &ProfileSource,
    args: &args::RestoreArgs,
) -> Result<LifecycleJob<RestoreOptions>, CommandError> {
    let output = own_results(&args.run, &args.snapshot, "restore")?;
    Ok(lifecycle_job(
        RestoreOptions {
            only: args.only.names(),
            snapshot: args.snapshot.clone(),
            send_email: args.send_email,
            old_seals: old_seals(args.accept_old_seal),
            run: recording(&args.run, output, None),
            protection: config::protection(profile.get()?, &args.protect)?,
        },
        (&args.run, "restore"),
    ))
}

/// `undo RESULTS`: each undo keeps its own record beside the run it
/// reverses (a new timestamped file), unless told otherwise.
pub fn undo_job(
    profile: &ProfileSource,
    args: &args::UndoArgs,
) -> Result<LifecycleJob<UndoOptions>, CommandError> {
    let run = &args.run;
    let output = own_results(run, &args.results, "undo")?;
    let (protection, limits) = config::guard(profile.get()?, &args.guard)?;
    Ok(lifecycle_job(
        UndoOptions {
            only: args.only.names(),
            results: args.results.clone(),
            run: recording(run, output, args.resume.clone()),
            limits,
            protection,
            send_email: args.send_email,
            include_conflicts: args.include_conflicts,
            old_seals: old_seals(args.accept_old_seal),
        },
        (run, "undo"),
    ))
}

/// `apply PLAN`: results beside the plan unless told otherwise.
pub fn apply_job(
    profile: &ProfileSource,
    args: &args::ApplyArgs,
) -> Result<LifecycleJob<ApplyOptions>, CommandError> {
    let output = results_of(&args.run, &args.plan, "apply")?;
    let profile = profile.get()?;
    let (protection, limits) = config::guard(profile, &args.guard)?;
    let as_of = match &args.as_of {
        None => crate::model::dates::today(),
        Some(text) => crate::model::dates::parse_date(text.trim(), None)
            .map_err(|why| CommandError::usage(format!("--as-of: {why} (write YYYY-MM-DD)")))?,
    };
    Ok(lifecycle_job(
        ApplyOptions {
            plan: args.plan.clone(),
            skip_drifted: args.skip_drifted,
            limits,
            protection,
            privilege: privilege_rules(profile, &args.allow_privileged),
            as_of: crate::row_commands::sync::day_text(as_of),
            run: recording(&args.run, output, args.resume.clone()),
        },
        (&args.run, "apply"),
    ))
}

/// `mapping init`.
pub fn mapping_init_job(args: &args::MappingInitArgs) -> InitJob {
    InitJob {
        file: args.file.clone(),
        read: args.read.options(),
        output: args.output.clone(),
        force: args.force,
    }
}
