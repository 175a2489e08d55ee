//! `--only USER…`: the one argument group `restore` and `undo` share to
//! act on some people alone (kept out of `args.rs`, which is long enough).

use clap::Args;

/// Which users a restore or undo acts on.
#[derive(Debug, Args, Clone, Default)]
pub struct OnlyArgs {
    /// Act only on these users: usernames, emails or employee numbers, comma-separated or repeated (the others are left as they are, and not in the results)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub only: Vec<String>,
}

impl OnlyArgs {
    /// The names given, trimmed, empty ones dropped.
    pub fn names(&self) -> Vec<String> {
        self.only
            .iter()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect()
    }
}
