//! The address guard of the fetch choke point (SSRF protection).
//!
//! regiocal fetches URLs that third parties register, so it must not be usable to reach the
//! operator's internal network. Every address a request would connect to is classified:
//! every range of IANA's IPv4 and IPv6 special-purpose address registries is refused
//! ([`IPV4_SPECIAL`], [`IPV6_SPECIAL`]: loopback, private, link-local, shared (CGNAT),
//! multicast, unspecified, broadcast, reserved, documentation, benchmarking, translation,
//! anycast relays, ...), and every IPv6 address outside global unicast (`2000::/3`). The IPv6
//! forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) are refused when the carried address is. Host notations like `127.1`,
//! `2130706433` or `0177.0.0.1` are normalised by the URL parser (WHATWG rules) before they get
//! here. An operator can exempt networks with `[fetch] allow_networks` (the demo and the tests
//! allow loopback).
//!
//! The guard is applied in three places: to IP-literal hosts before a request and on every
//! redirect hop (reqwest skips custom resolvers for literals), in the DNS resolver (names that
//! resolve to refused addresses fail, which also covers DNS rebinding because the connection
//! uses exactly the checked addresses), and to the peer address of the response.

use ipnet::IpNet;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// Which addresses outbound requests may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    allow: Vec<IpNet>,
}

impl AddressPolicy {
    /// A policy that refuses every non-public address except those in `allow`.
    pub fn new(allow: Vec<IpNet>) -> AddressPolicy {
        AddressPolicy { allow }
    }

    /// `Err(reason)` if `ip` may not be contacted.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match classify(ip) {
            Some(class) => Err(format!(
                "address {ip} is {class}; refused (see [fetch] allow_networks)"
            )),
            None => Ok(()),
        }
    }

    /// Checks the host of a URL when it is an IP literal, and refuses `localhost` names.
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if (name == "localhost" || name.ends_with(".localhost"))
                    && self.check(IpAddr::V4(Ipv4Addr::LOCALHOST)).is_err()
                {
                    return Err(format!(
                        "host {name:?} is loopback; refused (see [fetch] allow_networks)"
                    ));
                }
                Ok(())
            }
            None => Err("URL has no host".into()),
        }
    }
}

/// The class of a non-public address, or `None` for a public one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Every row of IANA's IPv4 Special-Purpose Address Registry (RFC 6890 and its updates,
/// including the rows marked globally reachable: no event feed lives at an anycast relay),
/// plus multicast. Anything in one of these is refused.
pub const IPV4_SPECIAL: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\" (0.0.0.0/8)"),
    ("10.0.0.0/8", "private (10.0.0.0/8)"),
    (
        "100.64.0.0/10",
        "shared address space / CGNAT (100.64.0.0/10)",
    ),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
    ("172.16.0.0/12", "private (172.16.0.0/12)"),
    ("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"),
    ("192.0.2.0/24", "documentation (192.0.2.0/24)"),
    ("192.31.196.0/24", "AS112-v4 (192.31.196.0/24)"),
    ("192.52.193.0/24", "AMT (192.52.193.0/24)"),
    ("192.88.99.0/24", "6to4 relay anycast (192.88.99.0/24)"),
    ("192.168.0.0/16", "private (192.168.0.0/16)"),
    (
        "192.175.48.0/24",
        "AS112 direct delegation (192.175.48.0/24)",
    ),
    ("198.18.0.0/15", "benchmarking (198.18.0.0/15)"),
    ("198.51.100.0/24", "documentation (198.51.100.0/24)"),
    ("203.0.113.0/24", "documentation (203.0.113.0/24)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
    ("255.255.255.255/32", "limited broadcast (255.255.255.255)"),
];

/// Every row of IANA's IPv6 Special-Purpose Address Registry, plus what lies outside global
/// unicast (`2000::/3`) besides. The IPv4-mapped (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`)
/// and 6to4 (`2002::/16`) forms are judged by the IPv4 address they carry instead.
pub const IPV6_SPECIAL: &[(&str, &str)] = &[
    ("::/128", "unspecified (::)"),
    ("::1/128", "loopback (::1)"),
    ("::ffff:0:0:0/96", "IPv4-translated (::ffff:0:0:0/96)"),
    ("::/96", "IPv4-compatible (::/96, deprecated)"),
    ("64:ff9b:1::/48", "NAT64 local-use (64:ff9b:1::/48)"),
    ("100::/64", "discard-only (100::/64)"),
    ("100:0:0:1::/64", "dummy prefix (100:0:0:1::/64)"),
    ("2001::/23", "IETF protocol assignments (2001::/23)"),
    ("2001::/32", "Teredo (2001::/32)"),
    ("2001:2::/48", "benchmarking (2001:2::/48)"),
    ("2001:3::/32", "AMT (2001:3::/32)"),
    ("2001:4:112::/48", "AS112-v6 (2001:4:112::/48)"),
    ("2001:10::/28", "ORCHID (2001:10::/28, deprecated)"),
    ("2001:20::/28", "ORCHIDv2 (2001:20::/28)"),
    ("2001:30::/28", "drone remote ID (2001:30::/28)"),
    ("2001:db8::/32", "documentation (2001:db8::/32)"),
    (
        "2620:4f:8000::/48",
        "AS112 direct delegation (2620:4f:8000::/48)",
    ),
    ("3fff::/20", "documentation (3fff::/20)"),
    ("5f00::/16", "segment routing SIDs (5f00::/16)"),
    ("fc00::/7", "unique local (fc00::/7)"),
    ("fe80::/10", "link-local (fe80::/10)"),
    ("fec0::/10", "site-local (fec0::/10, deprecated)"),
    ("ff00::/8", "multicast (ff00::/8)"),
];

fn table(rows: &'static [(&'static str, &'static str)]) -> Vec<(IpNet, &'static str)> {
    rows.iter()
        .filter_map(|(net, class)| net.parse::<IpNet>().ok().map(|n| (n, *class)))
        .collect()
}

fn v4_table() -> &'static [(IpNet, &'static str)] {
    static T: std::sync::OnceLock<Vec<(IpNet, &'static str)>> = std::sync::OnceLock::new();
    T.get_or_init(|| table(IPV4_SPECIAL))
}

fn v6_table() -> &'static [(IpNet, &'static str)] {
    static T: std::sync::OnceLock<Vec<(IpNet, &'static str)>> = std::sync::OnceLock::new();
    T.get_or_init(|| table(IPV6_SPECIAL))
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let ip = IpAddr::V4(ip);
    v4_table()
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    // Forms that carry an IPv4 address: that address decides.
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if seg[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return classify_v4(embedded(seg[6], seg[7]));
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        return classify_v4(embedded(seg[1], seg[2]))
            .map(|_| "6to4 of a refused IPv4 address (2002::/16)");
    }
    let addr = IpAddr::V6(ip);
    if let Some((_, class)) = v6_table().iter().find(|(net, _)| net.contains(&addr)) {
        return Some(class);
    }
    // Only global unicast is public.
    (seg[0] & 0xe000 != 0x2000).then_some("outside global unicast (2000::/3)")
}

/// Looks up the addresses of a host name. The system resolver in production; tests use a map.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The operating system's resolver (through tokio).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A reqwest resolver that drops refused addresses and fails when none is left.
pub struct GuardedResolver {
    pub policy: AddressPolicy,
    pub lookup: Arc<dyn Lookup>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let addrs = lookup.lookup(host.clone()).await?;
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|ip| match policy.check(*ip) {
                    Ok(()) => true,
                    Err(e) => {
                        refused.get_or_insert(e);
                        false
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| "no addresses".into());
                return Err(
                    format!("host {host:?} resolves to no allowed address: {reason}").into(),
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(host: &str) -> bool {
        let url = url::Url::parse(&format!("http://{host}/feed.ics")).unwrap();
        AddressPolicy::default().check_url(&url).is_err()
    }

    /// RELIABILITY.md row 18: every notation of a non-public address is refused by the
    /// classifier alone, without a socket.
    #[test]
    fn row18_every_notation_of_internal_addresses_is_refused() {
        for host in [
            "127.0.0.1",
            "127.1",
            "2130706433",
            "0177.0.0.1",
            "0x7f.0.0.1",
            "[::ffff:127.0.0.1]",
            "[::127.0.0.1]",
            "[64:ff9b::a9fe:a9fe]",
            "[2002:7f00:1::]",
            "100.64.0.1",
            "169.254.169.254",
            "[fe80::1]",
            "[fd00::1]",
            "0.0.0.0",
            "[::]",
            "[::1]",
            "localhost",
            "localhost.",
            "app.localhost",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
        ] {
            assert!(refused(host), "{host} must be refused");
        }
        for host in [
            "93.184.216.34",
            "[2606:4700:4700::1111]",
            "example.org",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert!(!refused(host), "{host} is public");
        }
    }

    #[test]
    fn allow_networks_exempts_only_what_it_names() {
        let policy = AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(policy.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::1".parse().unwrap()).is_err());
        assert!(policy.check("10.0.0.1".parse().unwrap()).is_err());
        let url = url::Url::parse("http://localhost:8080/").unwrap();
        assert!(policy.check_url(&url).is_ok());
    }

    struct MapLookup(Vec<IpAddr>);
    impl Lookup for MapLookup {
        fn lookup(
            &self,
            _host: String,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
            let v = self.0.clone();
            Box::pin(async move { Ok(v) })
        }
    }

    /// RELIABILITY.md row 19 (resolver half): a name resolving to private addresses fails; mixed
    /// answers keep only the public addresses, so the connection uses a checked address.
    #[tokio::test]
    async fn row19_names_resolving_to_private_addresses_fail() {
        use reqwest::dns::Resolve;
        let r = GuardedResolver {
            policy: AddressPolicy::default(),
            lookup: Arc::new(MapLookup(vec!["10.0.0.5".parse().unwrap()])),
        };
        let err = match r.resolve("intranet.example".parse().unwrap()).await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(err.contains("private"), "{err}");
        let r = GuardedResolver {
            policy: AddressPolicy::default(),
            lookup: Arc::new(MapLookup(vec![
                "10.0.0.5".parse().unwrap(),
                "93.184.216.34".parse().unwrap(),
            ])),
        };
        let addrs: Vec<SocketAddr> = match r.resolve("mixed.example".parse().unwrap()).await {
            Ok(a) => a.collect(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            addrs,
            vec!["93.184.216.34:0".parse::<SocketAddr>().unwrap()]
        );
    }
}
