//! The every-endpoint fixture's console calls: each server function's arguments, well
//! formed enough that only policy can refuse them.

use serde_json::json;
use server::api::table::Endpoint;

use super::*;

/// A console server function's arguments (`name#Op` entries carry one operation).
pub fn console_call(e: &Endpoint, w: &World) -> Call {
    let name = e.path.trim_start_matches("/api/");
    let form = |s: String| Call {
        path: format!("/api/{name}"),
        body: Some(s.into_bytes()),
        content_type: "application/x-www-form-urlencoded",
        subject: false,
    };
    if let Some((func, op)) = name.split_once('#') {
        let (img, alpha, rita) = (&w.image, &w.alpha, &w.rita);
        let args = match op {
            "Update" => json!({"id": img, "name": "x", "visibility": "private", "min_disk": "0", "min_ram": "0", "protected": false, "properties": ""}),
            "Delete" if func == "instance_do" => json!({"id": w.server}),
            "Delete" | "Protect" => json!({"id": img}),
            "SetActive" => json!({"id": img, "active": false}),
            "MemberAdd" => json!({"id": img, "member": alpha}),
            "MemberRemove" => json!({"id": img, "member": w.gamma}),
            "MemberDecide" => json!({"id": w.shared_in, "accept": true}),
            "GroupCreate" if func == "network_do" => json!({"name": "console-sg", "description": ""}),
            "GroupDelete" if func == "network_do" => json!({"id": w.security_group}),
            "ProjectCreate" | "GroupCreate" | "RoleCreate" => json!({"name": "n", "description": ""}),
            "ProjectUpdate" => json!({"id": alpha, "name": "alpha", "description": "", "enabled": true}),
            "ProjectEnable" => json!({"id": alpha, "enabled": true}),
            "ProjectDelete" => json!({"id": alpha}),
            "MemberGrant" | "MemberRevoke" => json!({"project_id": alpha, "user_id": rita, "role_id": w.member_role}),
            "UserCreate" => json!({"name": "n", "email": "", "password": "pw-endpoints-3", "project_id": "", "role_id": ""}),
            "UserUpdate" => json!({"id": rita, "name": "rita", "email": "", "description": "", "project_id": alpha}),
            "UserEnable" => json!({"id": rita, "enabled": true}),
            "UserSetPassword" => json!({"id": rita, "password": "pw-endpoints-4"}),
            "UserDelete" => json!({"id": rita}),
            "GroupUpdate" => json!({"id": w.group, "name": "g", "description": ""}),
            "GroupDelete" => json!({"id": w.group}),
            "GroupAddUser" | "GroupRemoveUser" => json!({"group_id": w.group, "user_id": rita}),
            "RoleUpdate" => json!({"id": w.reader_role, "name": "reader", "description": ""}),
            "RoleDelete" => json!({"id": w.reader_role}),
            "AppCredCreate" => json!({"name": "console-made", "description": "", "expires": "", "unrestricted": false}),
            "AppCredDelete" => json!({"id": w.cred2}),
            "Action" => json!({"id": w.server, "action": "stop"}),
            "Bulk" => json!({"ids": [w.server], "action": "stop"}),
            "Resize" => json!({"id": w.server, "flavor": "t2"}),
            "Snapshot" => json!({"id": w.server, "name": "from-console"}),
            "KeypairCreate" => json!({"name": "console-key", "public_key": PUBLIC_KEY}),
            "KeypairDelete" => json!({"name": "console-key"}),
            "HostEnable" => json!({"id": w.host, "enabled": true, "reason": ""}),
            "FlavorCreate" => json!({"name": "console-flavor", "id": "", "vcpus": "1", "ram": "64", "disk": "1", "public": true}),
            "FlavorDelete" => json!({"id": "t2"}),
            "FlavorAccess" => json!({"id": w.flavor, "project": w.alpha, "add": true}),
            "QuotaSet" => json!({"project": w.alpha, "limits": "instances=20"}),
            "QuotaReset" => json!({"project": w.alpha}),
            "NetworkCreate" => json!({"name": "console-net", "shared": false, "subnet_name": "", "cidr": "10.20.0.0/24", "gateway": "", "dhcp": true, "dns": ""}),
            "NetworkDelete" => json!({"id": w.network}),
            "SubnetCreate" => json!({"network": w.network, "name": "", "cidr": "10.21.0.0/24", "gateway": "", "dhcp": true, "dns": ""}),
            "SubnetDelete" => json!({"id": w.subnet}),
            "PortDelete" => json!({"id": w.port}),
            "RouterCreate" => json!({"name": "console-router", "external": ""}),
            "RouterDelete" => json!({"id": w.router}),
            "RouterGateway" => json!({"id": w.router, "external": w.external_network}),
            "InterfaceAdd" | "InterfaceRemove" => json!({"id": w.router, "subnet": w.subnet}),
            "RuleCreate" => json!({"group": w.security_group, "preset": "https", "direction": "ingress", "port": "", "remote": "0.0.0.0/0"}),
            "RuleDelete" => json!({"id": w.rule}),
            "FipCreate" => json!({"network": w.external_network}),
            "FipAssociate" => json!({"id": w.floating_ip, "port": w.port}),
            "FipDisassociate" | "FipDelete" => json!({"id": w.floating_ip}),
            // No new password: a caller let through is told what is missing.
            "ChangePassword" => json!({"original": PW, "password": ""}),
            _ => panic!("the every-endpoint fixture has no arguments for {name}: add them (server/tests/endpoints.rs, `console_call`)"),
        };
        return Call {
            path: format!("/api/{func}"),
            body: json_body(json!({"op": {op: args}})),
            content_type: "application/json",
            subject: false,
        };
    }
    match name {
        "sign_in" => form(format!("username=bob&password={PW}&domain=")),
        "sign_out" | "who_am_i" | "cloud_info" | "project_usage" | "my_projects" | "get_prefs"
        | "list_users" | "list_groups" | "list_roles" | "identity_choices" | "my_app_creds" => {
            form(String::new())
        }
        "switch_project" => form(format!("project_id={}", w.alpha)),
        "save_prefs" => form("page_size=20".into()),
        "list_images" => form("all=false&name=&visibility=&status=&marker=".into()),
        "get_image" => form(format!("id={}", w.image)),
        "create_image" => {
            form("name=e&disk_format=raw&visibility=private&min_disk=0&min_ram=0".into())
        }
        "list_instances" => form("all=false&marker=".into()),
        "list_networks" => form("marker=".into()),
        "get_network" => form(format!("id={}", w.network)),
        "get_router" => form(format!("id={}", w.router)),
        "get_security_group" => form(format!("id={}", w.security_group)),
        "list_routers" | "list_security_groups" | "list_floating_ips" | "network_topology" => {
            form(String::new())
        }
        "list_keypairs" | "list_hosts" | "list_flavors" => form(String::new()),
        "project_quota" => form(format!("project={}", w.alpha)),
        "get_instance" => form(format!("id={}", w.server)),
        "instance_console" => form(format!("id={}&kind=serial", w.server)),
        "launch_choices" => form(String::new()),
        "launch_check" => form(format!("flavor={}&zone=&count=1&group=", w.flavor)),
        "launch_instances" => form(format!(
            "name=from-console&image={}&flavor={}&key_name=&user_data=&count=1&zone=&group=&networks=",
            w.public_image, w.flavor
        )),
        "list_projects" => form("search=&page=1".into()),
        "project_members" => form(format!("project_id={}", w.alpha)),
        "group_members" => form(format!("group_id={}", w.group)),
        _ => panic!("the every-endpoint fixture has no arguments for {name}: add them (server/tests/endpoints.rs, `console_call`)"),
    }
}
