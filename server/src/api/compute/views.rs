//! Nova's server view for the asked microversion (fields appear at the microversion
//! that added them; host attributes for admins only).

use ferrostack_types::compute::{Flavor, Server};

use super::base;
use super::prelude::*;

/// Nova's timestamps: whole seconds, `Z`.
pub(crate) fn nova_time(t: &str) -> String {
    t.get(..19)
        .map(|s| format!("{s}Z"))
        .unwrap_or_else(|| t.to_string())
}

pub(crate) fn links(s: &AppState, kind: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/v2.1/{kind}/{id}", base(s))},
        {"rel": "bookmark", "href": format!("{}/{kind}/{id}", base(s))},
    ])
}

fn server_flavor(s: &AppState, f: &Flavor, mv: Mv) -> Value {
    if mv.at_least(47) {
        json!({"vcpus": f.vcpus, "ram": f.ram, "disk": f.disk, "ephemeral": f.ephemeral,
               "swap": f.swap, "original_name": f.name, "extra_specs": f.extra_specs})
    } else {
        json!({"id": f.id, "links": [{"rel": "bookmark", "href": format!("{}/flavors/{}", base(s), f.id)}]})
    }
}

/// The full server view (GET /servers/{id}, /servers/detail).
pub(crate) fn server_view(st: &AppState, ctx: &Ctx, v: &Server, mv: Mv) -> Value {
    let image = match &v.image_id {
        Some(id) => {
            let mut i = json!({"id": id, "links": [{"rel": "bookmark", "href": format!("{}/images/{id}", base(st))}]});
            if mv.at_least(98) {
                i["properties"] = json!({});
            }
            i
        }
        None => json!(""),
    };
    let mut m = json!({
        "id": v.id, "name": v.name, "status": v.status,
        "tenant_id": v.project_id, "user_id": v.user_id,
        "metadata": v.metadata,
        "hostId": v.host_name.as_deref().map(|h| ferrostack_compute::host_id(&v.project_id, h)).unwrap_or_default(),
        "image": image,
        "flavor": server_flavor(st, &v.flavor, mv),
        "created": nova_time(&v.created_at), "updated": nova_time(&v.updated_at),
        "addresses": addresses(&v.addresses),
        "accessIPv4": "", "accessIPv6": "",
        "links": links(st, "servers", &v.id),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": v.availability_zone.clone().unwrap_or_default(),
        "config_drive": if v.config_drive { "True" } else { "" },
        "key_name": v.key_name,
        "OS-SRV-USG:launched_at": v.launched_at.as_deref().map(|t| format!("{}.000000", &t[..19.min(t.len())])),
        "OS-SRV-USG:terminated_at": null,
        "OS-EXT-STS:task_state": v.task_state,
        "OS-EXT-STS:vm_state": v.vm_state,
        "OS-EXT-STS:power_state": v.power_state,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    });
    if [
        "ACTIVE",
        "BUILD",
        "REBUILD",
        "RESIZE",
        "VERIFY_RESIZE",
        "MIGRATING",
    ]
    .contains(&v.status.as_str())
    {
        m["progress"] = json!(v.progress);
    }
    if mv.at_least(9) {
        m["locked"] = json!(v.locked);
    }
    if mv.at_least(73) {
        m["locked_reason"] = json!(v.locked_reason);
    }
    if mv.at_least(19) {
        m["description"] = json!(v.description);
    }
    if mv.at_least(26) {
        m["tags"] = json!(v.tags);
    }
    if mv.at_least(63) {
        m["trusted_image_certificates"] = Value::Null;
    }
    if mv.at_least(71) {
        m["server_groups"] = json!([]);
    }
    if mv.at_least(96) {
        m["pinned_availability_zone"] = Value::Null;
    }
    if mv.at_least(100) {
        m["scheduler_hints"] = json!({});
    }
    if ctx.is_admin() {
        m["OS-EXT-SRV-ATTR:host"] = json!(v.host_name);
        m["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(v.host_name);
        m["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("fs-{}", v.id));
        if mv.at_least(3) {
            m["OS-EXT-SRV-ATTR:reservation_id"] = json!(v.reservation_id);
            m["OS-EXT-SRV-ATTR:launch_index"] = json!(v.launch_index);
            m["OS-EXT-SRV-ATTR:hostname"] = json!(v.name);
            m["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
            m["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
            m["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
            m["OS-EXT-SRV-ATTR:user_data"] = Value::Null;
        }
        if mv.at_least(16) {
            m["host_status"] = json!(if v.host_name.is_some() { "UP" } else { "" });
        }
    } else if mv.at_least(90) {
        m["OS-EXT-SRV-ATTR:hostname"] = json!(v.name);
    }
    if let Some(f) = &v.fault {
        m["fault"] =
            json!({"code": f.code, "message": f.message, "created": nova_time(&f.created)});
    }
    m
}

pub(crate) fn brief(st: &AppState, v: &Server) -> Value {
    json!({"id": v.id, "name": v.name, "links": links(st, "servers", &v.id)})
}

/// Nova's `addresses`: by network name, each address with its version, type and MAC.
pub(crate) fn addresses(list: &[ferrostack_types::compute::ServerAddress]) -> Value {
    let mut m = serde_json::Map::new();
    for a in list {
        let entry = m.entry(a.network.clone()).or_insert_with(|| json!([]));
        if let Value::Array(v) = entry {
            v.push(json!({"addr": a.addr, "version": a.version, "OS-EXT-IPS:type": a.kind, "OS-EXT-IPS-MAC:mac_addr": a.mac}));
        }
    }
    Value::Object(m)
}
