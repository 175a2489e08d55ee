//! Resolves command-line arguments, environment and the profile file into
//! one [`Config`] before anything runs.
//!
//! Precedence: command line, then environment (both via clap), then the
//! profile, then our defaults. The API key comes only from the environment
//! or a key file, never from a command-line value or the config file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::args::{Connect, GlobalArgs};
use crate::api::client::check_url_is_safe;
use crate::commands::config::{API_KEY_ENV, Config, ConfigError, Pacing, Target};
use crate::limiter::{InFlight, RetryPolicy};
use crate::model::AuthScheme;
use crate::ui::Output;

/// The most requests sebulk will ever keep in flight.
const MAX_IN_FLIGHT: usize = 4096;

/// The API root below a tenant's host.
pub const API_PATH: &str = "/api/user/restapi";

/// One `[profiles.NAME]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub base_url: Option<String>,
    pub tenant: Option<String>,
    pub region: Option<String>,
    pub auth_scheme: Option<AuthScheme>,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub max_concurrency: Option<usize>,
    pub max_wait: Option<f64>,
    pub max_retries: Option<u32>,
    pub timeout: Option<f64>,
    pub page_size: Option<u32>,
    /// The largest answer read, in MB (see `--max-body`).
    pub max_body: Option<u64>,
    pub page_base: Option<u64>,
    pub send_unknown_fields: Option<super::args::SendUnknownFields>,
    pub api_key_file: Option<PathBuf>,
    /// More country names (see `--countries`).
    pub countries: Option<PathBuf>,
    pub countries_only: Option<bool>,
    /// Guessed rules are errors (see `--strict`).
    pub strict: Option<bool>,
    /// Usernames or patterns no destructive run touches (see `--protect`).
    #[serde(default)]
    pub protect: Vec<String>,
    /// The most a destructive run may take away (see `--max-affected`): `50` or `5%`.
    pub max_affected: Option<String>,
    /// The most deletes and second-factor removals (see `--max-irreversible`).
    pub max_irreversible: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// The default config file: `<platform config dir>/sebulk/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sebulk")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// The profile a run uses, read from the config file at most once, and
/// only when a command asks for it (`sebulk sandbox` never does).
pub struct ProfileSource<'a> {
    global: &'a GlobalArgs,
    loaded: std::cell::OnceCell<Profile>,
}

impl<'a> ProfileSource<'a> {
    pub fn new(global: &'a GlobalArgs) -> Self {
        ProfileSource {
            global,
            loaded: std::cell::OnceCell::new(),
        }
    }

    /// The profile: `--profile NAME` (or the default one) of the config file.
    pub fn get(&self) -> Result<&Profile, ConfigError> {
        if let Some(profile) = self.loaded.get() {
            return Ok(profile);
        }
        let profile = load_profile(self.global)?;
        Ok(self.loaded.get_or_init(|| profile))
    }
}

fn load_profile(args: &GlobalArgs) -> Result<Profile, ConfigError> {
    let explicit = args.config.is_some();
    let Some(path) = args.config.clone().or_else(default_config_path) else {
        return Ok(Profile::default());
    };
    let shown = path.display().to_string();
    if !path.exists() && !explicit {
        return match &args.profile {
            Some(name) => Err(ConfigError::NoProfile {
                name: name.clone(),
                path: shown,
            }),
            None => Ok(Profile::default()),
        };
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ConfigRead {
        path: shown.clone(),
        source,
    })?;
    parse_profile(&text, &shown, args.profile.as_deref())
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
    let raw: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if let Some(key) = find_key_like_entry(&raw) {
        return Err(ConfigError::KeyInConfig {
            path: shown.to_string(),
            key,
        });
    }
    let file: ConfigFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let Some(name) = wanted.map(str::to_string).or(file.default_profile) else {
        return Ok(Profile::default());
    };
    file.profiles
        .get(&name)
        .cloned()
        .ok_or(ConfigError::NoProfile {
            name,
            path: shown.to_string(),
        })
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

fn host_part(text: &str) -> Result<String, ConfigError> {
    let lowered = text.trim().to_ascii_lowercase();
    let valid = !lowered.is_empty()
        && lowered
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(lowered)
    } else {
        Err(ConfigError::BadHostPart(text.to_string()))
    }
}

/// The API root for a tenant in a region; `uk2` tenants have no region part.
pub fn tenant_url(tenant: &str, region: &str) -> Result<Url, ConfigError> {
    let tenant = host_part(tenant)?;
    let region = host_part(region)?;
    let host = if region == "uk2" {
        format!("{tenant}.securenvoy.directory")
    } else {
        format!("{tenant}.{region}.securenvoy.directory")
    };
    parse_base_url(&format!("https://{host}{API_PATH}"))
}

/// Parses a base URL, adding the API path when only a host was given.
pub fn parse_base_url(text: &str) -> Result<Url, ConfigError> {
    let shown = redact_userinfo(text);
    let mut url = Url::parse(text.trim()).map_err(|e| ConfigError::BadUrl {
        url: shown.clone(),
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::BadUrl {
            url: shown,
            reason: "it must not carry a user name or password (the API key goes in a header; give it with --api-key-file)".to_string(),
        });
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(ConfigError::BadUrl {
            url: shown,
            reason: "it has no host".to_string(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::BadUrl {
            url: shown,
            reason: "it must not carry a query or fragment".to_string(),
        });
    }
    if url.path() == "/" || url.path().is_empty() {
        url.set_path(API_PATH);
    }
    check_url_is_safe(&url)?;
    Ok(url)
}

/// `text` with any `user:password@` before the host replaced, for messages.
fn redact_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &text[..scheme_end], &rest[at + 1..]),
        None => text.to_string(),
    }
}

/// A key as typed or saved: the first line, without surrounding spaces or
/// the byte-order mark Notepad puts first.
pub fn clean_key(text: &str) -> Option<String> {
    let key = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    (!key.is_empty()).then(|| key.to_string())
}

/// Reads a key file: the first line, trimmed. Warns when others may read it.
pub fn read_key_file(path: &Path) -> Result<SecretString, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::KeyFile {
        path: shown.clone(),
        source,
    })?;
    let Some(key) = clean_key(&text) else {
        return Err(ConfigError::EmptyKey(shown));
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!("the API key file {shown} can be read by other users; chmod 600 it");
        }
    }
    Ok(SecretString::from(key))
}

/// A number of seconds or a rate within `(0, max]`, or a usage error.
fn in_range(name: &str, value: f64, max: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value > 0.0 && value <= max {
        Ok(value)
    } else {
        Err(ConfigError::BadValue(format!(
            "--{name} must be a number above 0 and at most {max}, not {value}"
        )))
    }
}

/// A count within `1..=max`, or a usage error.
fn count_in_range(name: &str, value: usize, max: usize) -> Result<usize, ConfigError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::BadValue(format!(
            "--{name} must be between 1 and {max}, not {value}"
        )))
    }
}

/// Resolves how an input is read and checked: the command line, then the
/// profile (countries, strictness), then our defaults.
pub fn input_spec(
    profile: &Profile,
    file: &std::path::Path,
    input: &super::args::InputRuleArgs,
    passwords: &super::args::PasswordArgs,
) -> Result<crate::input::InputSpec, ConfigError> {
    use crate::input::columns::normalize;
    use crate::input::mapping::Mapping;
    use crate::input::{InputSpec, MatchBy, Mode, ReadOptions, Rules, UsernameFrom, Vocabulary};
    use crate::model::country::Countries;
    let mapping = match (&input.mapping, &input.preset) {
        (Some(path), _) => Some(Mapping::read(path)),
        (None, Some(name)) => Some(Mapping::preset(name)),
        (None, None) => None,
    }
    .transpose()
    .map_err(|e| ConfigError::BadValue(e.to_string()))?;
    let options = mapping
        .as_ref()
        .map(|m| m.file.options.clone())
        .unwrap_or_default();
    let mut vocabulary = Vocabulary {
        strict: input.strict || profile.strict.unwrap_or(false) || options.strict.unwrap_or(false),
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
        },
        header: crate::input::columns::HeaderRules {
            ignored: ignore_columns,
            ignore_unknown: input.ignore_unknown_columns
                || options.ignore_unknown_columns.unwrap_or(false),
            strict: vocabulary.strict,
        },
        rules: Rules {
            mode: match input.mode {
                Some(mode) => mode,
                None => match options.mode.as_deref().map(str::to_lowercase).as_deref() {
                    None => Mode::default(),
                    Some("upsert") => Mode::Upsert,
                    Some("create") => Mode::Create,
                    Some("update") => Mode::Update,
                    Some(other) => {
                        return Err(ConfigError::BadValue(format!(
                            "the mapping's mode '{other}' is upsert, create or update"
                        )));
                    }
                },
            },
            match_by: match input.match_by {
                Some(match_by) => match_by,
                None => match options.match_by.as_deref().map(normalize).as_deref() {
                    None => MatchBy::default(),
                    Some("username") => MatchBy::Username,
                    Some("email") => MatchBy::Email,
                    Some("employeenumber") => MatchBy::EmployeeNumber,
                    Some(other) => {
                        return Err(ConfigError::BadValue(format!(
                            "the mapping's match_by '{other}' is username, email or employeeNumber"
                        )));
                    }
                },
            },
            username_from: match input.username_from {
                Some(from) => Some(from),
                None => match options.username_from.as_deref() {
                    None => None,
                    Some("email") => Some(UsernameFrom::Email),
                    Some("local-part") => Some(UsernameFrom::LocalPart),
                    Some(other) => {
                        return Err(ConfigError::BadValue(format!(
                            "the mapping's username_from '{other}' is email or local-part"
                        )));
                    }
                },
            },
            auto_password: passwords.auto_password || options.auto_password.unwrap_or(false),
            send_email: passwords.send_email || options.send_email.unwrap_or(false),
        },
        mapping: mapping.map(std::sync::Arc::new),
        vocabulary: std::sync::Arc::new(vocabulary),
    })
}

/// A destructive run's guard: who it never touches (`--protect FILE` and
/// the profile's `protect` list, plus, unless included, privileged users)
/// and how much it may take away (flags over the profile's limits).
pub fn guard(
    profile: &Profile,
    guard: &super::args::GuardArgs,
) -> Result<
    (
        crate::pipeline::guard::Protection,
        crate::pipeline::guard::Limits,
    ),
    ConfigError,
> {
    use crate::pipeline::guard::{Limits, MaxAffected};
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
    };
    Ok((protection_of(profile, &guard.protect)?, limits))
}

/// Who a run that changes existing users never touches: `--protect FILE`
/// and the profile's `protect` list, plus (unless included) privileged users.
pub fn protection(
    profile: &Profile,
    protect: &super::args::ProtectArgs,
) -> Result<crate::pipeline::guard::Protection, ConfigError> {
    protection_of(profile, protect)
}

fn protection_of(
    profile: &Profile,
    protect: &super::args::ProtectArgs,
) -> Result<crate::pipeline::guard::Protection, ConfigError> {
    let mut patterns = profile.protect.clone();
    if let Some(path) = &protect.protect {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ConfigRead {
            path: path.display().to_string(),
            source,
        })?;
        patterns.extend(text.lines().map(str::to_string));
    }
    Ok(crate::pipeline::guard::Protection::new(
        patterns,
        protect.include_privileged,
    ))
}

/// Resolves `args` (with `env` for variables clap does not own) into a [`Config`].
pub fn resolve(
    profile: &Profile,
    connect: &Connect,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let (tenant, pacing) = (&connect.tenant, &connect.pacing);
    if tenant.sandbox_state.is_some() && !tenant.sandbox {
        return Err(ConfigError::BadValue(
            "--sandbox-state goes with --sandbox".to_string(),
        ));
    }
    let auth_scheme = tenant
        .key
        .auth_scheme
        .or(profile.auth_scheme)
        .unwrap_or_default();
    let rate = in_range(
        "rate",
        pacing.rate.or(profile.rate).unwrap_or(10.0),
        100_000.0,
    )?;
    let max_in_flight = count_in_range(
        "max-concurrency",
        pacing
            .max_concurrency
            .or(profile.max_concurrency)
            .unwrap_or(crate::api::DEFAULT_MAX_IN_FLIGHT),
        MAX_IN_FLIGHT,
    )?;
    let in_flight = match pacing.concurrency.or(profile.concurrency) {
        Some(n) => InFlight::Fixed(count_in_range("concurrency", n, MAX_IN_FLIGHT)?),
        None => InFlight::Adaptive { max: max_in_flight },
    };
    let timeout = in_range(
        "timeout",
        pacing.timeout.or(profile.timeout).unwrap_or(30.0),
        3600.0,
    )?;
    let max_wait = match pacing.max_wait.or(profile.max_wait) {
        Some(0.0) => 0.0,
        Some(seconds) => in_range("max-wait", seconds, 86_400.0)?,
        None => crate::api::DEFAULT_MAX_WAIT.as_secs_f64(),
    };
    let page_size = pacing.page_size.or(profile.page_size).unwrap_or(100);
    if page_size == 0 {
        return Err(ConfigError::BadValue(
            "--page-size must be at least 1".to_string(),
        ));
    }
    let page_base = tenant.page_base.or(profile.page_base).unwrap_or(1);
    if page_base > 1 {
        return Err(ConfigError::BadValue(
            "page_base must be 0 or 1".to_string(),
        ));
    }
    let retry = RetryPolicy {
        max_retries: pacing
            .max_retries
            .or(profile.max_retries)
            .unwrap_or(RetryPolicy::default().max_retries),
        ..RetryPolicy::default()
    };
    let key_file = tenant
        .key
        .api_key_file
        .clone()
        .or(profile.api_key_file.clone());
    let env_key = env(API_KEY_ENV).filter(|k| !k.trim().is_empty());
    let api_key = match (&key_file, env_key) {
        (Some(path), _) => Some(read_key_file(path)?),
        (None, Some(key)) => clean_key(&key).map(SecretString::from),
        (None, None) => None,
    };
    let target = if tenant.sandbox {
        Target::Sandbox {
            state: tenant.sandbox_state.clone(),
            api_key: api_key.unwrap_or_else(crate::sandbox::random_key),
        }
    } else {
        let base_url = match (
            tenant.base_url.as_ref().or(profile.base_url.as_ref()),
            tenant.tenant.as_ref().or(profile.tenant.as_ref()),
        ) {
            (Some(url), _) => parse_base_url(url)?,
            (None, Some(name)) => {
                let region = tenant
                    .region
                    .as_ref()
                    .or(profile.region.as_ref())
                    .ok_or(ConfigError::NoRegion)?;
                tenant_url(name, region)?
            }
            (None, None) => return Err(ConfigError::NoTenant),
        };
        Target::Tenant {
            base_url,
            api_key: api_key.ok_or(ConfigError::NoKey)?,
        }
    };
    Ok(Config {
        target,
        auth_scheme,
        pacing: Pacing {
            rate,
            in_flight,
            max_wait: Duration::from_secs_f64(max_wait),
            retry,
            timeout: Duration::from_secs_f64(timeout),
            page_size,
            max_body: count_in_range(
                "max-body",
                pacing
                    .max_body
                    .or(profile.max_body)
                    .unwrap_or(crate::api::DEFAULT_MAX_BODY / (1024 * 1024))
                    as usize,
                4096,
            )? as u64
                * 1024
                * 1024,
            page_base,
            unknown_fields: tenant
                .send_unknown_fields
                .or(profile.send_unknown_fields)
                .map(Into::into)
                .unwrap_or_default(),
        },
    })
}

/// What the user wants to see on stderr.
pub fn output(global: &GlobalArgs) -> Output {
    Output {
        quiet: global.quiet,
        verbose: global.verbose,
        progress: !global.quiet && !global.no_progress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Arguments pointing at an empty config file, kept alive by the guard.
    fn args() -> (GlobalArgs, tempfile::NamedTempFile) {
        let file = tempfile::NamedTempFile::new().unwrap();
        let args = GlobalArgs {
            config: Some(file.path().to_path_buf()),
            ..Default::default()
        };
        (args, file)
    }

    /// Resolves as a run does: the profile read once, then the flags.
    fn resolve(
        global: &GlobalArgs,
        connect: &Connect,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        super::resolve(ProfileSource::new(global).get()?, connect, env)
    }

    fn sandbox() -> Connect {
        let mut connect = Connect::default();
        connect.tenant.sandbox = true;
        connect
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let a = GlobalArgs {
            config: Some(PathBuf::from("/nonexistent/sebulk.toml")),
            ..Default::default()
        };
        assert!(matches!(
            resolve(&a, &sandbox(), &no_env),
            Err(ConfigError::ConfigRead { .. })
        ));
    }

    #[test]
    fn tenant_and_region_build_the_url() {
        assert_eq!(
            tenant_url("Acme", "uk").unwrap().as_str(),
            "https://acme.uk.securenvoy.directory/api/user/restapi"
        );
        assert_eq!(
            tenant_url("acme", "uk2").unwrap().as_str(),
            "https://acme.securenvoy.directory/api/user/restapi"
        );
        assert!(tenant_url("acme.evil.com/x", "uk").is_err());
    }

    #[test]
    fn base_urls_are_checked_and_completed() {
        assert_eq!(
            parse_base_url("https://acme.us.securenvoy.directory")
                .unwrap()
                .path(),
            API_PATH
        );
        assert!(matches!(
            parse_base_url("http://acme.us.securenvoy.directory/api/user/restapi"),
            Err(ConfigError::UnsafeUrl(_))
        ));
        assert!(parse_base_url("http://127.0.0.1:9/api/user/restapi").is_ok());
        assert!(parse_base_url("not a url").is_err());
        let secret = parse_base_url("https://admin:pw@acme.uk.securenvoy.directory")
            .unwrap_err()
            .to_string();
        assert!(
            !secret.contains("pw") && !secret.contains("admin"),
            "{secret}"
        );
        assert_eq!(
            redact_userinfo("https://a:b@host/x@y"),
            "https://***@host/x@y"
        );
        assert_eq!(clean_key("\u{feff}k3y \r\nsecond"), Some("k3y".to_string()));
        assert_eq!(clean_key(" \u{feff}"), None);
    }

    #[test]
    fn the_key_comes_from_env_or_file_only() {
        let (a, _guard) = args();
        let mut c = Connect::default();
        c.tenant.base_url = Some("https://acme.uk.securenvoy.directory".into());
        assert!(matches!(resolve(&a, &c, &no_env), Err(ConfigError::NoKey)));
        let env = |name: &str| (name == API_KEY_ENV).then(|| " from-env \n".to_string());
        let config = resolve(&a, &c, &env).unwrap();
        let Target::Tenant { api_key, .. } = config.target else {
            panic!("tenant expected")
        };
        assert_eq!(api_key.expose_secret(), "from-env");

        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key");
        std::fs::write(&key_path, "from-file\n").unwrap();
        c.tenant.key.api_key_file = Some(key_path);
        let Target::Tenant { api_key, .. } = resolve(&a, &c, &env).unwrap().target else {
            panic!()
        };
        assert_eq!(
            api_key.expose_secret(),
            "from-file",
            "an explicit file wins over the environment"
        );
    }

    #[test]
    fn profiles_fill_gaps_but_never_hold_keys() {
        let text = r#"
            default_profile = "prod"
            [profiles.prod]
            tenant = "acme"
            region = "us"
            rate = 4.5
            auth_scheme = "x-api-key"
            [profiles.test]
            base_url = "https://test.uk.securenvoy.directory/api/user/restapi"
        "#;
        let prod = parse_profile(text, "c.toml", None).unwrap();
        assert_eq!(
            (prod.tenant.as_deref(), prod.rate),
            (Some("acme"), Some(4.5))
        );
        assert_eq!(prod.auth_scheme, Some(AuthScheme::XApiKey));
        assert!(
            parse_profile(text, "c.toml", Some("test"))
                .unwrap()
                .base_url
                .is_some()
        );
        assert!(matches!(
            parse_profile(text, "c.toml", Some("nope")),
            Err(ConfigError::NoProfile { .. })
        ));
        let leaky = "[profiles.prod]\napi_key = \"abc\"\n";
        assert!(matches!(
            parse_profile(leaky, "c.toml", Some("prod")),
            Err(ConfigError::KeyInConfig { .. })
        ));
        let typo = "[profiles.prod]\nrat = 3\n";
        assert!(matches!(
            parse_profile(typo, "c.toml", Some("prod")),
            Err(ConfigError::ConfigInvalid { .. })
        ));
    }

    #[test]
    fn command_line_beats_profile_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.p]\nbase_url = \"https://a.uk.securenvoy.directory\"\nrate = 3\nconcurrency = 2\nmax_body = 2\n").unwrap();
        let a = GlobalArgs {
            config: Some(path),
            profile: Some("p".into()),
            ..Default::default()
        };
        let mut c = Connect::default();
        c.pacing.rate = Some(7.0);
        let env = |_: &str| Some("k".to_string());
        let config = resolve(&a, &c, &env).unwrap();
        assert_eq!(
            (config.pacing.rate, config.pacing.in_flight),
            (7.0, InFlight::Fixed(2))
        );
        assert_eq!(config.pacing.page_size, 100);
        assert_eq!(
            config.pacing.max_body,
            2 * 1024 * 1024,
            "the profile's max_body"
        );
        c.pacing.rate = Some(0.0);
        assert!(resolve(&a, &c, &env).is_err());
        c.pacing.rate = None;
        c.pacing.timeout = Some(1e300);
        assert!(matches!(
            resolve(&a, &c, &env),
            Err(ConfigError::BadValue(_))
        ));
        c.pacing.timeout = Some(f64::NAN);
        assert!(matches!(
            resolve(&a, &c, &env),
            Err(ConfigError::BadValue(_))
        ));
        c.pacing.timeout = None;
        c.pacing.max_wait = Some(-1.0);
        assert!(matches!(
            resolve(&a, &c, &env),
            Err(ConfigError::BadValue(_))
        ));
    }
}
