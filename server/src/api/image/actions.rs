//! Tags and the deactivate / reactivate actions.

use super::prelude::*;

pub(crate) async fn tag_put(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services.images.tag_add(&ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn tag_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services.images.tag_delete(&ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn deactivate(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<StatusCode> {
    s.services.images.image_set_active(&ctx, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn reactivate(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<StatusCode> {
    s.services.images.image_set_active(&ctx, &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}
