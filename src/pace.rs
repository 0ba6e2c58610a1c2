//! A token bucket for calls an AWS quota limits: `waitable reconcile` keeps to
//! DescribeExecution's, a bulk `cancel` to StopExecution's.

use std::time::Duration;

use tokio::time::Instant;

use waitable_core::limits::Quota;

/// A token bucket: `burst` calls at once, then one per `every`.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub burst: u32,
    pub every: Duration,
}

impl Pace {
    /// DescribeExecution's quota: a bucket of 250 refilled at 15 per second.
    pub const DESCRIBE_EXECUTION: Pace = Pace {
        burst: 250,
        every: Duration::from_micros(66_667),
    };

    /// The pace of an API action's [`Quota`].
    pub fn of(quota: Quota) -> Pace {
        Pace {
            burst: quota.bucket,
            every: Duration::from_secs(1) / quota.per_second.max(1),
        }
    }
}

/// Hands out call slots at [`Pace`], sleeping when the bucket is empty.
pub struct Pacer {
    pace: Pace,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    pub fn new(pace: Pace) -> Self {
        Pacer {
            pace,
            tokens: f64::from(pace.burst),
            last: Instant::now(),
        }
    }

    /// Waits until a call may be made, and takes its token.
    pub async fn take(&mut self) {
        let refill = |p: &mut Pacer| {
            let now = Instant::now();
            let earned = now.duration_since(p.last).as_secs_f64() / p.pace.every.as_secs_f64();
            p.tokens = (p.tokens + earned).min(f64::from(p.pace.burst));
            p.last = now;
        };
        refill(self);
        if self.tokens < 1.0 {
            let short = (1.0 - self.tokens) * self.pace.every.as_secs_f64();
            tokio::time::sleep(Duration::from_secs_f64(short)).await;
            refill(self);
        }
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_spends_the_burst_then_keeps_to_the_refill_rate() {
        // DescribeExecution's shape (a burst, then a steady rate), scaled down to milliseconds.
        let mut pacer = Pacer::new(Pace {
            burst: 5,
            every: Duration::from_millis(20),
        });
        let start = Instant::now();
        for _ in 0..5 {
            pacer.take().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(15),
            "the burst is free"
        );
        for _ in 0..10 {
            pacer.take().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_millis(400),
            "10 more at one per 20 ms: {took:?}"
        );
        assert_eq!(Pace::DESCRIBE_EXECUTION.burst, 250);
        assert_eq!(
            Pace::DESCRIBE_EXECUTION.every.as_micros(),
            66_667,
            "15 per second"
        );
        let stop = Pace::of(waitable_core::limits::STOP_EXECUTION_QUOTA_LARGE);
        assert_eq!(
            (stop.burst, stop.every.as_millis()),
            (1_000, 5),
            "200 per second"
        );
    }
}
