//! Resource ids: 32 lowercase hex digits (a v4 UUID without dashes), as Keystone
//! issues them and as OpenStack clients accept them.

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A request id as OpenStack services return it in `x-openstack-request-id`.
pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}
