//! XML escaping for what the network service hands libvirt.

pub(crate) fn esc(s: &str) -> String {
    ferrostack_hypervisor::xml::escape(s)
}
