//! One webhook's line: the places (requests at once) the send pool gives a target, widened
//! while they are stuck and narrowed again once the line is empty.
//!
//! Each place is a connection. A webhook that answers at once needs few: a burst of a thousand
//! requests through [`FIRST_PLACES`] places reuses their keep-alive connections, where a
//! place per request would open a thousand connections (and make the webhook, and this
//! machine, accept them), and more places would not make it faster. A slow or hanging
//! webhook needs many, and gets them: while requests wait, if none has finished for [`STUCK`]
//! or its requests take [`STUCK`] or longer, its places double (at most once per [`STUCK`]),
//! up to the stack's `webhookConcurrency`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The places a line starts with (or fewer, if the stack allows fewer).
pub const FIRST_PLACES: usize = 32;
/// How long a request waits, with the line standing still or slow, before the places double.
pub const STUCK: Duration = Duration::from_millis(10);

pub struct Line {
    places: Arc<Semaphore>,
    most: usize,
    state: Mutex<State>,
}

struct State {
    /// Places made (taken or free).
    open: usize,
    /// When a request last finished.
    moved: Instant,
    /// When the places last doubled.
    widened: Instant,
    /// How long the recent requests took (a moving average), once one finished.
    takes: Option<Duration>,
}

/// A place in a line, held while its request runs.
pub struct Place {
    _permit: OwnedSemaphorePermit,
    since: Instant,
}

impl Line {
    /// A line of at most `most` places.
    pub fn new(most: usize) -> Line {
        let most = most.max(1);
        let first = FIRST_PLACES.min(most);
        Line {
            places: Arc::new(Semaphore::new(first)),
            most,
            state: Mutex::new(State {
                open: first,
                moved: Instant::now(),
                widened: Instant::now(),
                takes: None,
            }),
        }
    }

    /// Waits for a place; while none comes and the line stands still or is slow, widens it.
    pub async fn place(&self) -> Place {
        loop {
            match tokio::time::timeout(STUCK, self.places.clone().acquire_owned()).await {
                Ok(permit) => {
                    return Place {
                        _permit: permit.expect("a line's places are never closed"),
                        since: Instant::now(),
                    };
                }
                Err(_) => self.widen(),
            }
        }
    }

    /// Doubles the places (up to the most) if no request finished for [`STUCK`] or requests
    /// take that long, at most once per [`STUCK`].
    fn widen(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let still = s.moved.elapsed() >= STUCK;
        let slow = s.takes.is_some_and(|t| t >= STUCK);
        if s.open < self.most && s.widened.elapsed() >= STUCK && (still || slow) {
            let more = s.open.min(self.most - s.open);
            self.places.add_permits(more);
            s.open += more;
            s.widened = Instant::now();
        }
    }

    /// A request finished and gives its place back: the line moved. Once every place is free
    /// (the burst is over), the line narrows to its first places again.
    pub fn done(&self, place: Place) {
        let took = place.since.elapsed();
        drop(place);
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.moved = Instant::now();
        s.takes = Some(match s.takes {
            None => took,
            Some(t) => (t * 4 + took) / 5,
        });
        let first = FIRST_PLACES.min(self.most);
        if s.open > first && self.places.available_permits() == s.open {
            s.open -= self.places.forget_permits(s.open - first);
        }
    }

    /// Places made (taken or free).
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).open
    }

    /// Places free now.
    #[cfg(test)]
    pub fn free(&self) -> usize {
        self.places.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn places_held_by_requests_that_never_finish_double_up_to_the_most() {
        runtime().block_on(async {
            let line = Arc::new(Line::new(100));
            assert_eq!(line.open(), FIRST_PLACES);
            let mut held = Vec::new();
            for _ in 0..100 {
                held.push(line.place().await);
            }
            // 32, then 64, then the most: 100.
            assert_eq!((line.open(), line.free()), (100, 0));
            // Nothing more than the most, however long the wait.
            let more = tokio::time::timeout(STUCK * 5, line.place()).await;
            assert!(more.is_err());
            assert_eq!(line.open(), 100);
            // Once all are back, the line narrows again.
            for p in held {
                line.done(p);
            }
            assert_eq!((line.open(), line.free()), (FIRST_PLACES, FIRST_PLACES));
        });
    }

    #[test]
    fn a_line_that_moves_keeps_its_places() {
        runtime().block_on(async {
            let line = Arc::new(Line::new(1024));
            let mut tasks = Vec::new();
            for _ in 0..400 {
                let line = line.clone();
                tasks.push(tokio::spawn(async move {
                    let p = line.place().await;
                    // An answer within a millisecond: the line never stands still for STUCK.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    line.done(p);
                }));
            }
            let mut most_open = 0;
            for t in tasks {
                t.await.unwrap();
                most_open = most_open.max(line.open());
            }
            assert!(most_open <= 2 * FIRST_PLACES, "{most_open}");
        });
    }

    #[test]
    fn a_slow_line_that_still_moves_widens_too() {
        runtime().block_on(async {
            let line = Arc::new(Line::new(1024));
            let t0 = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..1000 {
                let line = line.clone();
                tasks.push(tokio::spawn(async move {
                    let p = line.place().await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    line.done(p);
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            // 32 places at 100 ms each would take 3.2 s.
            assert!(
                t0.elapsed() < Duration::from_millis(600),
                "{:?}",
                t0.elapsed()
            );
        });
    }

    #[test]
    fn a_stack_that_allows_fewer_places_starts_with_fewer() {
        let line = Line::new(2);
        assert_eq!((line.open(), line.free()), (2, 2));
        assert_eq!(Line::new(0).open(), 1);
    }
}
