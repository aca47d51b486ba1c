//! /v2.0/security-groups and /v2.0/security-group-rules.

use ferrostack_network::{NewRule, NewSecurityGroup, SecurityGroupUpdate};
use ferrostack_types::network::{SecurityGroup, SecurityGroupRule};

use super::prelude::*;
use crate::api::table::{Access::*, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/v2.0/security-groups", Token, group_list)
        .post("/v2.0/security-groups", Create, group_create)
        .get("/v2.0/security-groups/{id}", ProjectRead, group_show)
        .put("/v2.0/security-groups/{id}", ProjectWrite, group_update)
        .delete("/v2.0/security-groups/{id}", ProjectWrite, group_delete)
        .get("/v2.0/security-group-rules", Token, rule_list)
        // A rule is added to a group its project holds.
        .post("/v2.0/security-group-rules", ProjectWrite, rule_create)
        .get("/v2.0/security-group-rules/{id}", ProjectRead, rule_show)
        .delete("/v2.0/security-group-rules/{id}", ProjectWrite, rule_delete)
}

pub fn rule_view(r: &SecurityGroupRule) -> Value {
    json!({
        "id": r.id, "security_group_id": r.security_group_id,
        "project_id": r.project_id, "tenant_id": r.project_id,
        "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id,
        "remote_address_group_id": null, "normalized_cidr": r.remote_ip_prefix,
        "description": r.description, "revision_number": r.revision_number,
        "created_at": neutron_time(&r.created_at), "updated_at": neutron_time(&r.updated_at),
    })
}

pub fn group_view(g: &SecurityGroup) -> Value {
    json!({
        "id": g.id, "name": g.name, "description": g.description,
        "project_id": g.project_id, "tenant_id": g.project_id, "stateful": g.stateful, "shared": false,
        "security_group_rules": g.rules.iter().map(rule_view).collect::<Vec<_>>(),
        "tags": g.tags, "revision_number": g.revision_number,
        "created_at": neutron_time(&g.created_at), "updated_at": neutron_time(&g.updated_at),
    })
}

async fn group_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "security_group")?;
    let new = NewSecurityGroup {
        name: b.string("name")?.ok_or_else(|| {
            Error::bad_request("Failed to parse request. Required attribute 'name' not specified")
        })?,
        description: b.string("description")?.unwrap_or_default(),
        project_id: b.project()?,
        stateful: b.boolean("stateful")?,
        tags: b.strings("tags")?.unwrap_or_default(),
    };
    b.finish()?;
    let g = s.services.network.group_create(&ctx, new).await?;
    Ok(created("security_group", group_view(&g)))
}

async fn group_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let g = s.services.network.group_get(&ctx, &id).await?;
    Ok(one_reply(
        "security_group",
        group_view(&g),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn group_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s.services.network.group_list(&ctx, p.query.clone()).await?;
    let views = list.iter().map(|g| (g.id.clone(), group_view(g))).collect();
    Ok(list_reply(
        &s,
        "security-groups",
        "security_groups",
        views,
        more,
        &p,
    ))
}

async fn group_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut b = Body::parse(&body, "security_group")?;
    let u = SecurityGroupUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        stateful: b.boolean("stateful")?,
    };
    b.finish()?;
    let g = s.services.network.group_update(&ctx, &id, u).await?;
    Ok(one_reply("security_group", group_view(&g), &[]))
}

async fn group_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.group_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rule_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "security_group_rule")?;
    let protocol = match b.take("protocol") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(v) => {
            return Err(Error::bad_request(format!(
                "Invalid input for protocol. Reason: '{v}' is not a protocol name or number."
            ))
            .into())
        }
    };
    let new = NewRule {
        security_group_id: b.string("security_group_id")?.ok_or_else(|| {
            Error::bad_request(
                "Failed to parse request. Required attribute 'security_group_id' not specified",
            )
        })?,
        direction: b.string("direction")?.ok_or_else(|| {
            Error::bad_request(
                "Failed to parse request. Required attribute 'direction' not specified",
            )
        })?,
        ethertype: b.string("ethertype")?,
        protocol,
        port_range_min: b.int("port_range_min")?,
        port_range_max: b.int("port_range_max")?,
        remote_ip_prefix: b.nullable("remote_ip_prefix")?.flatten(),
        remote_group_id: b.nullable("remote_group_id")?.flatten(),
        description: b.string("description")?.unwrap_or_default(),
        project_id: b.project()?,
    };
    if b.take("remote_address_group_id")
        .is_some_and(|v| !v.is_null())
    {
        return Err(Error::bad_request(
            "Address groups are not offered: use remote_ip_prefix or remote_group_id.",
        )
        .into());
    }
    b.finish()?;
    let r = s.services.network.rule_create(&ctx, new).await?;
    Ok(created("security_group_rule", rule_view(&r)))
}

async fn rule_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let r = s.services.network.rule_get(&ctx, &id).await?;
    Ok(one_reply(
        "security_group_rule",
        rule_view(&r),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn rule_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s.services.network.rule_list(&ctx, p.query.clone()).await?;
    let views = list.iter().map(|r| (r.id.clone(), rule_view(r))).collect();
    Ok(list_reply(
        &s,
        "security-group-rules",
        "security_group_rules",
        views,
        more,
        &p,
    ))
}

async fn rule_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.rule_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
