//! Resource ids: 32 lowercase hex digits (a v4 UUID without dashes), as Keystone
//! issues them and as OpenStack clients accept them.

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A request id as OpenStack services return it in `x-openstack-request-id`.
pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

/// A v4 UUID in its dashed form, as Glance, Nova, Neutron and Cinder issue ids.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Accept a client-chosen id only if it is a UUID (dashed or not), as Glance does.
pub fn check_uuid(id: &str) -> crate::Result<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            crate::Error::bad_request(format!(
                "Invalid input for field 'id': {id:?} is not a UUID."
            ))
        })
}
