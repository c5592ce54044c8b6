//! Failed sign-ins: each wrong key is logged (never the key itself) and
//! counted against the client's address; an address that has sent too many
//! lately has its further wrong keys answered `429` for the rest of its
//! window. A request without a key guessed nothing and is a plain `401`; a
//! valid key is never refused, so one misconfigured client behind a shared
//! address cannot lock out the others. Behind a reverse proxy listed in
//! `DOCPUSH_TRUSTED_PROXIES` the client is the address the proxy forwarded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use ipnet::IpNet;

use super::AppError;
use crate::config::SignInThrottle;

/// Addresses tracked at once; past this, expired windows are dropped, then
/// the oldest one.
const MAX_TRACKED: usize = 100_000;

struct Window {
    started: Instant,
    failures: u32,
}

pub struct SignInGuard {
    limits: SignInThrottle,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// The key a client is counted under: its IPv4 address, or the /64 of its IPv6
/// address (one subscriber typically holds a whole /64).
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

impl SignInGuard {
    pub fn new(limits: SignInThrottle) -> Self {
        Self {
            limits,
            windows: Mutex::default(),
        }
    }

    /// The address a request is counted under (see [`client_address`]).
    pub fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        client_address(req, &self.limits.trusted_proxies)
    }

    /// How long `addr` must wait before trying again, when it has failed too often.
    pub fn wait_for(&self, addr: IpAddr) -> Option<Duration> {
        if self.limits.max_failures == 0 {
            return None;
        }
        let windows = self.windows.lock().expect("sign-in windows");
        let w = windows.get(&client_key(addr))?;
        let left = self.limits.window.checked_sub(w.started.elapsed())?;
        (w.failures >= self.limits.max_failures && !left.is_zero()).then_some(left)
    }

    /// The answer to a request that sent no credential at all: not a guess,
    /// so not counted.
    pub fn missing(&self, client: Option<IpAddr>, request: &str) -> AppError {
        let shown = client.map_or_else(|| "unknown".to_string(), |c| c.to_string());
        tracing::debug!(client = %shown, request, "request without a credential");
        AppError::Unauthorized
    }

    /// The answer to a wrong credential (`why` says how, never what): logged
    /// and counted against the address, `401` until the address has used up
    /// its allowance, `429` with the wait after that.
    pub fn wrong(&self, client: Option<IpAddr>, request: &str, why: &str) -> AppError {
        let shown = client.map_or_else(|| "unknown".to_string(), |c| c.to_string());
        if let Some(wait) = client.and_then(|c| self.wait_for(c)) {
            tracing::debug!(client = %shown, request, reason = why, "sign-in failed again from a throttled address");
            return refusal(wait);
        }
        tracing::warn!(client = %shown, request, reason = why, "sign-in failed");
        if let Some(c) = client {
            self.failed(c);
        }
        AppError::Unauthorized
    }

    /// Counts a failed sign-in from `addr`.
    pub fn failed(&self, addr: IpAddr) {
        if self.limits.max_failures == 0 {
            return;
        }
        let window = self.limits.window;
        let mut windows = self.windows.lock().expect("sign-in windows");
        let key = client_key(addr);
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&key) {
            windows.retain(|_, w| w.started.elapsed() < window);
            let oldest = windows
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(k, _)| *k);
            if let (true, Some(oldest)) = (windows.len() >= MAX_TRACKED, oldest) {
                windows.remove(&oldest);
            }
        }
        let w = windows.entry(key).or_insert(Window {
            started: Instant::now(),
            failures: 0,
        });
        if w.started.elapsed() >= window {
            *w = Window {
                started: Instant::now(),
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the nearest untrusted address it forwarded (`X-Forwarded-For`, read from
/// the right, since only the proxies' own additions can be believed).
pub fn client_address(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|a| !trusted.iter().any(|n| n.contains(*a)))
        .or(forwarded.first())
        .copied()
        .or(Some(peer))
}

/// The answer to a wrong key from an address that must wait `wait`.
fn refusal(wait: Duration) -> AppError {
    AppError::TooManyRequests {
        message: "too many wrong keys from this address; requests with a valid key are served, others are refused until the wait is over".into(),
        retry_after: wait.as_secs().max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max_failures: u32, window: Duration) -> SignInGuard {
        SignInGuard::new(SignInThrottle {
            max_failures,
            window,
            trusted_proxies: Vec::new(),
        })
    }

    #[test]
    fn an_address_is_refused_after_its_allowance_and_others_are_not() {
        let g = guard(3, Duration::from_secs(60));
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(g.wait_for(a), None);
            g.failed(a);
        }
        let wait = g.wait_for(a).expect("refused after 3 failures");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert_eq!(g.wait_for("203.0.113.8".parse().unwrap()), None);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_windows_expire() {
        let g = guard(2, Duration::from_millis(50));
        g.failed("2001:db8:1:2::1".parse().unwrap());
        g.failed("2001:db8:1:2::ffff".parse().unwrap());
        assert!(g.wait_for("2001:db8:1:2::3".parse().unwrap()).is_some());
        assert!(g.wait_for("2001:db8:1:3::1".parse().unwrap()).is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(g.wait_for("2001:db8:1:2::3".parse().unwrap()).is_none());
    }

    #[test]
    fn a_full_table_makes_room_for_a_new_address() {
        let g = guard(1, Duration::from_secs(60));
        {
            let mut windows = g.windows.lock().unwrap();
            for i in 0..MAX_TRACKED as u32 {
                windows.insert(
                    IpAddr::V4(i.into()),
                    Window {
                        started: Instant::now(),
                        failures: 1,
                    },
                );
            }
        }
        let newcomer: IpAddr = "203.0.113.99".parse().unwrap();
        g.failed(newcomer);
        assert!(g.wait_for(newcomer).is_some());
        assert_eq!(g.windows.lock().unwrap().len(), MAX_TRACKED);
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_address_it_forwarded() {
        use actix_web::test::TestRequest;
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let via_proxy = TestRequest::default()
            .peer_addr("10.0.0.5:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.0.0.9"))
            .to_http_request();
        assert_eq!(
            client_address(&via_proxy, &trusted),
            Some("203.0.113.7".parse().unwrap())
        );
        let direct = TestRequest::default()
            .peer_addr("203.0.113.50:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(
            client_address(&direct, &trusted),
            Some("203.0.113.50".parse().unwrap()),
            "an untrusted peer cannot claim another address"
        );
    }

    #[test]
    fn wrong_keys_are_throttled_and_missing_ones_are_not_counted() {
        let g = guard(2, Duration::from_secs(60));
        let a: Option<IpAddr> = Some("203.0.113.7".parse().unwrap());
        for _ in 0..5 {
            assert!(matches!(g.missing(a, "GET /x"), AppError::Unauthorized));
        }
        for _ in 0..2 {
            assert!(matches!(
                g.wrong(a, "GET /x", "an unknown key"),
                AppError::Unauthorized
            ));
        }
        let third = g.wrong(a, "GET /x", "an unknown key");
        assert!(matches!(third, AppError::TooManyRequests { retry_after, .. } if retry_after > 0));
        assert!(
            matches!(g.missing(a, "GET /x"), AppError::Unauthorized),
            "a missing key is still a plain 401"
        );
    }

    #[test]
    fn zero_turns_the_throttle_off() {
        let g = guard(0, Duration::from_secs(60));
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..100 {
            g.failed(a);
        }
        assert_eq!(g.wait_for(a), None);
    }
}
