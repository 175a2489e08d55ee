//! Coalesces membership changes across rows: one `/groups/{id}/assignusers`
//! (or remove, or the application equivalents) per target and chunk of
//! users, instead of one call per user, while each row keeps an exact
//! outcome.
//!
//! Invariants: a row leaves the batcher only when every change it asked for
//! has been answered; a chunk that the server refuses as a whole is retried
//! one user at a time, so one bad row cannot fail its neighbours; no more
//! than `hold_limit` rows wait here, so the results file keeps moving.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::{ApiError, Client};
use crate::model::{Target, TargetKind};
use crate::output::{Outcome, RowResult};

/// One membership change waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub kind: TargetKind,
    pub add: bool,
    pub target: Target,
    pub user_id: String,
}

/// Most user ids sent in one membership call.
pub const CHUNK_SIZE: usize = 100;
/// Rows held waiting for their memberships before everything is flushed.
pub const HOLD_LIMIT: usize = 5000;
/// The longest a row waits for its memberships before everything is flushed,
/// so the results file keeps moving on slow, rate-limited runs.
pub const MAX_HOLD: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QueueKey {
    kind: TargetKind,
    add: bool,
    target_id: String,
}

/// One membership call to make.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub kind: TargetKind,
    pub add: bool,
    pub target: Target,
    /// (row, user id)
    pub members: Vec<(u64, String)>,
}

/// What a chunk's call(s) came back with, member by member.
#[derive(Debug)]
pub struct ChunkOutcome {
    pub chunk: Chunk,
    pub results: Vec<(u64, Result<(), ApiError>)>,
    pub attempts: u32,
    pub last_status: Option<u16>,
}

struct Waiting {
    since: std::time::Instant,
    result: RowResult,
    remaining: usize,
    failed: bool,
}

/// The membership calls under way, each with its rows and whether it has
/// gone out (set just before it is sent, as its intent line is written;
/// until then it waits for the limiter): an abort cuts those calls, and
/// what one that went out sent may have landed.
#[derive(Default)]
pub struct OnTheWire(Vec<(ChunkId, Arc<AtomicBool>)>);

/// Which chunk a call is: its target and change, and its rows (a row is
/// in one chunk a target at a time, so two chunks under way differ here
/// even where their rows are the same).
#[derive(PartialEq)]
struct ChunkId {
    key: QueueKey,
    rows: Vec<u64>,
}

impl ChunkId {
    fn of(chunk: &Chunk) -> Self {
        ChunkId {
            key: QueueKey {
                kind: chunk.kind,
                add: chunk.add,
                target_id: chunk.target.id.clone(),
            },
            rows: chunk.members.iter().map(|(row, _)| *row).collect(),
        }
    }
}

impl OnTheWire {
    /// `chunk` is under way: the flag to set once it goes out.
    pub fn under_way(&mut self, chunk: &Chunk) -> Arc<AtomicBool> {
        let out = Arc::new(AtomicBool::new(false));
        self.0.push((ChunkId::of(chunk), out.clone()));
        out
    }

    /// `chunk` was answered.
    pub fn answered(&mut self, chunk: &Chunk) {
        let answered = ChunkId::of(chunk);
        if let Some(at) = self.0.iter().position(|(id, _)| *id == answered) {
            self.0.swap_remove(at);
        }
    }

    /// Whether a call of row `row` went out and is not answered.
    pub fn holds(&self, row: u64) -> bool {
        self.0
            .iter()
            .any(|(id, out)| out.load(Ordering::SeqCst) && id.rows.contains(&row))
    }
}

/// Rows waiting for their membership changes.
pub struct Batcher {
    queues: HashMap<QueueKey, (Target, Vec<(u64, String)>)>,
    waiting: HashMap<u64, Waiting>,
    hold_limit: usize,
}

impl Batcher {
    pub fn new(hold_limit: usize) -> Self {
        Batcher {
            queues: HashMap::new(),
            waiting: HashMap::new(),
            hold_limit: hold_limit.max(1),
        }
    }

    /// Takes a row's changes; returns the chunks that are ready to send.
    pub fn add(&mut self, result: RowResult, pending: Vec<Pending>) -> Vec<Chunk> {
        let row = result.row;
        let mut ready = Vec::new();
        self.waiting.insert(
            row,
            Waiting {
                since: std::time::Instant::now(),
                result,
                remaining: pending.len(),
                failed: false,
            },
        );
        for Pending {
            kind,
            add,
            target,
            user_id,
        } in pending
        {
            let key = QueueKey {
                kind,
                add,
                target_id: target.id.clone(),
            };
            let (_, members) = self
                .queues
                .entry(key.clone())
                .or_insert_with(|| (target, Vec::new()));
            members.push((row, user_id));
            if members.len() >= CHUNK_SIZE {
                ready.extend(self.take(&key));
            }
        }
        if self.waiting.len() > self.hold_limit {
            ready.extend(self.drain());
        }
        ready
    }

    fn take(&mut self, key: &QueueKey) -> Option<Chunk> {
        self.queues.remove(key).map(|(target, members)| Chunk {
            kind: key.kind,
            add: key.add,
            target,
            members,
        })
    }

    /// Every queued change, as chunks.
    pub fn drain(&mut self) -> Vec<Chunk> {
        let keys: Vec<QueueKey> = self.queues.keys().cloned().collect();
        keys.iter().filter_map(|key| self.take(key)).collect()
    }

    /// Records a chunk's answers; returns the rows that are now complete.
    pub fn settle(&mut self, outcome: ChunkOutcome) -> Vec<RowResult> {
        let mut finished = Vec::new();
        let chunk = &outcome.chunk;
        let what = chunk.kind.name();
        for (row, answer) in outcome.results {
            let Some(waiting) = self.waiting.get_mut(&row) else {
                continue;
            };
            let result = &mut waiting.result;
            result.attempts += outcome.attempts;
            if outcome.last_status.is_some() {
                result.http_status = outcome.last_status;
            }
            match answer {
                Ok(()) => {
                    result
                        .targets_mut(chunk.kind, chunk.add)
                        .push(chunk.target.name.clone());
                }
                Err(err) => {
                    waiting.failed = true;
                    if let Some(status) = err.status() {
                        result.http_status = Some(status);
                    }
                    let verb = if chunk.add {
                        "adding to"
                    } else {
                        "removing from"
                    };
                    result.add_error(format!(
                        "{verb} {what} '{}' failed: {err}",
                        chunk.target.name
                    ));
                }
            }
            waiting.remaining = waiting.remaining.saturating_sub(1);
            if waiting.remaining == 0
                && let Some(done) = self.waiting.remove(&row)
            {
                finished.push(complete(done));
            }
        }
        finished
    }

    /// How long the longest-waiting row with unsent changes has waited.
    pub fn oldest_wait(&self) -> std::time::Duration {
        if self.queues.is_empty() {
            return std::time::Duration::ZERO;
        }
        self.waiting
            .values()
            .map(|w| w.since.elapsed())
            .max()
            .unwrap_or_default()
    }

    /// Gives up on every waiting row (the run was aborted), each with
    /// why: `reason` of its row.
    pub fn abandon(&mut self, reason: impl Fn(u64) -> &'static str) -> Vec<RowResult> {
        self.queues.clear();
        self.waiting
            .drain()
            .map(|(row, mut waiting)| {
                waiting.result.add_error(reason(row));
                waiting.failed = true;
                complete(waiting)
            })
            .collect()
    }
}

fn complete(waiting: Waiting) -> RowResult {
    let mut result = waiting.result;
    // Chunks answer in any order; the file should not.
    for list in [
        &mut result.groups_added,
        &mut result.groups_removed,
        &mut result.applications_added,
        &mut result.applications_removed,
    ] {
        list.sort();
    }
    if waiting.failed {
        // Say what was written before the membership change failed.
        let done = match result.outcome {
            Outcome::Created => Some(format!("the user was created (id {})", result.user_id)),
            _ if result.changes.is_empty() => None,
            _ => Some("the user record was updated".to_string()),
        };
        if let Some(done) = done {
            result.error = format!("{done}, but: {}", result.error);
        }
        result.outcome = Outcome::Failed;
    }
    result
}

/// Sends one chunk; a whole-chunk refusal is retried user by user.
pub async fn apply(client: Client, chunk: Chunk) -> ChunkOutcome {
    let (client, tally) = client.tallied();
    let ids: Vec<String> = chunk.members.iter().map(|(_, id)| id.clone()).collect();
    let answer = send(&client, &chunk, &ids).await;
    let results = match answer {
        Ok(()) => chunk
            .members
            .iter()
            .map(|(row, _)| (*row, Ok(())))
            .collect(),
        Err(err) if ids.len() > 1 && matches!(err.status(), Some(400 | 404 | 409 | 422)) => {
            let singles = chunk.members.iter().map(|(row, id)| {
                let client = client.clone();
                let chunk = &chunk;
                async move { (*row, send(&client, chunk, std::slice::from_ref(id)).await) }
            });
            futures::future::join_all(singles).await
        }
        Err(err) => chunk
            .members
            .iter()
            .map(|(row, _)| (*row, Err(err.clone())))
            .collect(),
    };
    ChunkOutcome {
        attempts: tally.attempts(),
        last_status: tally.last_status(),
        chunk,
        results,
    }
}

async fn send(client: &Client, chunk: &Chunk, ids: &[String]) -> Result<(), ApiError> {
    client
        .change_members(chunk.kind, &chunk.target.id, chunk.add, ids)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(row: u64, groups: &[&str]) -> (RowResult, Vec<Pending>) {
        let mut result = RowResult::new(row, &format!("u{row}"), Outcome::Created, Vec::new());
        result.user_id = format!("id{row}");
        let pending = groups
            .iter()
            .map(|g| Pending {
                kind: TargetKind::Group,
                add: true,
                target: Target {
                    id: g.to_string(),
                    name: g.to_uppercase(),
                },
                user_id: format!("id{row}"),
            })
            .collect();
        (result, pending)
    }

    fn add(batcher: &mut Batcher, row: u64, groups: &[&str]) -> Vec<Chunk> {
        let (result, pending) = work(row, groups);
        batcher.add(result, pending)
    }

    #[test]
    fn chunks_fill_per_target_and_rows_finish_when_all_answered() {
        let mut batcher = Batcher::new(HOLD_LIMIT);
        let mut ready = Vec::new();
        for row in 1..=CHUNK_SIZE as u64 {
            ready.extend(add(&mut batcher, row, &["g1", "g2"]));
        }
        assert_eq!(ready.len(), 2, "both groups reached a full chunk");
        assert!(batcher.drain().is_empty());
        let mut finished = Vec::new();
        for chunk in ready {
            let results = chunk
                .members
                .iter()
                .map(|(row, _)| {
                    (
                        *row,
                        if *row == 3 && chunk.target.id == "g2" {
                            Err(ApiError::Stopped("x".into()))
                        } else {
                            Ok(())
                        },
                    )
                })
                .collect();
            finished.extend(batcher.settle(ChunkOutcome {
                chunk,
                results,
                attempts: 1,
                last_status: Some(204),
            }));
        }
        assert_eq!(finished.len(), CHUNK_SIZE);
        let row3 = finished.iter().find(|r| r.row == 3).unwrap();
        assert_eq!(row3.outcome, Outcome::Failed);
        assert!(
            row3.error
                .starts_with("the user was created (id id3), but: adding to group 'G2' failed")
        );
        assert_eq!(row3.groups_added, vec!["G1"]);
        let row4 = finished.iter().find(|r| r.row == 4).unwrap();
        assert_eq!(row4.groups_added, vec!["G1", "G2"]);
        assert_eq!((row4.outcome, row4.attempts), (Outcome::Created, 2));
    }

    #[test]
    fn the_hold_limit_flushes_everything() {
        let mut batcher = Batcher::new(3);
        assert!(add(&mut batcher, 1, &["g1"]).is_empty());
        assert!(add(&mut batcher, 2, &["g2"]).is_empty());
        assert!(add(&mut batcher, 3, &["g1"]).is_empty());
        let flushed = add(&mut batcher, 4, &["g3"]);
        assert_eq!(flushed.len(), 3);
        assert_eq!(batcher.waiting.len(), 4);
        assert_eq!(batcher.abandon(|_| "aborted").len(), 4);
    }

    #[test]
    fn an_abort_tells_calls_cut_on_the_wire_from_calls_never_sent() {
        let mut batcher = Batcher::new(10);
        let mut on_wire = OnTheWire::default();
        add(&mut batcher, 1, &["g1", "g2"]);
        add(&mut batcher, 2, &["g1"]);
        add(&mut batcher, 3, &["g3"]);
        let chunks = batcher.drain();
        let sent: Vec<&Chunk> = chunks.iter().filter(|c| c.target.id != "g3").collect();
        for chunk in &sent {
            on_wire
                .under_way(chunk)
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // g3's call waits for the limiter: not out yet.
        let waiting = chunks.iter().find(|c| c.target.id == "g3").unwrap();
        let g3 = on_wire.under_way(waiting);
        // g2's answer came: row 1 still has g1 on the wire.
        let g2 = sent.iter().find(|c| c.target.id == "g2").unwrap();
        on_wire.answered(g2);
        assert!(on_wire.holds(1) && on_wire.holds(2) && !on_wire.holds(3));
        g3.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(on_wire.holds(3), "out now");
        on_wire.answered(waiting);
        assert!(!on_wire.holds(3), "answered");
        // Two calls with the same rows (row 4 into g4 and g5): the answer
        // of the one that went out leaves the other still waiting.
        let mut twins = Batcher::new(10);
        add(&mut twins, 4, &["g4", "g5"]);
        let calls = twins.drain();
        let [g4, g5] = ["g4", "g5"].map(|id| calls.iter().find(|c| c.target.id == id).unwrap());
        on_wire.under_way(g5);
        on_wire
            .under_way(g4)
            .store(true, std::sync::atomic::Ordering::SeqCst);
        on_wire.answered(g4);
        assert!(!on_wire.holds(4), "g5 has not gone out");
        let why = |row| if on_wire.holds(row) { "cut" } else { "unsent" };
        let mut abandoned = batcher.abandon(why);
        abandoned.sort_by_key(|r| r.row);
        let errors: Vec<&str> = abandoned.iter().map(|r| r.error.as_str()).collect();
        assert!(
            errors[0].ends_with("cut") && errors[1].ends_with("cut"),
            "{errors:?}"
        );
        assert!(errors[2].ends_with("unsent"), "{errors:?}");
    }
}
