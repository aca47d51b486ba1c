//! Domain XML from what the compute service decided: flavor (vCPUs, memory), disks
//! (a qcow2 overlay root, an ISO as cdrom, a config drive), the serial console logged to
//! a file by virtlogd, and NICs (Neutron ports plug in as `NicSpec`s). Every value is
//! XML-escaped: names and paths come from users.

use std::fmt::Write;

/// One disk of a domain.
#[derive(Clone, Debug)]
pub struct DiskSpec {
    pub path: String,
    /// `qcow2` or `raw`.
    pub format: String,
    /// `disk` or `cdrom`.
    pub device: String,
    /// Boot order (1 first); `None`: not bootable.
    pub boot: Option<u32>,
}

/// One network interface: a port's MAC on a libvirt network or host bridge, with the
/// port's security-group filter (networking fills these in).
#[derive(Clone, Debug)]
pub struct NicSpec {
    pub mac: String,
    /// `network` (a libvirt network's name) or `bridge` (a host bridge).
    pub source_type: String,
    pub source: String,
    pub filter: Option<String>,
}

impl NicSpec {
    /// The `<interface>` element (in a domain, or hot-plugged on its own).
    pub fn to_xml(&self) -> String {
        let e = escape;
        format!(
            "<interface type='{}'><mac address='{}'/><source {}='{}'/><model type='virtio'/>{}</interface>",
            e(&self.source_type),
            e(&self.mac),
            if self.source_type == "bridge" { "bridge" } else { "network" },
            e(&self.source),
            self.filter
                .as_ref()
                .map(|f| format!("<filterref filter='{}'/>", e(f)))
                .unwrap_or_default()
        )
    }
}

/// Everything a domain's XML is made from.
#[derive(Clone, Debug)]
pub struct DomainSpec {
    pub name: String,
    pub uuid: String,
    pub vcpus: i64,
    pub memory_mib: i64,
    /// `kvm`, `qemu` (TCG) or `test` (the simulated driver).
    pub virt_type: String,
    pub disks: Vec<DiskSpec>,
    pub nics: Vec<NicSpec>,
    /// Where virtlogd writes the serial console.
    pub console_log: Option<String>,
    /// Metadata libvirt keeps with the domain: which project and server it is.
    pub project_id: String,
    pub display_name: String,
}

pub const METADATA_NS: &str = "https://ferrostack.dev/xmlns/instance/1";

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The node file of a simulated host (`test:///<file>`): libvirt's test driver reports
/// these CPUs and this memory as the host's capacity.
pub fn simulated_node_xml(vcpus: u32, mib: u64) -> String {
    format!(
        "<node><cpu><mhz>2000</mhz><model>x86_64</model><active>{vcpus}</active><max>{vcpus}</max>\
         <nodes>1</nodes><sockets>1</sockets><cores>{vcpus}</cores><threads>1</threads></cpu>\
         <memory>{}</memory></node>",
        mib * 1024
    )
}

impl DomainSpec {
    pub fn new(name: &str, uuid: &str, vcpus: i64, memory_mib: i64, virt_type: &str) -> Self {
        DomainSpec {
            name: name.to_string(),
            uuid: uuid.to_string(),
            vcpus,
            memory_mib,
            virt_type: virt_type.to_string(),
            disks: Vec::new(),
            nics: Vec::new(),
            console_log: None,
            project_id: String::new(),
            display_name: String::new(),
        }
    }

    pub fn to_xml(&self) -> String {
        let mut x = String::new();
        let e = escape;
        let _ = writeln!(x, "<domain type='{}'>", e(&self.virt_type));
        let _ = writeln!(x, "  <name>{}</name>", e(&self.name));
        let _ = writeln!(x, "  <uuid>{}</uuid>", e(&self.uuid));
        let _ = writeln!(
            x,
            "  <metadata><fs:instance xmlns:fs='{METADATA_NS}'><fs:project>{}</fs:project><fs:name>{}</fs:name></fs:instance></metadata>",
            e(&self.project_id),
            e(&self.display_name)
        );
        let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", self.memory_mib);
        let _ = writeln!(x, "  <vcpu>{}</vcpu>", self.vcpus);
        x.push_str("  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n");
        x.push_str("  <features><acpi/><apic/></features>\n");
        if self.virt_type == "kvm" {
            x.push_str("  <cpu mode='host-passthrough'/>\n");
        }
        x.push_str("  <clock offset='utc'/>\n");
        x.push_str("  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>\n");
        x.push_str("  <devices>\n");
        let (mut vd, mut hd) = (0u8, 0u8);
        for d in &self.disks {
            let (target, bus) = if d.device == "cdrom" {
                let t = format!("hd{}", (b'c' + hd) as char);
                hd += 1;
                (t, "ide")
            } else {
                let t = format!("vd{}", (b'a' + vd) as char);
                vd += 1;
                (t, "virtio")
            };
            let _ = writeln!(
                x,
                "    <disk type='file' device='{}'><driver name='qemu' type='{}'/><source file='{}'/><target dev='{target}' bus='{bus}'/>{}{}</disk>",
                e(&d.device),
                e(&d.format),
                e(&d.path),
                if d.device == "cdrom" { "<readonly/>" } else { "" },
                d.boot.map(|o| format!("<boot order='{o}'/>")).unwrap_or_default()
            );
        }
        for n in &self.nics {
            let _ = writeln!(x, "    {}", n.to_xml());
        }
        match &self.console_log {
            Some(log) => {
                let _ = writeln!(
                    x,
                    "    <serial type='pty'><log file='{}' append='on'/><target port='0'/></serial>",
                    e(log)
                );
            }
            None => x.push_str("    <serial type='pty'><target port='0'/></serial>\n"),
        }
        x.push_str("    <console type='pty'><target type='serial' port='0'/></console>\n");
        if self.virt_type != "test" {
            x.push_str("    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>\n");
            x.push_str("    <video><model type='vga'/></video>\n");
        }
        x.push_str("  </devices>\n</domain>\n");
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_and_paths_are_escaped() {
        let mut s = DomainSpec::new("fs-x", "u", 1, 512, "qemu");
        s.display_name = "</fs:name><evil a='1'>&\u{1}".into();
        s.disks.push(DiskSpec {
            path: "/data/it's.qcow2".into(),
            format: "qcow2".into(),
            device: "disk".into(),
            boot: Some(1),
        });
        let xml = s.to_xml();
        assert!(!xml.contains("<evil"), "{xml}");
        assert!(
            xml.contains("&lt;/fs:name&gt;&lt;evil a=&apos;1&apos;&gt;&amp;?"),
            "{xml}"
        );
        assert!(xml.contains("it&apos;s.qcow2"), "{xml}");
    }

    #[test]
    fn an_iso_boots_as_cdrom_before_the_blank_disk() {
        let mut s = DomainSpec::new("fs-x", "u", 2, 1024, "kvm");
        s.disks.push(DiskSpec {
            path: "/r.qcow2".into(),
            format: "qcow2".into(),
            device: "disk".into(),
            boot: Some(2),
        });
        s.disks.push(DiskSpec {
            path: "/i.iso".into(),
            format: "raw".into(),
            device: "cdrom".into(),
            boot: Some(1),
        });
        s.console_log = Some("/log/console.log".into());
        let xml = s.to_xml();
        assert!(xml.contains("device='cdrom'><driver name='qemu' type='raw'/><source file='/i.iso'/><target dev='hdc' bus='ide'/><readonly/><boot order='1'/>"), "{xml}");
        assert!(
            xml.contains("<target dev='vda' bus='virtio'/><boot order='2'/>"),
            "{xml}"
        );
        assert!(xml.contains("<log file='/log/console.log'"), "{xml}");
        assert!(xml.contains("host-passthrough"), "{xml}");
    }
}
