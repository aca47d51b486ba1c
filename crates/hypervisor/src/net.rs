//! Networking on a host: libvirt networks (a bridge with libvirt's dnsmasq serving
//! DHCP from host entries only, so a guest gets exactly its port's address), the DHCP
//! host entries changed live, and nwfilters (a port's security groups) defined,
//! redefined — which libvirt applies to running guests at once — read and removed.

use virt::enumutil::Enum;
use virt::error::ErrorNumber;
use virt::network::Network;
use virt::nwfilter::NWFilter;

use crate::xml::escape;
use crate::{Host, HvError, HvResult};

// virNetworkUpdate's command, section and flags (libvirt-network.h).
const UPDATE_MODIFY: u32 = 1;
const UPDATE_DELETE: u32 = 2;
const UPDATE_ADD_LAST: u32 = 3;
const SECTION_IP_DHCP_HOST: u32 = 4;
const AFFECT_LIVE: u32 = 1;
const AFFECT_CONFIG: u32 = 2;

/// A tenant network as libvirt holds it: a bridge, no forwarding (isolated), the
/// host's address on it (the subnet's DHCP port) and DHCP for listed hosts only.
#[derive(Clone, Debug)]
pub struct NetworkSpec {
    /// libvirt's name (`fs-<network uuid>`).
    pub name: String,
    /// The bridge (at most 15 characters).
    pub bridge: String,
    pub mtu: i64,
    /// (address, prefix length) of the host on the bridge; `None`: no DHCP.
    pub dhcp_ip: Option<(String, u8)>,
    /// The DHCP host entries: (MAC, IP, hostname).
    pub hosts: Vec<DhcpHost>,
    /// The router address DHCP offers (the subnet's gateway; a router's interface
    /// holds it). libvirt offers none on an isolated network, so it is given to
    /// dnsmasq as an option for known hosts, which wins over libvirt's empty one.
    pub gateway: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpHost {
    pub mac: String,
    pub ip: String,
    pub name: String,
}

impl DhcpHost {
    fn xml(&self) -> String {
        let name = if self.name.is_empty() {
            String::new()
        } else {
            format!(" name='{}'", escape(&self.name))
        };
        format!(
            "<host mac='{}'{name} ip='{}'/>",
            escape(&self.mac),
            escape(&self.ip)
        )
    }
}

impl NetworkSpec {
    pub fn to_xml(&self) -> String {
        let mut x = format!(
            "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'><name>{}</name><bridge name='{}' stp='off' delay='0'/><mtu size='{}'/><dns enable='no'/>",
            escape(&self.name),
            escape(&self.bridge),
            self.mtu
        );
        if let Some((ip, prefix)) = &self.dhcp_ip {
            // Host entries only (no range): a MAC the cloud did not give a port gets
            // no lease.
            x.push_str(&format!(
                "<ip address='{}' prefix='{prefix}'><dhcp>",
                escape(ip)
            ));
            for h in &self.hosts {
                x.push_str(&h.xml());
            }
            x.push_str("</dhcp></ip>");
            if let Some(gw) = self
                .gateway
                .as_deref()
                .filter(|g| g.parse::<std::net::Ipv4Addr>().is_ok())
            {
                x.push_str(&format!(
                    "<dnsmasq:options><dnsmasq:option value='dhcp-option=tag:known,3,{gw}'/></dnsmasq:options>"
                ));
            }
        }
        x.push_str("</network>");
        x
    }
}

fn no_network(e: &virt::error::Error) -> bool {
    matches!(e.code(), Enum::Known(ErrorNumber::NoNetwork))
}

fn no_filter(e: &virt::error::Error) -> bool {
    matches!(e.code(), Enum::Known(ErrorNumber::NoNwfilter))
}

impl Host {
    /// Define and start the network unless it is there and running. A network that is
    /// there keeps its definition (its host entries change through [`Host::dhcp_host`]).
    pub async fn network_ensure(&self, spec: NetworkSpec) -> HvResult<()> {
        self.call(move |w| {
            w.with(|c| {
                let n = match c.lookup_network_by_name(&spec.name) {
                    Ok(n) => n,
                    Err(e) if no_network(&e) => c.define_network_xml(&spec.to_xml())?,
                    Err(e) => return Err(e),
                };
                if !n.is_active()? {
                    n.create()?;
                }
                if !n.autostart()? {
                    n.set_autostart(true)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Stop and remove the network; a missing one is fine.
    pub async fn network_remove(&self, name: &str) -> HvResult<()> {
        let name = name.to_string();
        self.call(move |w| {
            w.with(|c| {
                let n: Network = match c.lookup_network_by_name(&name) {
                    Ok(n) => n,
                    Err(e) if no_network(&e) => return Ok(()),
                    Err(e) => return Err(e),
                };
                if n.is_active()? {
                    n.destroy()?;
                }
                n.undefine()
            })
        })
        .await
    }

    /// The network's XML as libvirt holds it now (`None`: no such network).
    pub async fn network_xml(&self, name: &str) -> HvResult<Option<String>> {
        let name = name.to_string();
        self.call(move |w| {
            w.with(|c| match c.lookup_network_by_name(&name) {
                Ok(n) => n.xml_desc(0).map(Some),
                Err(e) if no_network(&e) => Ok(None),
                Err(e) => Err(e),
            })
        })
        .await
    }

    /// Add (or change) a DHCP host entry, or remove the entry of `host.mac`, live and
    /// in the definition. Idempotent both ways.
    pub async fn dhcp_host(&self, network: &str, host: DhcpHost, add: bool) -> HvResult<()> {
        let network = network.to_string();
        self.call(move |w| {
            w.with(|c| {
                let n = c.lookup_network_by_name(&network)?;
                let flags = if n.is_active()? {
                    AFFECT_LIVE | AFFECT_CONFIG
                } else {
                    AFFECT_CONFIG
                };
                let xml = n.xml_desc(0)?;
                let mac = format!("mac='{}'", host.mac);
                let present = xml.contains(&mac);
                match (add, present) {
                    (true, false) => n.update(
                        UPDATE_ADD_LAST,
                        SECTION_IP_DHCP_HOST,
                        -1,
                        &host.xml(),
                        flags,
                    ),
                    (true, true) => {
                        n.update(UPDATE_MODIFY, SECTION_IP_DHCP_HOST, -1, &host.xml(), flags)
                    }
                    (false, true) => n.update(
                        UPDATE_DELETE,
                        SECTION_IP_DHCP_HOST,
                        -1,
                        &format!("<host {mac}/>"),
                        flags,
                    ),
                    (false, false) => Ok(()),
                }
            })
        })
        .await
    }

    /// Define (or redefine: running guests that use it get the new rules at once) an
    /// nwfilter from its XML.
    pub async fn nwfilter_define(&self, xml: String) -> HvResult<()> {
        self.call(move |w| w.with(|c| c.define_nwfilter_xml(&xml).map(|_| ())))
            .await
    }

    /// The filter's XML (`None`: no such filter).
    pub async fn nwfilter_xml(&self, name: &str) -> HvResult<Option<String>> {
        let name = name.to_string();
        self.call(move |w| {
            w.with(|c| match c.lookup_nwfilter_by_name(&name) {
                Ok(f) => f.xml_desc(0).map(Some),
                Err(e) if no_filter(&e) => Ok(None),
                Err(e) => Err(e),
            })
        })
        .await
    }

    /// The names of the host's filters that start with `prefix`.
    pub async fn nwfilter_names(&self, prefix: &str) -> HvResult<Vec<String>> {
        let prefix = prefix.to_string();
        self.call(move |w| {
            w.with(|c| {
                Ok(c.list_nw_filters()?
                    .into_iter()
                    .filter(|n| n.starts_with(&prefix))
                    .collect())
            })
        })
        .await
    }

    /// Remove the filter (a missing one is fine; one a domain still uses is refused).
    pub async fn nwfilter_remove(&self, name: &str) -> HvResult<()> {
        let (name, shown) = (name.to_string(), name.to_string());
        self.call(move |w| {
            w.with(|c| {
                let f: NWFilter = match c.lookup_nwfilter_by_name(&name) {
                    Ok(f) => f,
                    Err(e) if no_filter(&e) => return Ok(()),
                    Err(e) => return Err(e),
                };
                f.undefine()
            })
        })
        .await
        .map_err(|e| match e {
            HvError::Libvirt(m) => HvError::Libvirt(format!("nwfilter {shown}: {m}")),
            other => other,
        })
    }
}
