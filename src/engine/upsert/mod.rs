//! Upserting rows read from a file, as import and sync both do: how
//! (`UpsertOptions`), the whole file read once up front (every row
//! checked, and the results a resumed run goes on from), the values and
//! groups only the tenant knows (learned, and missing groups planned as
//! placeholders and created once the guard has cleared the run), the row
//! action that decides and writes each row (`UpsertAction`) and the
//! writing of one planned row (`write_plan`, which apply uses too). Why
//! such a run is refused before any change is one type, `Refused`.

mod action;

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::Client;
use crate::decision::lookup::Lookups;
use crate::decision::{Catalog, Policy};
use crate::engine::decided_rows::ResultsPlace;
use crate::engine::roster::{FirstPass, RosterKeys};
use crate::engine::runner::RunError;
use crate::events::{Event, Events};
use crate::input::{InputSpec, Vocabulary};
use crate::model::{GroupWrite, Target};
use crate::output::results_file::reader::Resumed;

pub use action::{NEW_GROUP, UpsertAction, pending_changes, write_plan};

/// How rows read from a file are upserted: what import is asked to do,
/// and the import half of a sync.
#[derive(Debug, Clone)]
pub struct UpsertOptions {
    pub input: InputSpec,
    pub policy: Policy,
    /// What the rows' updates may change before the run is refused.
    pub limits: crate::engine::guard::Limits,
    pub skip_invalid: bool,
    /// Write the tenant users the file does not name here.
    pub report_missing: Option<PathBuf>,
    /// Where the results go and how.
    pub run: crate::engine::decided_rows::ResultsOptions,
}

impl UpsertOptions {
    /// Where the rows' results (or plan) go, and how.
    pub fn results_place(&self) -> ResultsPlace<'_> {
        ResultsPlace::of(
            self.run.output.as_deref(),
            self.run.resume.as_deref(),
            crate::output::results_file::writer::FileRules {
                force: self.run.force,
                excel: self.run.excel,
            },
        )
    }

    /// Whether invalid rows let the others go on: `--skip-invalid`, and
    /// always in a plan, which shows the valid rows planned and the
    /// invalid ones with their problems (a header it cannot read still
    /// stops it).
    pub fn past_invalid(&self) -> bool {
        self.skip_invalid || self.run.dry_run
    }
}

/// Why an import or a sync was refused before any change.
#[derive(Debug)]
pub enum Refused {
    /// The file has invalid rows (or a header that cannot be read).
    Rows(Box<FirstPass>),
    /// The guard: the rows would change more than allowed.
    Guard(crate::engine::GuardRefusal),
}

/// Reads the whole input once (every row checked); `Err` inside when the
/// rows refuse the run.
pub async fn read_input(
    options: &UpsertOptions,
    roster: RosterKeys,
    events: &dyn Events,
) -> Result<Result<FirstPass, FirstPass>, RunError> {
    events.on(Event::Phase("reading"));
    let input = options.input.clone();
    let first =
        crate::engine::read_blocking(move || crate::engine::roster::first_pass(&input, roster))
            .await?;
    first.report(events);
    if first.refuses(options.past_invalid()) {
        return Ok(Err(first));
    }
    Ok(Ok(first))
}

/// The vocabulary for reading the rows again: ours, plus every country
/// and user type the tenant uses. Rows only the tenant could vouch for are
/// settled here (a listing is made for them if the lookups made none).
pub async fn learn_tenant_values(
    client: &Client,
    lookups: &Lookups,
    first: &mut FirstPass,
    options: &UpsertOptions,
) -> Result<Arc<Vocabulary>, RunError> {
    let mut vocabulary = (*options.input.vocabulary).clone();
    let seen = match &lookups.seen_values {
        Some(seen) => seen.clone(),
        None if !first.pending.is_empty() => Lookups::tenant_values(client).await?,
        None => Vec::new(),
    };
    for (country, user_type) in &seen {
        vocabulary.learn(country.as_deref(), user_type.as_deref());
    }
    first.settle(|field, value| match field {
        "country" => vocabulary.countries.resolve(value).is_some(),
        _ => vocabulary.user_type(value).is_some(),
    });
    Ok(Arc::new(vocabulary))
}

/// The groups rows name that do not exist (`--create-missing-groups`),
/// put in `catalog` as placeholders: the rows are decided (and a real
/// run judged) against them before any is created.
pub fn plan_missing_groups(
    catalog: &mut Catalog,
    first: &FirstPass,
    options: &UpsertOptions,
) -> Vec<String> {
    if !options.policy.create_missing_groups {
        return Vec::new();
    }
    let mut missing = Vec::new();
    for name in &first.shape.groups {
        // A name mixing scripts (`Εngineering` with a Greek Ε) is a
        // lookalike of a group, never made: its rows name an unknown group.
        if catalog.groups.resolve(name).is_some() || crate::model::text::mixes_scripts(name) {
            continue;
        }
        catalog
            .groups
            .insert(Target::new(format!("{NEW_GROUP}{name}"), name.clone()));
        missing.push(name.clone());
    }
    missing
}

/// The groups a run's rows name that the tenant lacks: with `rehearsed`
/// (the rows were decided first), only those a rehearsed row still adds
/// someone to are made; else all of them.
pub struct MissingGroups<'a> {
    pub names: &'a [String],
    pub rehearsed: bool,
}

impl<'a> MissingGroups<'a> {
    /// Groups the rows need, the rows rehearsed.
    pub fn rehearsed(names: &'a [String]) -> Self {
        MissingGroups {
            names,
            rehearsed: true,
        }
    }
}

/// Where a run's results go (none: on the screen, or standard output
/// `-`), and its id: what the groups it creates are recorded beside.
#[derive(Clone, Copy)]
struct RunResults<'a> {
    path: Option<&'a std::path::Path>,
    run_id: &'a str,
}

/// What a run does before its rows, once the guard has cleared it: an
/// earlier record at its results path set aside (`--force`), the groups
/// of the run it resumes carried into its own record, and the groups its
/// rows need created ([`create_missing_groups`]). Returns the names
/// created.
pub async fn groups_before_rows(
    client: &Client,
    action: &UpsertAction,
    options: &UpsertOptions,
    missing: MissingGroups<'_>,
    (run_id, resumed): (&str, Option<&Resumed>),
) -> Result<Vec<String>, RunError> {
    options
        .run
        .set_aside_earlier(&[options.input.file.as_path()])?;
    if options.run.dry_run {
        return Ok(Vec::new());
    }
    let results = RunResults {
        path: options.run.output.as_deref(),
        run_id,
    };
    if let Some(resumed) = resumed {
        let resume = (options.run.resume.as_deref(), resumed);
        carry_created_groups(client, resume, results)?;
    }
    create_missing_groups(client, action, missing, results).await
}

/// Records the groups the resumed run (`resume`, read as `resumed`)
/// created beside this run's results (`results`: its path and the run's
/// id) as this run's own: a run killed after creating them and resumed
/// leaves them to the resumed results' undo. Nothing without a results
/// file.
fn carry_created_groups(
    client: &Client,
    (resume, resumed): (Option<&std::path::Path>, &Resumed),
    results: RunResults<'_>,
) -> Result<(), RunError> {
    let (Some(from), Some(to)) = (resume, results.path) else {
        return Ok(());
    };
    let run_id = results.run_id;
    if to == std::path::Path::new("-") {
        return Ok(());
    }
    let runs = resumed.run_ids();
    crate::output::results_file::created_groups::carry(
        (from, &runs),
        (to, run_id),
        client.seal_key(),
    )?;
    Ok(())
}

/// Creates the groups [`plan_missing_groups`] found missing that a
/// rehearsed row still adds a user to, once the guard has cleared the run
/// (nothing in a dry run), and puts them in the action's catalog in place
/// of their placeholders. Returns the names created. Each group made is
/// recorded beside the run's results file, for `undo`.
async fn create_missing_groups(
    client: &Client,
    action: &UpsertAction,
    missing: MissingGroups<'_>,
    results: RunResults<'_>,
) -> Result<Vec<String>, RunError> {
    if missing.names.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = match missing.rehearsed {
        true => action.new_groups_wanted(missing.names),
        false => missing.names.to_vec(),
    };
    use crate::output::results_file::created_groups::{CreatedGroup, DESCRIPTION, record};
    let recorded = results.path.filter(|p| *p != std::path::Path::new("-"));
    // Recorded before it is sent (by name) and once answered (with its
    // id): a kill in between leaves undo the name to find it by.
    let note = |id: &str, name: &str| match recorded {
        Some(path) => {
            let group = CreatedGroup {
                id: id.to_string(),
                name: name.to_string(),
                run_id: results.run_id.to_string(),
            };
            record(path, &group, client.seal_key())
        }
        None => Ok(()),
    };
    if let Some(path) = recorded
        && !wanted.is_empty()
    {
        crate::output::results_file::intents::Intents::mark_run(
            path,
            results.run_id,
            client.seal_key(),
        )?;
    }
    let mut created = Vec::new();
    for name in &wanted {
        note("", name)?;
        let group = client
            .create_group(&GroupWrite {
                name: name.clone(),
                description: Some(DESCRIPTION.to_string()),
                enforce_second_factor: None,
            })
            .await?;
        note(&group.id, &group.name)?;
        created.push(Target::new(group.id, group.name));
    }
    action.settle_groups(created);
    Ok(wanted)
}
