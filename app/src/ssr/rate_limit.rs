//! A per-address request budget for the public booking routes (API and pages alike):
//! so many requests a minute, then 429 with the seconds to wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RateLimiter {
    per_minute: u32,
    hits: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute: per_minute.max(1), hits: Arc::default() }
    }

    /// Counts a request from `client`; `Err(seconds)` when it must wait.
    pub fn check(&self, client: &str) -> Result<(), u64> {
        let now = Instant::now();
        let window = Duration::from_secs(60);
        let Ok(mut hits) = self.hits.lock() else { return Ok(()) };
        if hits.len() > 100_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = hits.entry(client.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(window.saturating_sub(now.duration_since(entry.0)).as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_budget() {
        let limiter = RateLimiter::new(2);
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let wait = limiter.check("a").expect_err("third request waits");
        assert!((1..=60).contains(&wait));
        assert!(limiter.check("b").is_ok());
    }
}
