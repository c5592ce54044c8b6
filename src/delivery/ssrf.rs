//! Refuses webhook targets on loopback, private, link-local, shared, multicast
//! and metadata addresses unless the operator allows their network. Checked
//! when a URL is saved and again at connect time (the HTTP client resolves
//! through [`GuardedResolver`]), so a DNS answer that changes cannot slip past.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UrlRefused {
    #[error("{0}")]
    Invalid(String),
    #[error("{host} resolves to {ip}, a {kind} address; webhooks to internal networks are refused (see DOCPUSH_ALLOWED_NETWORKS)")]
    Blocked {
        host: String,
        ip: IpAddr,
        kind: &'static str,
    },
    #[error("{host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
}

/// The kind of internal address `ip` is, or `None` for a public one.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_kind(v4);
            }
            let seg0 = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg0 & 0xfe00 == 0xfc00 {
                Some("private")
            } else if seg0 & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.segments()[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible ::a.b.c.d
                v4_kind(Ipv4Addr::from(
                    ((v6.segments()[6] as u32) << 16) | v6.segments()[7] as u32,
                ))
                .or(Some("reserved"))
            } else if v6.segments()[..2] == [0x64, 0xff9b] {
                let s = v6.segments();
                v4_kind(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32))
            } else if v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254) {
                Some("metadata")
            } else {
                None
            }
        }
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("metadata")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
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

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, UrlRefused> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| UrlRefused::Unresolvable {
            host: host.to_string(),
            reason: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(UrlRefused::Unresolvable {
            host: host.to_string(),
            reason: "no addresses".into(),
        });
    }
    Ok(addrs)
}

/// A resolver for the HTTP client that drops refused addresses at connect time.
pub struct GuardedResolver {
    pub allowed: Arc<Vec<IpNet>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs = resolve(&host, 0).await?;
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| check_ip(&host, a.ip(), &allowed).is_ok())
                .collect();
            if ok.is_empty() {
                return Err(format!("{host} resolves only to refused internal addresses").into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
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

    #[test]
    fn public_addresses_pass() {
        assert_eq!(internal_kind("93.184.216.34".parse().unwrap()), None);
        assert_eq!(internal_kind("2606:2800:220:1::1".parse().unwrap()), None);
    }
}
