//! `sebulk man`: the manual pages a Unix admin expects, one per command
//! (`sebulk.1`, `sebulk-import.1`, `sebulk-groups-import.1`, ...). clap
//! writes NAME, SYNOPSIS, DESCRIPTION and OPTIONS from the command line's
//! own definition; this module adds EXIT STATUS, ENVIRONMENT, FILES,
//! EXAMPLES (each command's `--help` examples) and SEE ALSO as proper
//! sections, and to sebulk(1) the rules every page leans on: dates, the
//! nightly line, the guard and a sync's scope. A page refers only to pages
//! that are written, and only to the variables and files that apply to
//! its command.

use std::fmt::Write as _;
use std::path::Path;

use crate::commands::{CommandError, Completion};

/// Every page: its name (`sebulk-groups-import`) and its command, the
/// top first. clap's own `help` subcommands get no page.
pub fn pages() -> Vec<(String, clap::Command)> {
    let mut root = super::command();
    root.build();
    let mut pages = Vec::new();
    let mut stack = vec![("sebulk".to_string(), root)];
    while let Some((name, command)) = stack.pop() {
        let mut children: Vec<(String, clap::Command)> = command
            .get_subcommands()
            .filter(|c| c.get_name() != "help" && !c.is_hide_set())
            .map(|c| (format!("{name}-{}", c.get_name()), c.clone()))
            .collect();
        children.reverse();
        stack.extend(children);
        pages.push((name, command));
    }
    pages
}

/// `sebulk man`: the page for sebulk on standard output, or every page
/// written into `dir`.
pub fn run(dir: Option<&Path>) -> Result<Completion, CommandError> {
    use std::io::Write;
    let pages = pages();
    let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    let Some(dir) = dir else {
        let (name, command) = &pages[0];
        let page = render(name, command, &names)
            .map_err(|e| CommandError::io("cannot render the manual page", e))?;
        return std::io::stdout()
            .write_all(page.as_bytes())
            .map(|()| Completion::Clean)
            .map_err(|e| CommandError::io("cannot write the manual page", e));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| CommandError::io(format!("cannot create {}", dir.display()), e))?;
    for (name, command) in &pages {
        let path = dir.join(format!("{name}.1"));
        let page = render(name, command, &names)
            .map_err(|e| CommandError::io("cannot render the manual page", e))?;
        std::fs::write(&path, page)
            .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
    }
    Ok(Completion::Clean)
}

/// The page `name` for `command`; `names` are the pages that exist.
pub fn render(name: &str, command: &clap::Command, names: &[String]) -> std::io::Result<String> {
    let examples = examples(command);
    // The examples become their own section, not clap's EXTRA.
    let bare = command
        .clone()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let man = clap_mangen::Man::new(bare)
        .title(name.to_uppercase())
        .source(format!("sebulk {}", env!("CARGO_PKG_VERSION")))
        .manual("sebulk manual");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    for part in [
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
    ] {
        page.extend(without_preamble(&man, part)?.as_bytes());
    }
    let mut page = String::from_utf8_lossy(&page).into_owned();
    if name == "sebulk" {
        page.push_str(OVERVIEW);
    }
    page.push_str(&options(&without_preamble(
        &man,
        clap_mangen::Man::render_options_section,
    )?));
    page.push_str(&commands(name, command));
    if name == "sebulk" {
        page.push_str(RULES);
    } else if let Some(rules) = rules_of(command) {
        page.push_str(&rules);
    }
    page.push_str(&exit_status(command));
    page.push_str(&environment(command));
    page.push_str(&files(name, command));
    page.push_str(&examples_section(name, &examples));
    page.push_str(&see_also(name, command, names));
    Ok(page)
}

/// The text of one of clap_mangen's sections, without the string
/// definition each render repeats (the title's render keeps it).
fn without_preamble(
    man: &clap_mangen::Man,
    part: fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut buffer = Vec::new();
    part(man, &mut buffer)?;
    let text = String::from_utf8_lossy(&buffer).into_owned();
    Ok(text
        .lines()
        .filter(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// clap_mangen's options, one OPTIONS section: its help headings
/// (`TENANT`, `PACING`) become subsections of it.
fn options(rendered: &str) -> String {
    let mut out = String::from(".SH OPTIONS\n");
    for line in rendered.lines() {
        match line.strip_prefix(".SH ") {
            Some("OPTIONS") => {}
            Some(heading) => {
                let heading = heading.trim_matches('"');
                let mut title = heading.to_lowercase();
                if let Some(first) = title.get(..1) {
                    title = first.to_uppercase() + &title[1..];
                }
                let _ = writeln!(out, ".SS \"{title}\"");
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Text for roff: a backslash, a hyphen and a leading dot or quote are
/// written so that they print as themselves.
pub fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A reference to another page: `.BR sebulk\-import (1)`.
fn reference(name: &str, tail: &str) -> String {
    format!(".BR {} (1){tail}\n", escape(name))
}

/// Whether `command` takes the option with this id.
fn takes(command: &clap::Command, id: &str) -> bool {
    command.get_arguments().any(|a| a.get_id() == id)
}

/// The examples of a command's `--help` (after `Examples:`): each a
/// command line and what it is for.
fn examples(command: &clap::Command) -> Vec<(String, String)> {
    let text = command
        .get_after_long_help()
        .map(|t| t.to_string())
        .unwrap_or_default();
    text.lines()
        .skip_while(|l| !l.starts_with("Examples:"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once("  # ") {
            Some((line, why)) => (line.trim().to_string(), why.trim().to_string()),
            None => (l.trim().to_string(), String::new()),
        })
        .collect()
}

/// The EXAMPLES section: the command's own, and for sebulk(1) a first
/// week's.
fn examples_section(name: &str, examples: &[(String, String)]) -> String {
    let mut list: Vec<(String, String)> = examples.to_vec();
    if name == "sebulk" {
        list.extend(
            ROOT_EXAMPLES
                .iter()
                .map(|(l, w)| (l.to_string(), w.to_string())),
        );
    }
    let mut out = String::from(".SH EXAMPLES\n");
    if list.is_empty() {
        out.push_str("See the pages of its commands, under SEE ALSO.\n");
    }
    for (line, why) in &list {
        if why.is_empty() {
            out.push_str(".PP\n");
        } else {
            let _ = writeln!(out, ".PP\n{}:", escape(&capitalised(why)));
        }
        let _ = writeln!(out, ".RS 4\n.nf\n{}\n.fi\n.RE", escape(line));
    }
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A page's COMMANDS section, when its command has subcommands.
fn commands(name: &str, command: &clap::Command) -> String {
    let subs: Vec<&clap::Command> = command
        .get_subcommands()
        .filter(|c| c.get_name() != "help" && !c.is_hide_set())
        .collect();
    if subs.is_empty() {
        return String::new();
    }
    let mut out = String::from(".SH COMMANDS\n");
    for sub in subs {
        out.push_str(".TP\n");
        out.push_str(&reference(&format!("{name}-{}", sub.get_name()), ""));
        if let Some(about) = sub.get_about() {
            let _ = writeln!(out, "{}", escape(&about.to_string()));
        }
    }
    out
}

/// The rules sections a command's page carries itself (sebulk(1) has
/// them all): dates and scope for `sync`, the guard where it applies.
fn rules_of(command: &clap::Command) -> Option<String> {
    let mut out = String::new();
    if takes(command, "date_order") {
        out.push_str(DATES);
    }
    if takes(command, "scope") {
        out.push_str(SCOPE);
    }
    if takes(command, "max_affected") {
        out.push_str(GUARD);
    }
    (!out.is_empty()).then_some(out)
}

/// The EXIT STATUS section (src/cli/exit.rs, README "Exit codes").
fn exit_status(command: &clap::Command) -> String {
    use super::exit::{FATAL, INTERRUPTED, PROBLEMS, SUCCESS, USAGE};
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    let diff = takes(command, "exit_code");
    let rows: [(u8, &str, &str); 5] = [
        (SUCCESS, "Success.", "With --exit-code: no differences."),
        (
            FATAL,
            "Fatal: configuration (a broken config file or mapping, a key file others can read), authentication, another run writing to the same tenant, an unreachable tenant, I/O; a run refused by its guard rails before any change.",
            "With --exit-code: there are differences.",
        ),
        (
            USAGE,
            "Usage: bad arguments.",
            "With --exit-code: the files could not be compared (missing, unreadable).",
        ),
        (
            PROBLEMS,
            "Some rows or checks had problems; the results file and the report say which.",
            "",
        ),
        (
            INTERRUPTED,
            "Interrupted (Ctrl-C, SIGTERM or SIGHUP); every row has an outcome.",
            "",
        ),
    ];
    for (code, meaning, with_exit_code) in rows {
        let _ = writeln!(out, ".TP\n.B {code}\n{}", escape(meaning));
        if diff && !with_exit_code.is_empty() {
            let _ = writeln!(out, "{}", escape(with_exit_code));
        }
    }
    out
}

/// Which commands a variable or a file concerns.
#[derive(Clone, Copy)]
enum Applies {
    /// Every command.
    All,
    /// Commands that talk to a tenant.
    Tenant,
    /// Commands that may write to a tenant (they hold its lock).
    Writing,
    /// Commands that tell webhooks how they ended.
    Notifying,
    /// Commands that write a results file.
    Results,
    /// Commands with guard rails.
    Guarded,
}

impl Applies {
    /// Whether it concerns `command` or, for a page of commands (sebulk(1),
    /// sebulk-groups(1)), any command below it.
    fn to(self, command: &clap::Command) -> bool {
        self.to_itself(command) || command.get_subcommands().any(|c| self.to(c))
    }

    fn to_itself(self, command: &clap::Command) -> bool {
        match self {
            Applies::All => true,
            Applies::Tenant => takes(command, "base_url"),
            Applies::Writing => takes(command, "wait"),
            Applies::Notifying => takes(command, "urls"),
            Applies::Results => takes(command, "results_dir"),
            Applies::Guarded => takes(command, "max_affected"),
        }
    }
}

/// The variables sebulk reads, and what for.
const VARIABLES: [(&str, &str, Applies); 20] = [
    (
        "SEBULK_API_KEY",
        "The API key, when no key file is given. For cron and services prefer a key file or a systemd credential: a crontab's environment is readable by others.",
        Applies::Tenant,
    ),
    (
        "SEBULK_API_KEY_FILE",
        "A file holding the API key (as --api-key-file); refused when its group or others may read or write it.",
        Applies::Tenant,
    ),
    (
        "CREDENTIALS_DIRECTORY",
        "Set by systemd for a service with LoadCredential=; sebulk reads the key from its file sebulk-api-key when no other key is given.",
        Applies::Tenant,
    ),
    (
        "SEBULK_BASE_URL",
        "The tenant's API base URL (as --base-url).",
        Applies::Tenant,
    ),
    (
        "SEBULK_TENANT",
        "The tenant name (as --tenant).",
        Applies::Tenant,
    ),
    (
        "SEBULK_REGION",
        "The tenant's region (as --region).",
        Applies::Tenant,
    ),
    (
        "SEBULK_AUTH_SCHEME",
        "How the key is sent (as --auth-scheme).",
        Applies::Tenant,
    ),
    (
        "SEBULK_RATE",
        "Requests per second (as --rate).",
        Applies::Tenant,
    ),
    (
        "SEBULK_CONCURRENCY",
        "Requests in flight (as --concurrency).",
        Applies::Tenant,
    ),
    (
        "SEBULK_PROFILE",
        "The profile of the config file to use (as --profile).",
        Applies::All,
    ),
    (
        "SEBULK_CONFIG",
        "The config file (as --config).",
        Applies::All,
    ),
    (
        "SEBULK_NOTIFY",
        "Webhook URLs told how the run ended, separated by whitespace (as --notify). The URLs are secrets: never printed or written.",
        Applies::Notifying,
    ),
    (
        "SEBULK_STATE_DIR",
        "The state directory holding the tenants' run locks (default $XDG_STATE_HOME/sebulk, else ~/.local/state/sebulk).",
        Applies::Writing,
    ),
    (
        "XDG_STATE_HOME",
        "The base of the default state directory.",
        Applies::Writing,
    ),
    (
        "XDG_CONFIG_HOME",
        "The base of the default config file (~/.config when unset).",
        Applies::All,
    ),
    (
        "HOME",
        "The base of the default config file and state directory.",
        Applies::All,
    ),
    (
        "USER",
        "Who ran the run, named with the host in its --report.",
        Applies::Results,
    ),
    (
        "LOGNAME",
        "Who ran the run, when USER is unset.",
        Applies::Results,
    ),
    (
        "SEBULK_LOG",
        "A tracing filter for -v output (e.g. sebulk=debug).",
        Applies::All,
    ),
    (
        "NO_COLOR",
        "When set and not empty, no colour on standard error.",
        Applies::All,
    ),
];

/// The ENVIRONMENT section: the variables this command reads.
fn environment(command: &clap::Command) -> String {
    let mut out = String::from(".SH ENVIRONMENT\n");
    for (name, text, applies) in VARIABLES {
        if applies.to(command) {
            let _ = writeln!(out, ".TP\n.B {name}\n{}", escape(text));
        }
    }
    out.push_str("Command-line flags win over the environment, which wins over the profile.\n");
    out
}

/// The FILES section: the config file, the lock, and what the command writes.
fn files(name: &str, command: &clap::Command) -> String {
    let what = name.rsplit('-').next().unwrap_or(name);
    let mut rows: Vec<(String, String)> = vec![(
        "~/.config/sebulk/config.toml".into(),
        "The config file and its profiles ($XDG_CONFIG_HOME/sebulk/config.toml; --config or SEBULK_CONFIG names another). A profile that holds a key itself is refused.".into(),
    )];
    if Applies::Writing.to(command) {
        rows.push((
            "~/.local/state/sebulk/tenant-HASH.lock".into(),
            "The lock a writing run holds for its tenant (in SEBULK_STATE_DIR when set), named by a hash of the tenant's URL; a second run exits 1 naming the holder, or waits with --wait.".into(),
        ));
    }
    if Applies::Results.to(command) {
        let default = match name {
            "sebulk-import" => "INPUT.results.csv".to_string(),
            "sebulk-plan" => "INPUT.plan.csv".to_string(),
            _ if command.has_subcommands() => "INPUT.COMMAND.csv".to_string(),
            _ => format!("INPUT.{what}.csv"),
        };
        rows.push((default, "The results (or plan): one line per row, its outcome and every change old and new, 0600, never replaced without --force; RESULTS.csv.journal beside it while the run lasts. --results-dir DIR names each run's by its start time instead.".into()));
        rows.push(("DIR/last.json, DIR/last.html".into(), "With --results-dir: the summary (as --summary-json) and the report (as --report), replaced every run, whole or not at all.".into()));
    }
    if Applies::Guarded.to(command) || name == "sebulk-restore" || name == "sebulk-undo" {
        rows.push(("RESULTS.snapshot-RUN.jsonl".into(), "The snapshot of every user the run takes access from, written whole before its first change, sealed; sebulk-restore(1) gives them back.".into()));
    }
    if ["sebulk", "sebulk-offboard", "sebulk-approve"].contains(&name) {
        rows.push(("RESULTS.held-RUN.jsonl".into(), "What an offboarding refused by its guard would have done; sebulk-approve(1) releases exactly that.".into()));
    }
    if ["sebulk", "sebulk-apply", "sebulk-sync", "sebulk-plan"].contains(&name) {
        rows.push((
            "PLAN.csv".into(),
            "A sealed plan (plan -o, sync --dry-run -o) that sebulk-apply(1) carries out exactly."
                .into(),
        ));
    }
    let mut out = String::from(".SH FILES\n");
    for (path, text) in rows {
        let _ = writeln!(out, ".TP\n.I {}\n{}", escape(&path), escape(&text));
    }
    out
}

/// Pages worth reading beside each one (only those that exist are named).
const RELATED: [(&str, &[&str]); 12] = [
    ("validate", &["plan", "import", "mapping-init"]),
    ("plan", &["validate", "import", "apply"]),
    ("import", &["validate", "plan", "undo"]),
    ("sync", &["plan", "apply", "undo", "restore"]),
    ("apply", &["plan", "sync", "undo"]),
    ("offboard", &["approve", "restore", "undo"]),
    ("approve", &["offboard", "restore"]),
    ("restore", &["offboard", "undo"]),
    ("undo", &["import", "sync", "restore"]),
    ("export", &["diff", "check"]),
    ("diff", &["export"]),
    ("check", &["export"]),
];

/// The SEE ALSO section: sebulk(1), the page above, those below, the
/// related ones; every one a page that is written.
fn see_also(name: &str, command: &clap::Command, names: &[String]) -> String {
    let mut refs: Vec<String> = Vec::new();
    if name != "sebulk" {
        refs.push("sebulk".into());
        if let Some((parent, _)) = name.rsplit_once('-')
            && parent != "sebulk"
        {
            refs.push(parent.to_string());
        }
    }
    refs.extend(
        command
            .get_subcommands()
            .map(|c| format!("{name}-{}", c.get_name())),
    );
    let short = name.strip_prefix("sebulk-").unwrap_or("");
    if let Some((_, related)) = RELATED.iter().find(|(n, _)| *n == short) {
        refs.extend(related.iter().map(|r| format!("sebulk-{r}")));
    }
    let mut out = String::from(".SH \"SEE ALSO\"\n");
    let refs: Vec<&String> = refs
        .iter()
        .filter(|r| names.contains(r) && r.as_str() != name)
        .collect();
    for (i, r) in refs.iter().enumerate() {
        out.push_str(&reference(r, if i + 1 < refs.len() { "," } else { "" }));
    }
    out.push_str(
        "The README and docs/ (csv-format.md, mapping.md, sync.md, api-assumptions.md) of the sources hold the whole story.\n",
    );
    out
}

/// sebulk(1)'s longer description.
const OVERVIEW: &str = r".PP
sebulk moves people between HR spreadsheets (CSV in any common encoding
and delimiter, .xlsx, .xls, .ods) and a SecurEnvoy Access Management
tenant: it checks an export offline, shows what an import would change,
imports, keeps a directory in step with HR's roster every night, takes
leavers out, exports and compares what the tenant holds, and reverses a
run from its results.
.PP
Every run that writes records each row's outcome in a results file,
takes a snapshot before it takes anything away, is judged by its guard
rails before its first write, and holds its tenant's lock. Every file it
writes is 0600, never half\-written, and replaces nothing without
\fB\-\-force\fR but the run's own summary and report.
.PP
Tenant and pacing options are given after the command (also accepted
before it).
";

/// The rules summarised in sebulk(1).
const RULES: &str = r#".SH DATES
Dates in a roster:
\fBstartDate\fR (\fIHire Date\fR), a joiner from that day;
\fBendDate\fR (\fITermination Date\fR), a leaver on that day;
\fBlastDay\fR (\fILast Working Day\fR), access ends after that day (a leaver the day after).
ISO\-8601 dates are read as they are. A date such as 03/01/2027 needs its order declared:
\fB\-\-date\-order dmy\fR (3 January) or \fBmdy\fR (1 March), or
\fBdate_order\fR in the profile or the mapping (the mapping's wins).
A year must be written in full: two\-digit years are refused, never guessed.
.SH "NIGHTLY RUNS"
One flag makes the nightly line: \fB\-\-results\-dir DIR\fR keeps each night's results
and snapshot under a new dated name, and replaces \fIDIR/last.json\fR (the summary) and
\fIDIR/last.html\fR (the report) every night, so a monitor reads one fixed path.
The key comes from a file only the job's user can read, never the crontab's environment:
.PP
.RS 4
.nf
30 2 * * *  sebulk \-q \-\-api\-key\-file /etc/sebulk/api\-key sync /srv/hr/roster.csv \-\-date\-order dmy \-\-results\-dir /var/log/sebulk
.fi
.RE
.PP
Under systemd, \fBLoadCredential=sebulk\-api\-key:/etc/sebulk/api\-key\fR hands the key over;
sebulk reads \fI$CREDENTIALS_DIRECTORY/sebulk\-api\-key\fR. A bad row stops only itself:
a sync is refused only when at least 5 rows and more than 10% of them are invalid.
.SH SCOPE
A sync owns every tenant user but admins, protected users and accounts without the match key.
\fB\-\-scope\fR narrows that to the users a mapping filter on a user field keeps
(repeatable, an inline table), e.g.
\fB\-\-scope 'column = "department", not_in = ["Contractors"]'\fR:
users outside it are neither changed nor leavers.
.SH "GUARD RAILS"
Every row is classed by what it does to access, and a run is judged on what would
really change, before its first write; over a limit it is refused, exit 1, naming the
count and the flag that allows it (an offboarding's changes are held for \fBsebulk approve\fR).
.TP
\fB\-\-max\-affected\fR N|N%
Takes access away (disable, lock, removal from a group or application, a lower user type):
5% of the tenant, at least 10 (a quarter of a tenant under 40), at most 50.
.TP
\fB\-\-max\-irreversible\fR N|N%
Delete, remove\-second\-factor: 2%, at least 3, at most 20.
.TP
\fB\-\-max\-identity\-changes\fR N|N%
A changed username or email: 5%, at least 10, at most 50.
.TP
\fB\-\-max\-reenabled\fR N|N%
Enable or unlock of an existing user (rehires too): 5%, at least 10, at most 50.
.TP
\fB\-\-max\-joiners\fR N|N%
Users a sync creates: 10% of the tenant, at least 10, at most 500.
.TP
\fB\-\-allow\-privileged\fR USER
A higher user type, an addition to a privileged group, any change to a privileged user:
never, unless the run names that user.
.TP
\fB\-\-protect\fR FILE
Users (username, email, employee number or glob, one a line) never touched; their rows say protected.
"#;

/// The date rules, on the pages of commands that read roster dates.
const DATES: &str = r".SH DATES
Roster dates: startDate (Hire Date), endDate (Termination Date, a leaver on that day),
lastDay (Last Working Day, access ends after that day). A date such as 03/01/2027 needs
\fB\-\-date\-order dmy\fR or \fBmdy\fR (or date_order in the profile or mapping);
two\-digit years are refused. See sebulk(1).
";

/// The scope rule, on `sync`'s page.
const SCOPE: &str = r".SH SCOPE
\fB\-\-scope\fR narrows the users the sync owns to those a mapping filter on a user field
keeps; users outside it are neither changed nor leavers. Admins, protected users and
accounts without the match key are never touched. See sebulk(1).
";

/// The guard, on the pages of commands that have one.
const GUARD: &str = r#".SH "GUARD RAILS"
The run is judged on what would really change before its first write and refused,
exit 1, over a limit (\fB\-\-max\-affected\fR, \fB\-\-max\-irreversible\fR and, where
offered, \fB\-\-max\-identity\-changes\fR, \fB\-\-max\-reenabled\fR, \fB\-\-max\-joiners\fR);
privileged users only with \fB\-\-allow\-privileged\fR; \fB\-\-protect\fR users never.
The limits and their defaults are in sebulk(1).
"#;

/// sebulk(1)'s examples: a first week.
const ROOT_EXAMPLES: [(&str, &str); 6] = [
    (
        "sebulk --base-url URL check",
        "connect, and see what the tenant is",
    ),
    (
        "sebulk plan starters.xlsx -o plan.csv",
        "what HR's spreadsheet would change",
    ),
    ("sebulk apply plan.csv", "exactly what was read"),
    (
        "sebulk offboard leavers.csv --action disable,revoke-access --dry-run",
        "leavers, rehearsed",
    ),
    (
        "sebulk -q --api-key-file /etc/sebulk/api-key sync roster.csv --results-dir /var/log/sebulk",
        "every night from cron",
    ),
    (
        "sebulk undo /var/log/sebulk/roster.sync.20261208T023000Z-4711.csv",
        "reverse a night",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_the_sections_and_refers_only_to_written_pages() {
        let pages = pages();
        let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
        assert!(names.contains(&"sebulk-groups-import".to_string()));
        assert!(!names.iter().any(|n| n.ends_with("-help")));
        for (name, command) in &pages {
            let page = render(name, command, &names).unwrap();
            for section in [
                ".SH NAME",
                ".SH SYNOPSIS",
                ".SH DESCRIPTION",
                ".SH OPTIONS",
                ".SH \"EXIT STATUS\"",
                ".SH ENVIRONMENT",
                ".SH FILES",
                ".SH EXAMPLES",
                ".SH \"SEE ALSO\"",
            ] {
                assert_eq!(page.matches(section).count(), 1, "{name}: {section}");
            }
            assert!(!page.contains(".SH EXTRA"), "{name}");
            for line in page.lines().filter(|l| l.starts_with(".BR ")) {
                let target = line[4..].split(' ').next().unwrap().replace("\\-", "-");
                assert!(names.contains(&target), "{name} names {target}");
            }
        }
    }

    #[test]
    fn every_variable_the_code_reads_is_documented() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, _) in text.match_indices("SEBULK_") {
                        let name: String = text[i..]
                            .chars()
                            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                            .collect();
                        seen.insert(name.trim_end_matches('_').to_string());
                    }
                }
            }
        }
        seen.remove("SEBULK");
        seen.remove("SEBULK_REQUIRE_CHROMIUM");
        for name in seen {
            assert!(
                VARIABLES.iter().any(|(v, _, _)| *v == name),
                "{name} is read but not in ENVIRONMENT"
            );
        }
    }

    #[test]
    fn roff_text_prints_as_itself() {
        assert_eq!(escape(".x -y \\z"), "\\&.x \\-y \\ez");
    }
}
