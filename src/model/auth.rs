//! How the API key travels in a request.
//!
//! The reference does not say; the three candidates are named here once and
//! shared by the client (which sends them) and the sandbox (which checks them).

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One way of presenting the API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthScheme {
    /// `Authorization: Bearer KEY`
    #[default]
    Bearer,
    /// `x-api-key: KEY`
    XApiKey,
    /// `Authorization: APIKEY base64(KEY)`, the older SecurEnvoy form.
    ApikeyBase64,
}

impl AuthScheme {
    /// Every scheme, the default first.
    pub const ALL: [AuthScheme; 3] = [
        AuthScheme::Bearer,
        AuthScheme::XApiKey,
        AuthScheme::ApikeyBase64,
    ];

    /// The header name this scheme uses.
    pub fn header_name(self) -> &'static str {
        match self {
            AuthScheme::Bearer | AuthScheme::ApikeyBase64 => "authorization",
            AuthScheme::XApiKey => "x-api-key",
        }
    }

    /// The header value that presents `key` in this scheme.
    pub fn header_value(self, key: &str) -> String {
        match self {
            AuthScheme::Bearer => format!("Bearer {key}"),
            AuthScheme::XApiKey => key.to_string(),
            AuthScheme::ApikeyBase64 => format!("APIKEY {}", STANDARD.encode(key)),
        }
    }

    /// The key carried by `value` of header `name`, if it is in this scheme.
    pub fn extract_key(self, name: &str, value: &str) -> Option<String> {
        if !name.eq_ignore_ascii_case(self.header_name()) {
            return None;
        }
        match self {
            AuthScheme::XApiKey => Some(value.trim().to_string()),
            AuthScheme::Bearer => strip_prefix_ci(value, "bearer ").map(|k| k.trim().to_string()),
            AuthScheme::ApikeyBase64 => strip_prefix_ci(value, "apikey ")
                .and_then(|k| STANDARD.decode(k.trim()).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok()),
        }
    }

    /// The scheme as `--auth-scheme` spells it.
    pub fn name(self) -> &'static str {
        match self {
            AuthScheme::Bearer => "bearer",
            AuthScheme::XApiKey => "x-api-key",
            AuthScheme::ApikeyBase64 => "apikey-base64",
        }
    }
}

fn strip_prefix_ci<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AuthScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthScheme::ALL
            .into_iter()
            .find(|scheme| scheme.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown auth scheme '{s}' (bearer, x-api-key, apikey-base64)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_round_trips_its_key() {
        for scheme in AuthScheme::ALL {
            let value = scheme.header_value("k3y/with+chars");
            assert_eq!(
                scheme.extract_key(scheme.header_name(), &value).as_deref(),
                Some("k3y/with+chars"),
                "{scheme}"
            );
        }
    }

    #[test]
    fn schemes_do_not_accept_each_other() {
        let bearer = AuthScheme::Bearer.header_value("abc");
        assert_eq!(
            AuthScheme::ApikeyBase64.extract_key("authorization", &bearer),
            None
        );
        assert_eq!(
            AuthScheme::XApiKey.extract_key("authorization", &bearer),
            None
        );
        assert_eq!("X-API-KEY".parse::<AuthScheme>(), Ok(AuthScheme::XApiKey));
    }
}
