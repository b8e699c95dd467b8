//! When a time trigger is due: the one implementation of schedule arithmetic, shared by the
//! scheduler's time engine, `triggerx job next`, and the attester's "was it due?" check.
//!
//! Semantics:
//! - **Interval**: occurrences at `anchor + k·every`. With an explicit `start` the anchor is `start`
//!   and `k ≥ 0` (the first fire is at `start`); without one the anchor is the job's creation and
//!   `k ≥ 1` (the first fire is one period after creation, as in the original TriggerX).
//! - **Cron**: six fields with seconds, evaluated in the IANA zone by `croner`. Across DST changes
//!   a fixed-time job whose wall time falls in a spring-forward gap fires right after the gap, and
//!   fires once when its wall time repeats in a fall-back overlap; wildcard/step fields follow the
//!   wall clock (skipped in the gap, repeated in the overlap). Occurrences are at or after `start`.
//! - **At**: the listed instants at or after `start`.
//!
//! Expiry is the job's (`Job::expires_at`); callers stop at it.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds},
};

use crate::{
    Timestamp,
    types::{CatchUp, Schedule, TimeTrigger},
};

/// Why a schedule cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error("invalid cron expression {expression:?}: {reason}")]
    Cron {
        /// The expression.
        expression: String,
        /// The parser's reason.
        reason: String,
    },
    /// The cron expression does not have exactly six fields.
    #[error("expected 6 fields (sec min hour day-of-month month day-of-week), found {0}")]
    CronFields(usize),
    /// The time zone is not an IANA zone name.
    #[error("unknown IANA time zone {0:?}")]
    TimeZone(String),
    /// An interval of zero.
    #[error("interval must be at least 1 second")]
    ZeroInterval,
}

/// A time trigger compiled for fast, repeated evaluation.
#[derive(Debug, Clone)]
pub struct CompiledSchedule {
    kind: Kind,
    /// No occurrence before this instant.
    not_before: Timestamp,
}

#[derive(Debug, Clone)]
enum Kind {
    Interval { anchor: i64, every: i64 },
    Cron { cron: Box<Cron>, tz: Tz },
    At(Vec<Timestamp>),
}

/// Parses a six-field cron expression (with seconds).
pub fn parse_cron(expression: &str) -> Result<Cron, ScheduleError> {
    let fields = expression.split_whitespace().count();
    if fields != 6 && !expression.trim_start().starts_with('@') {
        return Err(ScheduleError::CronFields(fields));
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(false)
        .build()
        .parse(expression)
        .map_err(|e| ScheduleError::Cron {
            expression: expression.to_owned(),
            reason: e.to_string(),
        })
}

/// Parses an IANA time zone name (`UTC`, `Europe/Berlin`).
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name.trim()).map_err(|_| ScheduleError::TimeZone(name.to_owned()))
}

impl CompiledSchedule {
    /// Compiles a trigger for a job created at `created_at`.
    pub fn compile(trigger: &TimeTrigger, created_at: Timestamp) -> Result<Self, ScheduleError> {
        let not_before = trigger.start.unwrap_or(created_at);
        let kind = match &trigger.schedule {
            Schedule::Interval { every_secs: 0 } => return Err(ScheduleError::ZeroInterval),
            Schedule::Interval { every_secs } => {
                let every = i64::try_from(*every_secs)
                    .unwrap_or(i64::MAX / 2)
                    .saturating_mul(1000);
                match trigger.start {
                    Some(start) => Kind::Interval {
                        anchor: start.as_millis(),
                        every,
                    },
                    None => Kind::Interval {
                        anchor: created_at.as_millis().saturating_add(every),
                        every,
                    },
                }
            }
            Schedule::Cron {
                expression,
                timezone,
            } => Kind::Cron {
                cron: Box::new(parse_cron(expression)?),
                tz: parse_timezone(timezone)?,
            },
            Schedule::At { instants } => {
                let mut v = instants.clone();
                v.sort_unstable();
                v.dedup();
                Kind::At(v)
            }
        };
        Ok(Self { kind, not_before })
    }

    /// The time zone occurrences are computed in (UTC except for cron).
    pub fn timezone(&self) -> Tz {
        match &self.kind {
            Kind::Cron { tz, .. } => *tz,
            _ => Tz::UTC,
        }
    }

    /// The first occurrence at or after `t`.
    pub fn first_at_or_after(&self, t: Timestamp) -> Option<Timestamp> {
        let t = t.max(self.not_before);
        match &self.kind {
            Kind::Interval { anchor, every } => {
                let t = t.as_millis();
                if t <= *anchor {
                    return Some(Timestamp::from_millis(*anchor));
                }
                let k = (t - anchor).div_euclid(*every) + i64::from((t - anchor) % every != 0);
                anchor
                    .checked_add(k.checked_mul(*every)?)
                    .map(Timestamp::from_millis)
            }
            Kind::Cron { cron, tz } => {
                // croner works in whole seconds: round a fractional `t` up.
                let secs = t.as_millis().div_euclid(1000) + i64::from(t.as_millis() % 1000 != 0);
                let start = Utc.timestamp_opt(secs, 0).single()?.with_timezone(tz);
                let next = cron.find_next_occurrence(&start, true).ok()?;
                Some(Timestamp::from_datetime(&next))
            }
            Kind::At(v) => v.iter().copied().find(|i| *i >= t),
        }
    }

    /// The first occurrence strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        self.first_at_or_after(t.add_millis(1))
    }

    /// The next `count` occurrences at or after `from`.
    pub fn upcoming(&self, from: Timestamp, count: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(count.min(1024));
        let mut next = self.first_at_or_after(from);
        while let Some(t) = next {
            if out.len() >= count {
                break;
            }
            out.push(t);
            next = self.next_after(t);
        }
        out
    }

    /// What is due at `now`, given the last occurrence already handled (`None` when none was).
    ///
    /// Returns the instants to fire (ascending) under the catch-up policy, and how many due
    /// instants were skipped by it. Instants are never earlier than the schedule's start, and
    /// "missed" means due before `now` but after `last`. At most `limit` instants are returned
    /// for [`CatchUp::FireAll`] (the oldest are skipped first), so a long outage cannot flood
    /// the network.
    pub fn due(
        &self,
        last: Option<Timestamp>,
        now: Timestamp,
        policy: CatchUp,
        limit: usize,
    ) -> Due {
        let mut first = match last {
            Some(l) => self.next_after(l),
            None => self.first_at_or_after(self.not_before),
        };
        let mut due = Vec::new();
        let mut skipped = 0u64;
        let mut latest = None;
        let window_start = match policy {
            CatchUp::FireAll { window_secs } => Some(
                now.add_millis(-(i64::try_from(window_secs).unwrap_or(i64::MAX / 2000) * 1000)),
            ),
            _ => None,
        };
        while let Some(t) = first {
            if t > now {
                break;
            }
            latest = Some(t);
            match window_start {
                Some(ws) if t < ws => skipped += 1,
                Some(_) => {
                    due.push(t);
                    if due.len() > limit.max(1) {
                        due.remove(0);
                        skipped += 1;
                    }
                }
                None => due.push(t),
            }
            first = self.next_after(t);
            // For Skip/FireOnce only the latest due instant matters; keep memory bounded.
            if window_start.is_none() && due.len() > 1 {
                due.remove(0);
                skipped += 1;
            }
        }
        let next = first;
        // Under Skip, only an instant noticed within the grace period counts as on time.
        if policy == CatchUp::Skip
            && due
                .last()
                .is_some_and(|t| now.as_millis() - t.as_millis() > SKIP_GRACE_MS)
        {
            skipped += 1;
            due.clear();
        }
        Due {
            fire: due,
            skipped,
            latest,
            next,
        }
    }
}

/// How late an instant may be noticed and still count as "on time" under [`CatchUp::Skip`].
pub const SKIP_GRACE_MS: i64 = 5_000;

/// The result of [`CompiledSchedule::due`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Instants to fire now, ascending.
    pub fire: Vec<Timestamp>,
    /// Due instants dropped by the catch-up policy.
    pub skipped: u64,
    /// The latest instant due at or before `now` (fired or skipped): the new cursor.
    pub latest: Option<Timestamp>,
    /// The first occurrence after `now`, if the schedule has one.
    pub next: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Overlap;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn trigger(schedule: Schedule, start: Option<&str>) -> TimeTrigger {
        TimeTrigger {
            schedule,
            start: start.map(ts),
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Skip,
        }
    }

    fn cron(expr: &str, tz: &str) -> CompiledSchedule {
        let t = trigger(
            Schedule::Cron {
                expression: expr.into(),
                timezone: tz.into(),
            },
            None,
        );
        CompiledSchedule::compile(&t, ts("2026-01-01T00:00:00Z")).unwrap()
    }

    #[test]
    fn interval_from_creation_and_from_start() {
        let created = ts("2026-12-03T10:00:00Z");
        let s = CompiledSchedule::compile(
            &trigger(Schedule::Interval { every_secs: 60 }, None),
            created,
        )
        .unwrap();
        assert_eq!(
            s.first_at_or_after(created),
            Some(ts("2026-12-03T10:01:00Z"))
        );
        assert_eq!(
            s.next_after(ts("2026-12-03T10:01:00Z")),
            Some(ts("2026-12-03T10:02:00Z"))
        );
        assert_eq!(
            s.first_at_or_after(ts("2026-12-03T10:01:30.5Z")),
            Some(ts("2026-12-03T10:02:00Z"))
        );
        let s = CompiledSchedule::compile(
            &trigger(
                Schedule::Interval { every_secs: 60 },
                Some("2026-12-03T12:00:00Z"),
            ),
            created,
        )
        .unwrap();
        assert_eq!(
            s.first_at_or_after(created),
            Some(ts("2026-12-03T12:00:00Z"))
        );
        assert_eq!(s.upcoming(created, 3).len(), 3);
    }

    #[test]
    fn cron_with_seconds_and_zone() {
        let s = cron("30 0 9 * * *", "Europe/Berlin");
        // 09:00:30 Berlin in winter is 08:00:30 UTC.
        assert_eq!(
            s.first_at_or_after(ts("2026-12-03T00:00:00Z")),
            Some(ts("2026-12-03T08:00:30Z"))
        );
        // And in summer 07:00:30 UTC.
        assert_eq!(
            s.first_at_or_after(ts("2026-07-01T00:00:00Z")),
            Some(ts("2026-07-01T07:00:30Z"))
        );
    }

    #[test]
    fn cron_rejects_five_fields_and_bad_zone() {
        assert_eq!(
            parse_cron("* * * * *").unwrap_err(),
            ScheduleError::CronFields(5)
        );
        assert!(parse_cron("61 * * * * *").is_err());
        assert_eq!(
            parse_timezone("Mars/Olympus").unwrap_err(),
            ScheduleError::TimeZone("Mars/Olympus".into())
        );
    }

    #[test]
    fn dst_spring_forward_gap_fires_after_gap() {
        // 2026-03-29: Berlin jumps 02:00 → 03:00 local. A 02:30 job fires at 03:00 local (01:00 UTC).
        let s = cron("0 30 2 * * *", "Europe/Berlin");
        let got = s.first_at_or_after(ts("2026-03-29T00:00:00Z")).unwrap();
        assert_eq!(got, ts("2026-03-29T01:00:00Z"));
        // The next day is normal: 02:30 CEST = 00:30 UTC.
        assert_eq!(s.next_after(got), Some(ts("2026-03-30T00:30:00Z")));
    }

    #[test]
    fn dst_fall_back_overlap_fires_once() {
        // 2026-10-25: Berlin repeats 02:00–03:00 local. A 02:30 job fires once, at the first pass.
        let s = cron("0 30 2 * * *", "Europe/Berlin");
        let first = s.first_at_or_after(ts("2026-10-24T23:00:00Z")).unwrap();
        assert_eq!(first, ts("2026-10-25T00:30:00Z"));
        assert_eq!(s.next_after(first), Some(ts("2026-10-26T01:30:00Z")));
        // An hourly wildcard job fires in both passes of the repeated hour.
        let h = cron("0 0 * * * *", "Europe/Berlin");
        let v = h.upcoming(ts("2026-10-24T23:30:00Z"), 4);
        assert_eq!(
            v,
            vec![
                ts("2026-10-25T00:00:00Z"),
                ts("2026-10-25T01:00:00Z"),
                ts("2026-10-25T02:00:00Z"),
                ts("2026-10-25T03:00:00Z"),
            ]
        );
    }

    #[test]
    fn specific_instants() {
        let t = trigger(
            Schedule::At {
                instants: vec![
                    ts("2026-12-05T00:00:00Z"),
                    ts("2026-12-04T00:00:00Z"),
                    ts("2026-12-04T00:00:00Z"),
                ],
            },
            None,
        );
        let s = CompiledSchedule::compile(&t, ts("2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(
            s.upcoming(ts("2026-12-01T00:00:00Z"), 10),
            vec![ts("2026-12-04T00:00:00Z"), ts("2026-12-05T00:00:00Z")]
        );
        assert_eq!(s.next_after(ts("2026-12-05T00:00:00Z")), None);
    }

    #[test]
    fn catch_up_policies() {
        let created = ts("2026-12-03T10:00:00Z");
        let s = CompiledSchedule::compile(
            &trigger(Schedule::Interval { every_secs: 60 }, None),
            created,
        )
        .unwrap();
        let last = Some(ts("2026-12-03T10:01:00Z"));
        // Down from 10:01 until 10:10:30: instants 10:02..10:10 (9) were missed.
        let now = ts("2026-12-03T10:10:30Z");
        let once = s.due(last, now, CatchUp::FireOnce, 100);
        assert_eq!(once.fire, vec![ts("2026-12-03T10:10:00Z")]);
        assert_eq!(once.skipped, 8);
        assert_eq!(once.next, Some(ts("2026-12-03T10:11:00Z")));
        let skip = s.due(last, now, CatchUp::Skip, 100);
        assert!(skip.fire.is_empty());
        assert_eq!(skip.skipped, 9);
        let all = s.due(last, now, CatchUp::FireAll { window_secs: 300 }, 100);
        assert_eq!(all.fire.first(), Some(&ts("2026-12-03T10:06:00Z")));
        assert_eq!(all.fire.len(), 5);
        assert_eq!(all.skipped, 4);
        let capped = s.due(last, now, CatchUp::FireAll { window_secs: 3600 }, 3);
        assert_eq!(capped.fire.len(), 3);
        assert_eq!(capped.skipped, 6);
        // On time: fires under every policy.
        let on_time = s.due(last, ts("2026-12-03T10:02:00.004Z"), CatchUp::Skip, 100);
        assert_eq!(on_time.fire, vec![ts("2026-12-03T10:02:00Z")]);
    }
}
