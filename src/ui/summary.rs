//! How each command's summary reads on the screen.

use super::Ui;
use crate::decision::PlanAction;
use crate::diff::DiffSummary;
use crate::engine::results_sink::{RunTotals, Tallied};
use crate::engine::roster::FirstPass;
use crate::export::ExportSummary;
use crate::input::Scan;
use crate::output::Outcome;
use crate::row_commands::import::{Counted, PlannedRow, Summary};

impl Ui {
    /// Why an import or plan sent nothing: the input's problems.
    pub fn refused(&self, first: &FirstPass, input: &str) {
        let shown: Vec<u64> = first.shown.iter().map(|p| p.row).collect();
        for (row, reason) in first
            .invalid
            .iter()
            .filter(|(row, _)| !shown.contains(row))
            .take(super::SHOWN_PROBLEMS as usize)
        {
            self.error(format!("  row {row}: {reason}"));
        }
        let header_errors = first.scan.header_errors();
        if let (Some(why), 0) = (&first.broken, header_errors) {
            self.error(format!("{input}: {why}"));
            return;
        }
        self.error(format!(
            "{input}: {} of {} rows have problems{}; nothing was sent to the tenant (fix them, or pass --skip-invalid to import the rest)",
            first.invalid.len(),
            first.scan.rows,
            if header_errors == 0 {
                String::new()
            } else {
                format!(" and the header has {header_errors} errors")
            },
        ));
    }

    /// One planned row, as `plan` shows it without a plan file.
    pub fn planned_row(&self, planned: &PlannedRow) {
        if self.quiet {
            return;
        }
        let sign = match planned.action {
            PlanAction::Create => "+",
            PlanAction::Update => "~",
            PlanAction::Skip | PlanAction::NotAttempted => "-",
            _ => "!",
        };
        self.say(format!(
            "{sign} {} row {} {}",
            planned.action.as_str(),
            planned.row,
            planned.username
        ));
        for detail in &planned.details {
            self.say(format!("      {detail}"));
        }
    }

    /// The summary of an import or plan.
    pub fn import_summary(&self, summary: &Summary) {
        let what = if summary.totals.dry_run {
            "plan"
        } else {
            "import"
        };
        let title = format!("{what} of {} into {}", summary.input, summary.totals.tenant);
        self.headline(&title, &summary.totals, "");
        if self.quiet {
            return;
        }
        if let Some(path) = &summary.snapshot {
            self.say(format!(
                "  every user whose access the rows take was saved first: sebulk restore {path} gives it back"
            ));
        }
        if let Some(path) = &summary.totals.output {
            let kind = if summary.totals.dry_run {
                "plan"
            } else {
                "results"
            };
            self.say(format!("  {kind} in {path}"));
        }
        let lookup = match summary.user_lookup {
            Some(crate::decision::lookup::UserStrategy::Bulk) => {
                "users found through one listing of the tenant"
            }
            Some(crate::decision::lookup::UserStrategy::PerRow) => "users looked up one by one",
            None => "",
        };
        let tenant = summary
            .tenant_users
            .map_or_else(String::new, |n| format!(" ({n} users in the tenant)"));
        self.say(format!("  {lookup}{tenant}"));
        let rate = summary
            .requests_per_second
            .map(|r| format!("{r:.1} requests/s (limit {})", summary.rate_limit))
            .unwrap_or_else(|| format!("limit {} requests/s", summary.rate_limit));
        self.say(format!(
            "  {} API calls ({} writes, {:.2} per row), {} answered 429, {} retries, {:.1} s, {rate}",
            summary.totals.api_calls,
            summary.totals.write_calls,
            summary.calls_per_row,
            summary.throttled_429,
            summary.retries,
            summary.totals.elapsed_seconds,
        ));
        if let Some(order) = summary.date_order {
            self.say(format!("  {}", dates_read(order)));
        }
        if let Some(bound) = &summary.bound {
            self.say(format!("  {bound}"));
        }
        if let Some(estimate) = summary.estimated_import_calls {
            self.say(format!(
                "  the import would make about {estimate} API calls"
            ));
        }
        if !summary.created_groups.is_empty() {
            let verb = if summary.totals.dry_run {
                "would create"
            } else {
                "created"
            };
            self.say(format!(
                "  {verb} groups: {}",
                summary.created_groups.join(", ")
            ));
        }
        if let (Some(missing), Some(path)) = (summary.missing_from_file, &summary.missing_report) {
            self.say(format!(
                "  {missing} tenant users are not in the file (possible leavers), listed in {path}; `sebulk offboard --dry-run {path}` shows what offboarding them would do"
            ));
        }
        let cut = summary
            .totals
            .count(Counted::Outcome(Outcome::NotAttempted))
            + summary
                .totals
                .count(Counted::Planned(PlanAction::NotAttempted));
        if summary.totals.interrupted || cut > 0 {
            self.say(format!(
                "  {cut} rows were not attempted and are marked so; --resume RESULTS goes on from the results file"
            ));
        }
    }

    /// The summary of a validation.
    pub fn validate_summary(&self, input: &str, scan: &Scan, report: Option<&str>) {
        if self.quiet && scan.is_clean() {
            return;
        }
        let more = self.problems_not_shown();
        if more > 0 {
            self.error(match report {
                Some(path) => format!("  … {more} more in {path}"),
                None => format!("  … {more} more (-o FILE lists them all)"),
            });
        }
        if scan.untold_passwords > 0 {
            self.warn(crate::input::scan::untold_passwords(scan.untold_passwords));
        }
        self.mapping(scan);
        let header_warnings = scan.header_issues.len() - scan.header_errors();
        let line = format!(
            "{input}: {} rows; {} with errors ({} errors, {} warnings); {} header errors, {} header warnings",
            scan.rows,
            scan.rows_with_errors,
            scan.errors,
            scan.warnings,
            scan.header_errors(),
            header_warnings
        );
        if scan.is_clean() {
            self.say(line);
        } else {
            self.error(line);
        }
    }

    /// The first lines of every run's summary (all of it with `-q`, and
    /// nothing then when every row went as asked): the title with the
    /// rows' counts, the first failed rows, and how many more there are.
    fn headline<K: Tallied>(&self, title: &str, totals: &RunTotals<K>, suffix: &str) {
        self.finish_progress();
        let clean = totals.all_succeeded();
        if self.quiet && clean {
            return;
        }
        let show = |line: String| {
            if clean {
                self.say(line)
            } else {
                self.error(line)
            }
        };
        let counted: Vec<String> = totals
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {}", k.as_str()))
            .collect();
        let counted = if counted.is_empty() {
            "nothing to do".to_string()
        } else {
            counted.join(", ")
        };
        let carried = match totals.carried_over {
            0 => String::new(),
            n => format!(" ({n} of them done by the run resumed from)"),
        };
        show(format!(
            "{title}: {} rows: {counted}{carried}{suffix}",
            totals.rows
        ));
        for (row, label, reason) in &totals.failed_rows {
            show(format!("  row {row} {label}: {reason}"));
        }
        let failed: u64 = totals
            .counts
            .iter()
            .filter(|(k, _)| !k.is_clean())
            .map(|(_, v)| *v)
            .sum();
        if failed > totals.failed_rows.len() as u64 {
            show(format!(
                "  … {} more (see the results file)",
                failed - totals.failed_rows.len() as u64
            ));
        }
    }

    /// The summary of a lifecycle run: a title with the counts, the first
    /// failed rows, then `notes`, where the results are, and the calls
    /// (not with `-q`).
    pub fn lifecycle_summary(&self, title: String, totals: &RunTotals, mut notes: Vec<String>) {
        let plan = if totals.dry_run {
            " (plan: nothing was changed)"
        } else {
            ""
        };
        self.headline(&title, totals, plan);
        if self.quiet {
            return;
        }
        if let Some(path) = &totals.output {
            notes.insert(
                0,
                format!(
                    "{} in {path}",
                    if totals.dry_run { "plan" } else { "results" }
                ),
            );
        }
        notes.push(format!(
            "{} API calls ({} writes), {:.1} s",
            totals.api_calls, totals.write_calls, totals.elapsed_seconds
        ));
        for note in notes {
            self.say(format!("  {note}"));
        }
    }

    /// The summary of a sync: its counts, where the results and the
    /// snapshot are, the leavers found and the users it does not own.
    pub fn sync_summary(&self, summary: &crate::row_commands::sync::SyncSummary) {
        let mut notes = vec![format!(
            "leavers: {} absent from the roster, {} whose end date has passed ({}); {} tenant users are outside the sync's scope (no match key, protected or privileged)",
            summary.leavers_by_absence,
            summary.leavers_by_end_date,
            summary
                .leaver_actions
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", "),
            summary.out_of_scope
        )];
        if summary.named_otherwise.count > 0 {
            notes.push(format!(
                "kept though the roster has no row with their match key: {} (a row carries their email or employee number and says conflict; fix the key in HR's data or in the tenant)",
                summary.named_otherwise.shown()
            ));
        }
        if let Some(path) = &summary.snapshot {
            notes.push(format!(
                "every leaver was saved first: sebulk restore {path} gives them back"
            ));
        }
        let invalid = &summary.invalid;
        if invalid.invalid_rows > 0 {
            let limit = match invalid.invalid_limit {
                Some(limit) => format!("; this roster is refused as broken beyond {limit}"),
                None => String::new(),
            };
            notes.push(format!(
                "{} invalid rows recorded as invalid, their people neither changed nor leavers ({}{limit})",
                invalid.invalid_rows, invalid.invalid_rule
            ));
        }
        if let Some(order) = summary.date_order {
            notes.push(dates_read(order));
        }
        let title = format!(
            "sync of {} into {} as of {}",
            summary.input, summary.totals.tenant, summary.as_of
        );
        self.lifecycle_summary(title, &summary.totals, notes);
    }

    /// The summary of an offboarding.
    pub fn undo_summary(&self, summary: &crate::row_commands::undo::UndoSummary) {
        let mut notes = Vec::new();
        let conflicts = summary
            .totals
            .counts
            .get(&crate::output::Outcome::Skipped)
            .copied()
            .unwrap_or(0);
        if conflicts > 0 {
            notes.push(format!(
                "{conflicts} rows changed since the run and were left alone (see their error); --include-conflicts undoes them too"
            ));
        }
        if summary.recreated_users > 0 && !summary.send_email {
            notes.push(format!(
                "{} users a run deleted were created again, each with a generated password nobody is told; set them (sebulk passwords), or undo with --send-email",
                summary.recreated_users
            ));
        }
        if !summary.groups.deleted.is_empty() {
            let verb = ["deleted", "to delete"][usize::from(summary.totals.dry_run)];
            notes.push(format!(
                "groups the run created, {verb}: {}",
                summary.groups.deleted.join(", ")
            ));
        }
        self.lifecycle_summary(
            format!(
                "undo of {} ({}) in {}",
                summary.undone,
                summary.runs.join(", "),
                summary.totals.tenant
            ),
            &summary.totals,
            notes,
        );
    }

    pub fn offboard_summary(&self, summary: &crate::row_commands::offboard::OffboardSummary) {
        let actions: Vec<&str> = summary.actions.iter().map(|a| a.name()).collect();
        let mut notes = Vec::new();
        if let Some(path) = &summary.snapshot {
            notes.push(format!(
                "every user touched was saved first: sebulk restore {path} gives them back"
            ));
        }
        if let Some(rows) = summary.roster_rows {
            notes.push(format!(
                "roster of {rows} rows against {} tenant users",
                summary.tenant_users
            ));
        }
        self.lifecycle_summary(
            format!(
                "offboarding ({}) of {} in {}",
                actions.join(", "),
                summary.input,
                summary.totals.tenant
            ),
            &summary.totals,
            notes,
        );
    }

    /// What a mapping made of the file: what feeds each field, the first
    /// rows as mapped, and how many rows its filters leave out.
    pub fn mapping(&self, scan: &Scan) {
        let Some((origin, lines)) = scan.mapping.split_first() else {
            return;
        };
        self.say(origin);
        for line in lines {
            self.say(format!("  {line}"));
        }
        for (row, pairs) in &scan.samples {
            let values: Vec<String> = pairs
                .iter()
                .map(|(column, value)| format!("{column}={}", crate::input::cells::shorten(value)))
                .collect();
            self.say(format!("  row {row} as mapped: {}", values.join(", ")));
        }
        if scan.filtered > 0 {
            self.say(format!(
                "  {} left out by the mapping's filters (recorded as filtered)",
                match scan.filtered {
                    1 => "1 row is".to_string(),
                    n => format!("{n} rows are"),
                }
            ));
        }
    }

    /// The summary of an export.
    pub fn export_summary(&self, summary: &ExportSummary) {
        self.finish_progress();
        for warning in &summary.warnings {
            self.warn(warning);
        }
        let target = summary.output.as_deref().unwrap_or("standard output");
        self.say(format!(
            "exported {} {} to {target}: {} pages, {} API calls, {:.1} s ({:.1} requests/s){}{}",
            summary.records,
            summary.entity.name(),
            summary.pages,
            summary.api_calls,
            summary.elapsed_seconds,
            summary.requests_per_second,
            if summary.duplicates_dropped > 0 {
                format!(
                    ", {} records seen twice while paging were written once",
                    summary.duplicates_dropped
                )
            } else {
                String::new()
            },
            if summary.incomplete {
                " (INCOMPLETE: --allow-incomplete)"
            } else {
                ""
            }
        ));
        if let Some(without) = summary.without_second_factor {
            self.say(format!(
                "{without} of {} users have no second factor",
                summary.records
            ));
        }
    }

    /// The summary of a diff.
    pub fn diff_summary(&self, summary: &DiffSummary) {
        use crate::diff::Compared;
        let what = match summary.compared {
            Compared::Users => "",
            Compared::Groups => "groups",
            Compared::Applications => "applications",
            Compared::Memberships => "memberships",
        };
        if summary.compared == Compared::Memberships {
            self.say(format!(
                "diff of memberships on {}: {} added, {} removed, {} unchanged ({} → {} memberships)",
                summary.key,
                summary.added,
                summary.removed,
                summary.unchanged,
                summary.old_records,
                summary.new_records
            ));
            return;
        }
        if summary.compared != Compared::Users {
            self.say(format!(
                "diff of {what} on {}: {} added, {} removed, {} changed ({} field changes), {} unchanged ({} → {} {what})",
                summary.key,
                summary.added,
                summary.removed,
                summary.changed,
                summary.field_changes,
                summary.unchanged,
                summary.old_records,
                summary.new_records
            ));
            return;
        }
        self.say(format!(
            "diff on {}: {} joiners, {} leavers, {} rehires, {} movers ({} field changes), {} unchanged ({} → {} users)",
            summary.key,
            summary.joiners,
            summary.leavers,
            summary.rehires,
            summary.movers,
            summary.field_changes,
            summary.unchanged,
            summary.old_users,
            summary.new_users
        ));
    }
}

/// The summary's line on the declared date order: `dates read day-first (dmy)`.
fn dates_read(order: crate::model::dates::DateOrder) -> String {
    format!("dates read {}", order.describe())
}
