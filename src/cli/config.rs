//! Resolves a command's own flags against the profile: how its input is
//! read and checked, its guard rails, and what the user wants to see.
//! (The tenant and pacing are resolved by [`crate::config`].)
//!
//! Precedence: command line, then environment (both via clap), then the
//! profile, then our defaults.

use super::args::GlobalArgs;
use crate::config::ConfigError;
pub use crate::config::profile::{Profile, ProfileSource};
use crate::input::mapping::file::MappingOptions;
use crate::ui::Output;

/// Resolves how an input is read and checked: the command line, then the
/// mapping's options, then the profile (countries, strictness, date
/// order), then our defaults.
pub fn input_spec(
    profile: &Profile,
    file: &std::path::Path,
    input: &super::args::InputRuleArgs,
    passwords: &super::args::PasswordArgs,
) -> Result<crate::input::InputSpec, ConfigError> {
    use crate::input::mapping::Mapping;
    use crate::input::{InputSpec, ReadOptions, Rules, Vocabulary};
    use crate::model::country::Countries;
    let mapping = match (&input.mapping, &input.preset) {
        (Some(path), _) => Some(Mapping::read(path)),
        (None, Some(name)) => Some(Mapping::preset(name)),
        (None, None) => None,
    }
    .transpose()
    .map_err(|e| ConfigError::Mapping(e.to_string()))?;
    let options = mapping
        .as_ref()
        .map(|m| m.file.options.clone())
        .unwrap_or_default();
    // One order for every date the run reads: the command line, then the
    // mapping (it describes this feed), then the profile.
    let date_order = input
        .date_order
        .or(mapping.as_ref().and_then(|m| m.date_order))
        .or(profile.date_order);
    let mapping = mapping.map(|mut mapping| {
        mapping.date_order = date_order;
        mapping
    });
    let mut vocabulary = Vocabulary {
        strict: input.strict || profile.strict.unwrap_or(false) || options.strict.unwrap_or(false),
        date_order,
        ..Vocabulary::default()
    };
    let countries_only = input.countries_only || profile.countries_only.unwrap_or(false);
    if let Some(path) = input.countries.as_ref().or(profile.countries.as_ref()) {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ConfigRead {
            path: shown.clone(),
            source,
        })?;
        if countries_only {
            vocabulary.countries = Countries::empty();
        }
        vocabulary.countries.add_file_text(&text, &shown)?;
    }
    let ignore_columns = input
        .ignore_columns
        .iter()
        .chain(&options.ignore_columns)
        .flat_map(|names| names.split(','))
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect();
    Ok(InputSpec {
        file: file.to_path_buf(),
        read: ReadOptions {
            encoding: input.read.encoding.clone().or(options.encoding.clone()),
            delimiter: match (input.read.delimiter, &options.delimiter) {
                (Some(delimiter), _) => Some(delimiter),
                (None, Some(text)) => {
                    Some(super::args::delimiter(text).map_err(|e| {
                        ConfigError::BadValue(format!("the mapping's delimiter: {e}"))
                    })?)
                }
                (None, None) => None,
            },
            sheet: input.read.sheet.clone().or(options.sheet.clone()),
            header_row: input.read.header_row.or(options.header_row),
            ..Default::default()
        },
        header: crate::input::columns::HeaderRules {
            ignored: ignore_columns,
            ignore_unknown: input.ignore_unknown_columns
                || options.ignore_unknown_columns.unwrap_or(false),
            strict: vocabulary.strict,
        },
        rules: Rules {
            mode: input.mode.map_or_else(|| mapping_mode(&options), Ok)?,
            match_by: input
                .match_by
                .map_or_else(|| mapping_match_by(&options), Ok)?,
            username_from: match input.username_from {
                Some(from) => Some(from),
                None => mapping_username_from(&options)?,
            },
            auto_password: passwords.auto_password || options.auto_password.unwrap_or(false),
            send_email: passwords.send_email || options.send_email.unwrap_or(false),
            usernames_may_repeat: false,
            usernames_for_joiners: false,
        },
        mapping: mapping.map(std::sync::Arc::new),
        vocabulary: std::sync::Arc::new(vocabulary),
    })
}

/// The mapping's `mode`, else the default.
fn mapping_mode(options: &MappingOptions) -> Result<crate::input::Mode, ConfigError> {
    use crate::input::Mode;
    match options.mode.as_deref().map(str::to_lowercase).as_deref() {
        None => Ok(Mode::default()),
        Some("upsert") => Ok(Mode::Upsert),
        Some("create") => Ok(Mode::Create),
        Some("update") => Ok(Mode::Update),
        Some(other) => Err(ConfigError::BadValue(format!(
            "the mapping's mode '{other}' is upsert, create or update"
        ))),
    }
}

/// The mapping's `match_by`, else the default.
fn mapping_match_by(options: &MappingOptions) -> Result<crate::input::MatchBy, ConfigError> {
    use crate::input::MatchBy;
    match options
        .match_by
        .as_deref()
        .map(crate::input::columns::normalize)
        .as_deref()
    {
        None => Ok(MatchBy::default()),
        Some("username") => Ok(MatchBy::Username),
        Some("email") => Ok(MatchBy::Email),
        Some("employeenumber") => Ok(MatchBy::EmployeeNumber),
        Some(other) => Err(ConfigError::BadValue(format!(
            "the mapping's match_by '{other}' is username, email or employeeNumber"
        ))),
    }
}

/// The mapping's `username_from`, if it has one.
fn mapping_username_from(
    options: &MappingOptions,
) -> Result<Option<crate::input::UsernameFrom>, ConfigError> {
    use crate::input::UsernameFrom;
    match options.username_from.as_deref() {
        None => Ok(None),
        Some("email") => Ok(Some(UsernameFrom::Email)),
        Some("local-part") => Ok(Some(UsernameFrom::LocalPart)),
        Some(other) => Err(ConfigError::BadValue(format!(
            "the mapping's username_from '{other}' is email or local-part"
        ))),
    }
}

/// A destructive run's guard: who it never touches (`--protect FILE` and
/// the profile's `protect` list, plus, unless included, privileged users)
/// and how much it may take away (flags over the profile's limits).
pub fn guard(
    profile: &Profile,
    guard: &super::args::GuardArgs,
) -> Result<
    (
        crate::engine::guard::Protection,
        crate::engine::guard::Limits,
    ),
    ConfigError,
> {
    use crate::engine::guard::{Limits, MaxAffected};
    let from_profile = |value: &Option<String>, name: &str| {
        value
            .as_deref()
            .map(MaxAffected::parse)
            .transpose()
            .map_err(|why| ConfigError::BadValue(format!("profile {name}: {why}")))
    };
    let limits = Limits {
        max_affected: guard
            .max_affected
            .or(from_profile(&profile.max_affected, "max_affected")?),
        max_irreversible: guard
            .max_irreversible
            .or(from_profile(&profile.max_irreversible, "max_irreversible")?),
        max_identity: guard.changes.max_identity_changes,
        max_reenabled: guard.changes.max_reenabled,
        max_joiners: guard.changes.max_joiners,
    };
    Ok((protection_of(profile, &guard.protect)?, limits))
}

/// Who a run that changes existing users never touches: `--protect FILE`
/// and the profile's `protect` list, plus (unless included) privileged users.
pub fn protection(
    profile: &Profile,
    protect: &super::args::ProtectArgs,
) -> Result<crate::engine::guard::Protection, ConfigError> {
    protection_of(profile, protect)
}

fn protection_of(
    profile: &Profile,
    protect: &super::args::ProtectArgs,
) -> Result<crate::engine::guard::Protection, ConfigError> {
    let mut patterns = profile.protect.clone();
    if let Some(path) = &protect.protect {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ConfigRead {
            path: path.display().to_string(),
            source,
        })?;
        for (number, line) in text.lines().enumerate() {
            if let Some(why) = crate::engine::guard::Protection::unreadable_line(line) {
                return Err(ConfigError::BadValue(format!(
                    "{} line {}: {why}; nothing was done (a line that names nobody would protect nobody)",
                    path.display(),
                    number + 1
                )));
            }
        }
        patterns.extend(text.lines().map(str::to_string));
    }
    Ok(
        crate::engine::guard::Protection::new(patterns, protect.include_privileged)
            .with_privileged_groups(profile.privileged_groups.clone()),
    )
}

/// What the user wants to see on stderr.
pub fn output(global: &GlobalArgs) -> Output {
    Output {
        quiet: global.quiet,
        verbose: global.verbose,
        progress: !global.quiet && !global.no_progress,
    }
}
