//! Refuses delivery targets on addresses that are not the public Internet
//! (loopback, private, link-local, shared, multicast, metadata, documentation,
//! benchmarking, 6to4, Teredo and the other special-purpose ranges) unless the
//! operator allows their network. Checked when a URL is saved and again for
//! every connection: host names through [`GuardedResolver`], so a DNS answer
//! that changes cannot slip past, and IP literals (which no resolver sees)
//! through [`check_literal`] before each request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UrlRefused {
    #[error("{0}")]
    Invalid(String),
    #[error("{host} resolves to {ip} ({kind} address); internal and special-purpose addresses are refused (see DOCPUSH_ALLOWED_NETWORKS)")]
    Blocked {
        host: String,
        ip: IpAddr,
        kind: &'static str,
    },
    #[error("{host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
}

/// Networks that are not the public Internet, from the IANA IPv4 and IPv6
/// Special-Purpose Address Registries (and the cloud metadata address), most
/// specific first. IPv4-mapped, IPv4-compatible and NAT64 IPv6 addresses are
/// judged by the IPv4 address they carry; see [`internal_kind`].
static SPECIAL: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    [
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.169.254/32", "metadata"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001:2::/48", "benchmarking"),
        ("2001::/23", "IETF protocol assignment"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    ]
    .into_iter()
    .map(|(net, kind)| (net.parse().expect("a valid CIDR"), kind))
    .collect()
});

/// The kind of internal address `ip` is, or `None` for a public one.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    if let IpAddr::V6(v6) = ip {
        if let Some(v4) = embedded_v4(v6) {
            return internal_kind(IpAddr::V4(v4)).or(
                // The deprecated IPv4-compatible form is refused whatever it carries.
                (v6.segments()[..6] == [0; 6]).then_some("IPv4-compatible"),
            );
        }
    }
    if let Some((_, kind)) = SPECIAL.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(kind);
    }
    match ip {
        // Only 2000::/3 is allocated for global unicast.
        IpAddr::V6(v6) if v6.segments()[0] & 0xe000 != 0x2000 => Some("reserved"),
        _ => None,
    }
}

/// The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) address carries.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = || Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && u128::from(v6) > 1) || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(tail())
    } else {
        None
    }
}

/// Whether `ip` may be contacted under the operator's allow-list.
pub fn check_ip(host: &str, ip: IpAddr, allowed: &[IpNet]) -> Result<(), UrlRefused> {
    match internal_kind(ip) {
        Some(_)
            if allowed
                .iter()
                .any(|n| n.contains(&ip) || n.contains(&canonical(ip))) =>
        {
            Ok(())
        }
        Some(kind) => Err(UrlRefused::Blocked {
            host: host.to_string(),
            ip,
            kind,
        }),
        None => Ok(()),
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses and checks a webhook URL: http(s), a host, and every address it resolves to allowed.
pub async fn check_url(raw: &str, allowed: &[IpNet]) -> Result<Url, UrlRefused> {
    let url = Url::parse(raw.trim())
        .map_err(|e| UrlRefused::Invalid(format!("{raw:?} is not a URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(UrlRefused::Invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefused::Invalid(
            "credentials in the URL are not allowed; use headers".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| UrlRefused::Invalid(format!("{raw:?} has no host")))?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    for addr in resolve(&host, port).await? {
        check_ip(&host, addr.ip(), allowed)?;
    }
    Ok(url)
}

/// Checks a URL whose host is an IP address, which connects without any DNS
/// lookup and so without the resolver's check; host names pass here.
pub fn check_literal(url: &Url, allowed: &[IpNet]) -> Result<(), UrlRefused> {
    let host = url.host_str().unwrap_or_default();
    match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => check_ip(host, ip, allowed),
        Err(_) => Ok(()),
    }
}

/// The longest wait for a DNS answer. The system resolver runs on a
/// blocking thread and takes as long as its configuration says (retries of
/// unanswered servers can add up to a minute); a request saving a URL, and
/// a delivery, wait this long at most.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses a look-up of `host` found, or why there are none: its
/// error, or no answer within `limit`.
async fn within<I>(
    limit: Duration,
    host: &str,
    lookup: impl std::future::Future<Output = std::io::Result<I>>,
) -> Result<Vec<SocketAddr>, UrlRefused>
where
    I: Iterator<Item = SocketAddr>,
{
    let unresolvable = |reason: String| UrlRefused::Unresolvable {
        host: host.to_string(),
        reason,
    };
    match tokio::time::timeout(limit, lookup).await {
        Ok(Ok(addrs)) => Ok(addrs.collect()),
        Ok(Err(e)) => Err(unresolvable(e.to_string())),
        Err(_) => Err(unresolvable(format!(
            "no DNS answer within {} s",
            limit.as_secs_f64()
        ))),
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, UrlRefused> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs = within(LOOKUP_TIMEOUT, host, tokio::net::lookup_host((bare, port))).await?;
    if addrs.is_empty() {
        return Err(UrlRefused::Unresolvable {
            host: host.to_string(),
            reason: "no addresses".into(),
        });
    }
    Ok(addrs)
}

/// A resolver for the HTTP clients (webhooks through reqwest, SQS and S3
/// through the AWS SDK) that drops refused addresses at connect time.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    pub allowed: Arc<Vec<IpNet>>,
}

impl GuardedResolver {
    async fn allowed_addrs(&self, host: &str) -> Result<Vec<SocketAddr>, String> {
        let ok: Vec<SocketAddr> = resolve(host, 0)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|a| check_ip(host, a.ip(), &self.allowed).is_ok())
            .collect();
        if ok.is_empty() {
            return Err(format!(
                "{host} resolves only to refused internal addresses"
            ));
        }
        Ok(ok)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.allowed_addrs(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl aws_smithy_runtime_api::client::dns::ResolveDns for GuardedResolver {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDnsError};
        DnsFuture::new(async move {
            self.allowed_addrs(name)
                .await
                .map(|addrs| addrs.into_iter().map(|a| a.ip()).collect())
                .map_err(ResolveDnsError::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_targets_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/x",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://100.64.0.1/",
            "http://localhost:9/",
            "http://0.0.0.0/",
        ] {
            assert!(
                matches!(check_url(url, &[]).await, Err(UrlRefused::Blocked { .. })),
                "{url}"
            );
        }
        let allowed: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(check_url("http://127.0.0.1:9/x", &allowed).await.is_ok());
        assert!(check_url("http://[::ffff:127.0.0.1]:9/x", &allowed)
            .await
            .is_ok());
        assert!(check_url("http://10.0.0.1/", &allowed).await.is_err());
    }

    #[tokio::test]
    async fn malformed_urls_are_invalid() {
        for url in [
            "ftp://example.com/",
            "not a url",
            "http://user:pw@example.com/",
        ] {
            assert!(
                matches!(check_url(url, &[]).await, Err(UrlRefused::Invalid(_))),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn a_look_up_that_never_answers_is_given_up_with_a_reason() {
        let never = std::future::pending::<std::io::Result<std::vec::IntoIter<SocketAddr>>>();
        let refused = within(Duration::from_millis(20), "slow.example", never)
            .await
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "slow.example does not resolve: no DNS answer within 0.02 s"
        );
    }

    #[test]
    fn public_addresses_pass() {
        assert_eq!(internal_kind("93.184.216.34".parse().unwrap()), None);
        assert_eq!(internal_kind("2606:2800:220:1::1".parse().unwrap()), None);
    }
}
