//! The one poll helper every wait goes through, on both targets: stack operations and change
//! sets, `status --watch`, the demo, the local engine's start and stop. Its schedule is a
//! parameter, so tests pass a tiny one and never sleep for real.

use std::time::Duration;

use tokio::time::Instant;

use crate::Result;

/// When to look again: first immediately, then after `first`, doubling up to `max`.
/// `retries` bounds how many transient failures in a row are tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub first: Duration,
    pub max: Duration,
    pub retries: u32,
}

impl Schedule {
    /// For real stacks: a fast stack is seen finished at once (the first look is immediate,
    /// the next within 200 ms) and a slow one is asked about every 5 s at most.
    pub const DEFAULT: Schedule = Schedule {
        first: Duration::from_millis(200),
        max: Duration::from_secs(5),
        retries: 8,
    };

    /// For tests against mocks: a millisecond between looks.
    pub const TINY: Schedule = Schedule {
        first: Duration::from_millis(1),
        max: Duration::from_millis(2),
        retries: 3,
    };

    /// A look every `interval`, transient failures not tolerated (waits on this machine).
    pub const fn every(interval: Duration) -> Schedule {
        Schedule {
            first: interval,
            max: interval,
            retries: 0,
        }
    }

    /// The pause before look number `n` (0-based): none before the first.
    pub fn delay(&self, n: u32) -> Duration {
        if n == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(n - 1).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::DEFAULT
    }
}

/// What one look found.
pub enum Step<T> {
    /// Finished with this value.
    Done(T),
    /// Not yet: look again later.
    Pending,
    /// A transient failure (throttling, a dropped connection): look again later, unless it
    /// keeps happening.
    Retry(crate::Error),
}

/// Calls `look` on `schedule` until it returns [`Step::Done`] or an error. More than
/// `schedule.retries` transient failures in a row end the wait with the last one.
pub async fn poll<T>(
    schedule: &Schedule,
    mut look: impl AsyncFnMut() -> Result<Step<T>>,
) -> Result<T> {
    let mut n = 0u32;
    let mut failures = 0u32;
    loop {
        let pause = schedule.delay(n);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        n = n.saturating_add(1);
        match look().await? {
            Step::Done(value) => return Ok(value),
            Step::Pending => failures = 0,
            Step::Retry(err) => {
                failures += 1;
                if failures > schedule.retries {
                    return Err(err);
                }
            }
        }
    }
}

/// [`poll`] with a time limit: `None` when `limit` passed without [`Step::Done`]. The first
/// look always happens; no look starts after the limit.
pub async fn poll_within<T>(
    schedule: &Schedule,
    limit: Duration,
    mut look: impl AsyncFnMut() -> Result<Step<T>>,
) -> Result<Option<T>> {
    let deadline = Instant::now() + limit;
    let timed = poll(schedule, async || match look().await? {
        Step::Done(value) => Ok(Step::Done(Some(value))),
        _ if Instant::now() >= deadline => Ok(Step::Done(None)),
        Step::Pending => Ok(Step::Pending),
        Step::Retry(err) => Ok(Step::Retry(err)),
    });
    timed.await
}

/// Runs `wait` until it ends or Ctrl-C comes: `None` on Ctrl-C (`status --watch`, the demo).
pub async fn until_interrupted<T>(wait: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        value = wait => Some(value),
        _ = tokio::signal::ctrl_c() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn schedule_starts_at_once_and_backs_off_to_the_cap() {
        let s = Schedule::DEFAULT;
        let delays: Vec<u128> = (0..9).map(|n| s.delay(n).as_millis()).collect();
        assert_eq!(delays, [0, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(s.delay(u32::MAX), s.max);
    }

    #[tokio::test]
    async fn polls_until_done() {
        let mut calls = 0;
        let got = poll(&Schedule::TINY, async || {
            calls += 1;
            Ok(if calls < 4 {
                Step::Pending
            } else {
                Step::Done(calls)
            })
        })
        .await
        .unwrap();
        assert_eq!(got, 4);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_then_given_up() {
        let mut calls = 0;
        let got = poll(&Schedule::TINY, async || {
            calls += 1;
            Ok(match calls {
                1 | 2 => Step::Retry(Error::failed("throttled")),
                3 => Step::Pending,
                4..=6 => Step::Retry(Error::failed("throttled")),
                _ => Step::Done("ok"),
            })
        })
        .await
        .unwrap();
        assert_eq!(got, "ok");

        let err = poll::<()>(&Schedule::TINY, async || {
            Ok(Step::Retry(Error::failed("still throttled")))
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "still throttled");
    }

    #[tokio::test]
    async fn a_time_limit_ends_the_wait_with_none_and_done_wins_before_it() {
        let mut calls = 0;
        let started = std::time::Instant::now();
        let got = poll_within(
            &Schedule::every(Duration::from_millis(5)),
            Duration::from_millis(40),
            async || {
                calls += 1;
                Ok(Step::<()>::Pending)
            },
        )
        .await
        .unwrap();
        assert_eq!(got, None);
        assert!(calls >= 2, "{calls}");
        assert!(started.elapsed() >= Duration::from_millis(40));

        let got = poll_within(&Schedule::TINY, Duration::ZERO, async || Ok(Step::Done(7)))
            .await
            .unwrap();
        assert_eq!(
            got,
            Some(7),
            "the first look happens even with no time left"
        );
    }

    #[test]
    fn every_is_a_fixed_interval() {
        let s = Schedule::every(Duration::from_millis(25));
        let delays: Vec<u128> = (0..4).map(|n| s.delay(n).as_millis()).collect();
        assert_eq!(delays, [0, 25, 25, 25]);
    }

    #[tokio::test]
    async fn errors_end_the_wait_at_once() {
        let mut calls = 0;
        let err = poll::<()>(&Schedule::TINY, async || {
            calls += 1;
            Err(Error::failed("gone"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "gone");
        assert_eq!(calls, 1);
    }
}
