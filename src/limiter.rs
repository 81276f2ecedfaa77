//! Per-client rate limiting: a token bucket per client, in a bounded map.
//!
//! A client is its verified API token when it presents a valid one, and otherwise its IP
//! address (IPv6 addresses by their /64 prefix, which one host usually owns whole): an
//! unverified bearer token is no identity, so sending random tokens does not buy fresh
//! buckets. The map holds at most [`MAX_CLIENTS`] buckets, least recently seen evicted first,
//! and every operation on it is O(1) under one short lock.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

/// Most clients tracked at once.
pub const MAX_CLIENTS: usize = 65_536;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// A caller with a valid token (its SHA-256, so the map holds no secret).
    Token([u8; 32]),
    /// An anonymous caller, by address.
    Address(IpAddr),
}

impl Client {
    /// The client of a request with `token` (verified) from `address`.
    pub fn of(token: Option<&str>, address: Option<IpAddr>) -> Self {
        use sha2::{Digest, Sha256};
        match (token, address) {
            (Some(token), _) => Self::Token(Sha256::digest(token.as_bytes()).into()),
            (None, Some(IpAddr::V6(v6))) if v6.to_ipv4_mapped().is_none() => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                Self::Address(IpAddr::from(octets))
            }
            (None, Some(IpAddr::V6(v6))) => {
                Self::Address(IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)))
            }
            (None, Some(v4)) => Self::Address(v4),
            (None, None) => Self::Address(IpAddr::from([0, 0, 0, 0])),
        }
    }
}

/// A token bucket per client.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<LruCache<Client, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second with bursts of `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self::with_capacity(rate, burst, MAX_CLIENTS)
    }

    /// Like [`Self::new`], tracking at most `capacity` clients.
    pub fn with_capacity(rate: f64, burst: u32, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self { rate, burst: f64::from(burst.max(1)), buckets: Mutex::new(LruCache::new(capacity)) }
    }

    /// Takes one token for `client`; on refusal, how long until one is available.
    pub fn check(&self, client: Client) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = buckets.get_or_insert_mut(client, || (self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }

    /// Clients tracked now.
    pub fn clients(&self) -> usize {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits() {
        let limiter = RateLimiter::new(1.0, 3);
        let client = Client::of(None, Some("10.0.0.1".parse().unwrap()));
        for _ in 0..3 {
            assert!(limiter.check(client.clone()).is_ok());
        }
        assert!(limiter.check(client).is_err());
        assert!(limiter.check(Client::of(None, Some("10.0.0.2".parse().unwrap()))).is_ok());
    }

    #[test]
    fn the_map_stays_bounded() {
        let limiter = RateLimiter::with_capacity(1.0, 1, 100);
        for i in 0..10_000u32 {
            let _ = limiter.check(Client::of(None, Some(IpAddr::from(i.to_be_bytes()))));
        }
        assert_eq!(limiter.clients(), 100);
    }

    #[test]
    fn ipv6_hosts_count_by_their_64_prefix() {
        let a = Client::of(None, Some("2001:db8::1".parse().unwrap()));
        let b = Client::of(None, Some("2001:db8::ffff:1".parse().unwrap()));
        assert_eq!(a, b);
        let c = Client::of(None, Some("2001:db8:0:1::1".parse().unwrap()));
        assert_ne!(a, c);
    }
}
