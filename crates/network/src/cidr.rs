//! Address arithmetic for IPv4 and IPv6 alike: an address is a `u128` with its
//! family, a CIDR a masked address and a prefix. The IPAM stores each address under a
//! 32-hex-digit key, so text order is numeric order on every database.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub v6: bool,
    pub net: u128,
    pub prefix: u8,
}

/// An address: its family and value.
pub fn parse_ip(s: &str) -> Option<(bool, u128)> {
    match s.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some((false, u32::from(a) as u128)),
        IpAddr::V6(a) => Some((true, u128::from(a))),
    }
}

pub fn ip_string(v6: bool, n: u128) -> String {
    if v6 {
        Ipv6Addr::from(n).to_string()
    } else {
        Ipv4Addr::from(n as u32).to_string()
    }
}

/// The key an address is stored and ordered under.
pub fn key(n: u128) -> String {
    format!("{n:032x}")
}

pub fn from_key(k: &str) -> Option<u128> {
    u128::from_str_radix(k, 16).ok()
}

impl Cidr {
    pub fn bits(&self) -> u8 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn host_mask(v6: bool, prefix: u8) -> u128 {
        let bits = if v6 { 128 } else { 32 };
        let host = bits - prefix as u32;
        if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        }
    }

    /// `10.0.0.0/24`, `2001:db8::/64`. Host bits must be zero (Neutron's rule, with
    /// its advice).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let (v6, n) = parse_ip(addr).ok_or_else(|| format!("'{s}' is not a valid IP subnet"))?;
        let bits = if v6 { 128 } else { 32 };
        let prefix: u8 = if prefix.is_empty() {
            bits
        } else {
            prefix
                .parse()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("'{s}' is not a valid IP subnet"))?
        };
        let mask = Self::host_mask(v6, prefix);
        let c = Cidr {
            v6,
            net: n & !mask,
            prefix,
        };
        if n & mask != 0 {
            return Err(format!(
                "'{s}' isn't a recognized IP subnet cidr, '{c}' is recommended"
            ));
        }
        Ok(c)
    }

    pub fn first(&self) -> u128 {
        self.net
    }

    pub fn last(&self) -> u128 {
        self.net | Self::host_mask(self.v6, self.prefix)
    }

    pub fn size(&self) -> u128 {
        Self::host_mask(self.v6, self.prefix).saturating_add(1)
    }

    pub fn contains(&self, v6: bool, ip: u128) -> bool {
        v6 == self.v6 && ip >= self.first() && ip <= self.last()
    }

    pub fn overlaps(&self, o: &Cidr) -> bool {
        self.v6 == o.v6 && self.first() <= o.last() && o.first() <= self.last()
    }

    /// The addresses hosts may hold: IPv4 leaves out the network and broadcast
    /// addresses (for prefixes up to /30), IPv6 the subnet-router anycast address.
    pub fn usable(&self) -> Option<(u128, u128)> {
        let (f, l) = (self.first(), self.last());
        let (f, l) = if self.v6 {
            (f + 1, l)
        } else if self.prefix <= 30 {
            (f + 1, l - 1)
        } else {
            (f, l)
        };
        (f <= l).then_some((f, l))
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", ip_string(self.v6, self.net), self.prefix)
    }
}

/// A MAC address in Neutron's form (lowercase, colon-separated), if `s` is one.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return None;
        }
        out[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

pub fn mac_string(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SLAAC address of `mac` in a /64 (modified EUI-64), as Neutron computes it.
pub fn eui64(prefix: u128, mac: &[u8; 6]) -> u128 {
    let iid = [
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ];
    let mut n = prefix & !((1u128 << 64) - 1);
    for (i, b) in iid.iter().enumerate() {
        n |= (*b as u128) << (8 * (7 - i));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_refuse_host_bits() {
        let c = Cidr::parse("10.0.0.0/24").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/24");
        assert_eq!(ip_string(false, c.last()), "10.0.0.255");
        let (f, l) = c.usable().unwrap();
        assert_eq!(
            (ip_string(false, f), ip_string(false, l)),
            ("10.0.0.1".into(), "10.0.0.254".into())
        );
        let e = Cidr::parse("10.0.0.1/24").unwrap_err();
        assert!(e.contains("'10.0.0.0/24' is recommended"), "{e}");
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nonsense/8").is_err());
        let v6 = Cidr::parse("2001:db8::/64").unwrap();
        assert!(v6.contains(true, parse_ip("2001:db8::ffff").unwrap().1));
        assert!(!v6.contains(false, 5));
        assert!(Cidr::parse("10.0.0.0/16")
            .unwrap()
            .overlaps(&Cidr::parse("10.0.200.0/24").unwrap()));
        assert!(!c.overlaps(&Cidr::parse("10.0.1.0/24").unwrap()));
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().size(), 1u128 << 32);
        assert_eq!(Cidr::parse("::/0").unwrap().size(), u128::MAX);
    }

    #[test]
    fn keys_sort_as_numbers_and_slaac_matches_neutron() {
        assert!(key(9) < key(10) && key(255) < key(256));
        assert_eq!(from_key(&key(12345)), Some(12345));
        let mac = parse_mac("fa:16:3e:12:34:56").unwrap();
        let p = parse_ip("2001:db8::").unwrap().1;
        assert_eq!(
            ip_string(true, eui64(p, &mac)),
            "2001:db8::f816:3eff:fe12:3456"
        );
        assert!(parse_mac("fa:16:3e:12:34").is_none());
        assert_eq!(mac_string(&mac), "fa:16:3e:12:34:56");
    }
}
