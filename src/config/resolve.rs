//! Resolution of the tenant and pacing settings into a [`Config`]:
//! flags and environment over the profile over our defaults, each value
//! checked. The API key comes only from a key file, the environment or
//! systemd's credential, in that order, never from a command-line value
//! or the config file; a key file others may read is refused.

use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::profile::Profile;
use super::settings::{Connect, TenantArgs};
use super::{
    API_KEY_ENV, CREDENTIAL_NAME, CREDENTIALS_DIRECTORY_ENV, Config, ConfigError, Pacing,
    STATE_DIR_ENV, Target,
};
use crate::api::client::check_url_is_safe;
use crate::limiter::{InFlight, RetryPolicy};

/// The most requests sebulk will ever keep in flight.
const MAX_IN_FLIGHT: usize = 4096;

/// The API root below a tenant's host.
pub const API_PATH: &str = "/api/user/restapi";

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

/// `text` with any `user:password@` before the host, and any query or
/// fragment (`?api_key=...`), replaced, for messages.
fn redact_userinfo(text: &str) -> String {
    let text = match text.find(['?', '#']) {
        Some(at) => format!("{}{}***", &text[..at], &text[at..=at]),
        None => text.to_string(),
    };
    let text = text.as_str();
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

/// Reads a key file: the first line, trimmed. A file that other users
/// may read or write is refused before it is read.
pub fn read_key_file(path: &Path) -> Result<SecretString, ConfigError> {
    let shown = path.display().to_string();
    check_private_file(path, "API key file")?;
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::KeyFile {
        path: shown.clone(),
        source,
    })?;
    let Some(key) = clean_key(&text) else {
        return Err(ConfigError::EmptyKey(shown));
    };
    Ok(SecretString::from(key))
}

/// Refuses a file of secrets (`what`: "API key file") whose mode lets
/// its group or others read or write it, as ssh refuses such a key. A
/// file that cannot be looked at is left for its reader to report.
pub fn check_private_file(path: &Path, what: &'static str) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            return Err(ConfigError::NotPrivate {
                what,
                path: path.display().to_string(),
                mode: meta.permissions().mode() & 0o7777,
            });
        }
    }
    let _ = (path, what);
    Ok(())
}

/// The systemd credential holding the key (`LoadCredential=sebulk-api-key:FILE`
/// in the unit), when the service manager gave one.
fn credential_key(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    let Some(dir) = env(CREDENTIALS_DIRECTORY_ENV).filter(|d| !d.trim().is_empty()) else {
        return Ok(None);
    };
    let path = Path::new(&dir).join(CREDENTIAL_NAME);
    match std::fs::symlink_metadata(&path) {
        Ok(_) => read_key_file(&path).map(Some),
        Err(_) => Ok(None),
    }
}

/// This user's state directory: `SEBULK_STATE_DIR`, else the platform's
/// (`$XDG_STATE_HOME/sebulk`, `~/.local/state/sebulk`; where a platform
/// has none, its local data directory).
fn state_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<std::path::PathBuf> {
    if let Some(dir) = env(STATE_DIR_ENV).filter(|d| !d.trim().is_empty()) {
        return Some(dir.into());
    }
    let dirs = directories::ProjectDirs::from("", "", "sebulk")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
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

/// The key of the sandbox kept in `state`: read from `<state>.key`, made
/// there (0600) on first use.
#[cfg(feature = "sandbox")]
fn kept_sandbox_key(state: &std::path::Path) -> Result<SecretString, ConfigError> {
    let mut name = state.as_os_str().to_owned();
    name.push(".key");
    let path = std::path::PathBuf::from(name);
    let read_error = |source| ConfigError::ConfigRead {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(SecretString::from(text.trim().to_string())),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(read_error(e)),
        _ => {
            let key = crate::sandbox::random_key();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use secrecy::ExposeSecret;
            use std::io::Write;
            options
                .open(&path)
                .and_then(|mut file| file.write_all(key.expose_secret().as_bytes()))
                .map_err(read_error)?;
            Ok(key)
        }
    }
}

/// The tenant a run talks to: the sandbox (with a random key unless one
/// was given; a kept sandbox keeps its key beside its state, so what one
/// run seals the next verifies), or the tenant's URL (`--base-url`, else
/// `--tenant` in `--region`) with the key, which it must have.
fn target(tenant: &TenantArgs, api_key: Option<SecretString>) -> Result<Target, ConfigError> {
    if tenant.sandbox {
        sandbox_target(tenant, api_key)
    } else {
        let base_url = match (tenant.base_url.as_ref(), tenant.tenant.as_ref()) {
            (Some(url), _) => parse_base_url(url)?,
            (None, Some(name)) => {
                let region = tenant.region.as_ref().ok_or(ConfigError::NoRegion)?;
                tenant_url(name, region)?
            }
            (None, None) => return Err(ConfigError::NoTenant),
        };
        Ok(Target::Tenant {
            base_url,
            api_key: api_key.ok_or(ConfigError::NoKey)?,
        })
    }
}

/// The in-process sandbox as the tenant.
#[cfg(feature = "sandbox")]
fn sandbox_target(
    tenant: &TenantArgs,
    api_key: Option<SecretString>,
) -> Result<Target, ConfigError> {
    let api_key = match (api_key, &tenant.sandbox_state) {
        (Some(key), _) => key,
        (None, Some(state)) => kept_sandbox_key(state)?,
        (None, None) => crate::sandbox::random_key(),
    };
    Ok(Target::Sandbox {
        state: tenant.sandbox_state.clone(),
        api_key,
    })
}

/// A build without the `sandbox` feature has no sandbox to talk to.
#[cfg(not(feature = "sandbox"))]
fn sandbox_target(_: &TenantArgs, _: Option<SecretString>) -> Result<Target, ConfigError> {
    Err(ConfigError::BadValue(
        "--sandbox: this sebulk was built without the built-in sandbox (cargo feature `sandbox`); name a tenant with --base-url, or --tenant and --region".to_string(),
    ))
}

/// Resolves `args` (with `env` for variables clap does not own) into a [`Config`].
pub fn resolve(
    profile: &Profile,
    connect: &Connect,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    // The command line (and environment) over the profile, field by field.
    let connect = connect.or(&profile.connect);
    let (tenant, pacing) = (&connect.tenant, &connect.pacing);
    if tenant.sandbox_state.is_some() && !tenant.sandbox {
        return Err(ConfigError::BadValue(
            "--sandbox-state goes with --sandbox".to_string(),
        ));
    }
    let auth_scheme = tenant.key.auth_scheme.unwrap_or_default();
    let rate = in_range("rate", pacing.rate.unwrap_or(10.0), 100_000.0)?;
    let max_in_flight = count_in_range(
        "max-concurrency",
        pacing
            .max_concurrency
            .unwrap_or(crate::api::DEFAULT_MAX_IN_FLIGHT),
        MAX_IN_FLIGHT,
    )?;
    let in_flight = match pacing.concurrency {
        Some(n) => InFlight::Fixed(count_in_range("concurrency", n, MAX_IN_FLIGHT)?),
        None => InFlight::Adaptive { max: max_in_flight },
    };
    let timeout = in_range("timeout", pacing.timeout.unwrap_or(30.0), 3600.0)?;
    let max_wait = match pacing.max_wait {
        Some(0.0) => 0.0,
        Some(seconds) => in_range("max-wait", seconds, 86_400.0)?,
        None => crate::api::DEFAULT_MAX_WAIT.as_secs_f64(),
    };
    let page_size = pacing.page_size.unwrap_or(100);
    if page_size == 0 {
        return Err(ConfigError::BadValue(
            "--page-size must be at least 1".to_string(),
        ));
    }
    let page_base = tenant.page_base.unwrap_or(1);
    if page_base > 1 {
        return Err(ConfigError::BadValue(
            "page_base must be 0 or 1".to_string(),
        ));
    }
    let retry = RetryPolicy {
        max_retries: pacing
            .max_retries
            .unwrap_or(RetryPolicy::default().max_retries),
        ..RetryPolicy::default()
    };
    let key_file = tenant.key.api_key_file.clone();
    let env_key = env(API_KEY_ENV).filter(|k| !k.trim().is_empty());
    // An explicit key file (flag, SEBULK_API_KEY_FILE, profile), then
    // SEBULK_API_KEY, then systemd's credential.
    let api_key = match (&key_file, env_key) {
        (Some(path), _) => Some(read_key_file(path)?),
        (None, Some(key)) => clean_key(&key).map(SecretString::from),
        (None, None) => credential_key(env)?,
    };
    let target = target(tenant, api_key)?;
    Ok(Config {
        target,
        state_dir: state_dir(env),
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
                    .unwrap_or(crate::api::DEFAULT_MAX_BODY / (1024 * 1024))
                    as usize,
                4096,
            )? as u64
                * 1024
                * 1024,
            page_base,
            unknown_fields: tenant
                .send_unknown_fields
                .map(Into::into)
                .unwrap_or_default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::{ProfileSource, parse_profile};
    use crate::model::AuthScheme;
    use secrecy::ExposeSecret;
    use std::path::PathBuf;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// `--config` and `--profile`.
    type Global = (Option<PathBuf>, Option<String>);

    /// Arguments pointing at an empty config file, kept alive by the guard.
    fn args() -> (Global, tempfile::NamedTempFile) {
        let file = tempfile::NamedTempFile::new().unwrap();
        ((Some(file.path().to_path_buf()), None), file)
    }

    /// Resolves as a run does: the profile read once, then the flags.
    fn resolve(
        global: &Global,
        connect: &Connect,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let source = ProfileSource::new(global.0.clone(), global.1.clone());
        super::resolve(source.get()?, connect, env)
    }

    fn sandbox() -> Connect {
        let mut connect = Connect::default();
        connect.tenant.sandbox = true;
        connect
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let a: Global = (Some(PathBuf::from("/nonexistent/sebulk.toml")), None);
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
        assert_eq!(
            redact_userinfo("https://host/api?api_key=s3cret#x"),
            "https://host/api?***"
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
        private(&key_path, 0o600);
        c.tenant.key.api_key_file = Some(key_path.clone());
        let Target::Tenant { api_key, .. } = resolve(&a, &c, &env).unwrap().target else {
            panic!()
        };
        assert_eq!(
            api_key.expose_secret(),
            "from-file",
            "an explicit file wins over the environment"
        );
        private(&key_path, 0o640);
        let refused = resolve(&a, &c, &env).unwrap_err();
        assert!(
            matches!(refused, ConfigError::NotPrivate { mode: 0o640, .. }),
            "{refused}"
        );
        assert!(
            refused
                .to_string()
                .contains(&format!("chmod 600 {}", key_path.display())),
            "{refused}"
        );
    }

    /// Sets `path`'s mode.
    fn private(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn systemd_s_credential_comes_after_every_explicit_key() {
        let (a, _guard) = args();
        let mut c = Connect::default();
        c.tenant.base_url = Some("https://acme.uk.securenvoy.directory".into());
        let credentials = tempfile::tempdir().unwrap();
        let credential = credentials.path().join(CREDENTIAL_NAME);
        std::fs::write(&credential, "from-systemd\n").unwrap();
        private(&credential, 0o400);
        let dir = credentials.path().to_str().unwrap().to_string();
        let only_systemd = |name: &str| (name == CREDENTIALS_DIRECTORY_ENV).then(|| dir.clone());
        let key = |c: &Connect, env: &dyn Fn(&str) -> Option<String>| {
            let Target::Tenant { api_key, .. } = resolve(&a, c, env).unwrap().target else {
                panic!("tenant expected")
            };
            api_key.expose_secret().to_string()
        };
        assert_eq!(key(&c, &only_systemd), "from-systemd");
        let both = |name: &str| match name {
            API_KEY_ENV => Some("from-env".to_string()),
            _ => only_systemd(name),
        };
        assert_eq!(key(&c, &both), "from-env", "an explicit key wins");
        private(&credential, 0o444);
        assert!(matches!(
            resolve(&a, &c, &only_systemd),
            Err(ConfigError::NotPrivate { .. })
        ));
        std::fs::remove_file(&credential).unwrap();
        assert!(matches!(
            resolve(&a, &c, &only_systemd),
            Err(ConfigError::NoKey)
        ));
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
            (
                prod.connect.tenant.tenant.as_deref(),
                prod.connect.pacing.rate
            ),
            (Some("acme"), Some(4.5))
        );
        assert_eq!(
            prod.connect.tenant.key.auth_scheme,
            Some(AuthScheme::XApiKey)
        );
        assert!(
            parse_profile(text, "c.toml", Some("test"))
                .unwrap()
                .connect
                .tenant
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
        let refused = parse_profile(typo, "c.toml", Some("prod")).unwrap_err();
        assert!(
            matches!(&refused, ConfigError::ConfigInvalid { message, .. } if message.contains("unknown key `rat`") && message.contains("max_wait")),
            "{refused}"
        );
        let sandbox_only = "[profiles.prod]\nsandbox = true\n";
        assert!(parse_profile(sandbox_only, "c.toml", Some("prod")).is_err());
        let every_setting = "[profiles.prod]\nbase_url = \"https://a.uk.securenvoy.directory\"\ntenant = \"a\"\nregion = \"uk\"\napi_key_file = \"k\"\nauth_scheme = \"bearer\"\npage_base = 0\nsend_unknown_fields = \"never\"\nrate = 1\nconcurrency = 1\nmax_concurrency = 2\nmax_wait = 3\nmax_retries = 4\ntimeout = 5\npage_size = 6\nmax_body = 7\ncountries = \"c\"\ncountries_only = true\nstrict = true\nprotect = [\"x\"]\nmax_affected = \"5%\"\nmax_irreversible = \"2\"\n";
        let every = parse_profile(every_setting, "c.toml", Some("prod")).unwrap();
        assert_eq!(
            (
                every.connect.pacing.max_body,
                every.connect.tenant.page_base
            ),
            (Some(7), Some(0))
        );
    }

    #[test]
    fn a_profile_declares_how_slashed_dates_read() {
        use crate::model::dates::DateOrder;
        let day_first = "[profiles.uk]\ndate_order = \"dmy\"\n";
        let uk = parse_profile(day_first, "c.toml", Some("uk")).unwrap();
        assert_eq!(uk.date_order, Some(DateOrder::Dmy));
        let unknown = "[profiles.uk]\ndate_order = \"ymd\"\n";
        assert!(matches!(
            parse_profile(unknown, "c.toml", Some("uk")),
            Err(ConfigError::ConfigInvalid { .. })
        ));
    }

    #[test]
    fn command_line_beats_profile_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.p]\nbase_url = \"https://a.uk.securenvoy.directory\"\nrate = 3\nconcurrency = 2\nmax_body = 2\n").unwrap();
        let a: Global = (Some(path), Some("p".into()));
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
