//! The config file's profiles: read once per run, and only when a command
//! asks (`sebulk sandbox` never does). A profile never holds a key, and a
//! key no setting has is an error, not silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use super::settings::Connect;

/// One `[profiles.NAME]` table of the config file: the tenant and
/// pacing settings (the same definition as their flags), then what only
/// a profile or a command's own flags give.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Profile {
    #[serde(flatten)]
    pub connect: Connect,
    /// More country names (see `--countries`).
    pub countries: Option<PathBuf>,
    pub countries_only: Option<bool>,
    /// Guessed rules are errors (see `--strict`).
    pub strict: Option<bool>,
    /// How slashed dates read, `dmy` or `mdy` (see `--date-order`).
    pub date_order: Option<crate::model::dates::DateOrder>,
    /// Usernames or patterns no destructive run touches (see `--protect`).
    #[serde(default)]
    pub protect: Vec<String>,
    /// The most a destructive run may take away (see `--max-affected`): `50` or `5%`.
    pub max_affected: Option<String>,
    /// The most deletes and second-factor removals (see `--max-irreversible`).
    pub max_irreversible: Option<String>,
    /// Webhooks told when a run ends (see `--notify`).
    #[serde(default)]
    pub notify: Vec<String>,
    /// Users a run may raise or change although privileged (see `--allow-privileged`).
    #[serde(default)]
    pub allow_privileged: Vec<String>,
    /// The groups that grant privilege (names or patterns); when none is
    /// given, any group whose name holds `admin`.
    #[serde(default)]
    pub privileged_groups: Vec<String>,
}

/// The keys a profile holds besides the tenant and pacing settings.
const OWN_KEYS: [&str; 10] = [
    "countries",
    "countries_only",
    "strict",
    "date_order",
    "protect",
    "max_affected",
    "max_irreversible",
    "notify",
    "allow_privileged",
    "privileged_groups",
];

/// Every key a profile may hold: its own, and the tenant and pacing
/// settings by their flags' names (`--max-wait` is `max_wait`), but the
/// command-line-only sandbox ones.
fn known_keys() -> Vec<String> {
    use clap::Args;
    let settings = Connect::augment_args(clap::Command::new("profile"));
    settings
        .get_arguments()
        .map(|arg| arg.get_id().as_str().to_string())
        .filter(|id| !id.starts_with("sandbox"))
        .chain(OWN_KEYS.iter().map(|k| k.to_string()))
        .collect()
}

/// Refuses a profile key no setting has (serde cannot, through the
/// flattened settings): a typo must not be silently ignored.
fn check_keys(table: &toml::Table, profile: &str) -> Result<(), String> {
    let known = known_keys();
    match table.keys().find(|key| !known.contains(key)) {
        None => Ok(()),
        Some(key) => Err(format!(
            "profile {profile}: unknown key `{key}`; a profile takes {}",
            known.join(", ")
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, toml::Table>,
}

/// The default config file: `<platform config dir>/sebulk/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sebulk")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// The profile a run uses, read from the config file at most once, and
/// only when a command asks for it (`sebulk sandbox` never does).
pub struct ProfileSource {
    /// `--config PATH` (else the default file, when it exists).
    config: Option<PathBuf>,
    /// `--profile NAME` (else the file's default profile).
    name: Option<String>,
    loaded: std::cell::OnceCell<Profile>,
}

impl ProfileSource {
    pub fn new(config: Option<PathBuf>, name: Option<String>) -> Self {
        ProfileSource {
            config,
            name,
            loaded: std::cell::OnceCell::new(),
        }
    }

    /// The profile: `--profile NAME` (or the default one) of the config file.
    pub fn get(&self) -> Result<&Profile, ConfigError> {
        if let Some(profile) = self.loaded.get() {
            return Ok(profile);
        }
        let profile = load_profile(self.config.as_deref(), self.name.as_deref())?;
        Ok(self.loaded.get_or_init(|| profile))
    }
}

fn load_profile(config: Option<&Path>, name: Option<&str>) -> Result<Profile, ConfigError> {
    let explicit = config.is_some();
    let Some(path) = config.map(Path::to_path_buf).or_else(default_config_path) else {
        return Ok(Profile::default());
    };
    let shown = path.display().to_string();
    if !path.exists() {
        return match name {
            Some(name) => Err(ConfigError::NoConfigFile {
                name: name.to_string(),
                path: shown,
                which: if explicit {
                    "the file named"
                } else {
                    "the default file"
                },
            }),
            None if !explicit => Ok(Profile::default()),
            // Named and missing: read it, and say why not.
            None => std::fs::read_to_string(&path)
                .map_err(|source| ConfigError::ConfigRead {
                    path: shown.clone(),
                    source,
                })
                .and_then(|text| parse_profile(&text, &shown, None)),
        };
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ConfigRead {
        path: shown.clone(),
        source,
    })?;
    parse_profile(&text, &shown, name)
}

/// Picks the named (or default) profile out of a config file's text.
pub fn parse_profile(
    text: &str,
    shown: &str,
    wanted: Option<&str>,
) -> Result<Profile, ConfigError> {
    let invalid = |message: String| ConfigError::ConfigInvalid {
        path: shown.to_string(),
        message,
    };
    let raw: toml::Table =
        toml::from_str(text).map_err(|e| invalid(crate::formats::toml_error(text, &e)))?;
    if let Some(key) = find_key_like_entry(&raw) {
        return Err(ConfigError::KeyInConfig {
            path: shown.to_string(),
            key,
        });
    }
    let file: ConfigFile =
        toml::from_str(text).map_err(|e| invalid(crate::formats::toml_error(text, &e)))?;
    let Some(name) = wanted.map(str::to_string).or(file.default_profile) else {
        return Ok(Profile::default());
    };
    let Some(table) = file.profiles.get(&name) else {
        let names: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        return Err(ConfigError::NoProfile {
            name,
            path: shown.to_string(),
            known: if names.is_empty() {
                "it has no profiles".to_string()
            } else {
                format!("its profiles: {}", names.join(", "))
            },
        });
    };
    check_keys(table, &name).map_err(invalid)?;
    Profile::deserialize(toml::Value::Table(table.clone())).map_err(|e| invalid(e.to_string()))
}

/// A table entry that looks like it holds a key itself rather than a path.
fn find_key_like_entry(table: &toml::Table) -> Option<String> {
    table.iter().find_map(|(name, value)| match value {
        toml::Value::Table(inner) => {
            find_key_like_entry(inner).map(|found| format!("{name}.{found}"))
        }
        _ => {
            let lowered = name.to_ascii_lowercase().replace('-', "_");
            let looks_secret = ["api_key", "apikey", "key", "secret", "token", "password"]
                .contains(&lowered.as_str());
            looks_secret.then(|| name.clone())
        }
    })
}
