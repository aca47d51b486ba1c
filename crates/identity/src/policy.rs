//! Who may do what in identity. The defaults follow Keystone's: the admin role may do
//! everything; members and readers see their own projects and manage their own
//! password and application credentials. The decision is core's one policy call
//! (`Ctx::authorize`); this module words the refusal as Keystone does, naming the action
//! and what it needs.

use ferrostack_core::{Action, Ctx, Error, Owned, Result};

fn refused(action: &str, needs: &str) -> Error {
    Error::forbidden(format!(
        "You are not authorized to perform the requested action: identity:{action}. {needs}"
    ))
}

/// Only an admin: the cloud's own records (domains, projects, users, roles, catalog).
pub fn require_admin(ctx: &Ctx, action: &str) -> Result<()> {
    ctx.authorize(
        Action::Admin,
        &Owned::of_cloud("identity", action).visible(true),
    )
    .map_err(|_| refused(action, "It needs the admin role."))
}

/// The caller acts on its own user record (or what belongs to it), or is an admin.
/// Keystone answers anyone else 403 rather than hiding the user, so the record counts
/// as visible, and acting on it — reading included — takes the right to change it.
pub fn require_admin_or_self(ctx: &Ctx, action: &str, user_id: &str) -> Result<()> {
    ctx.authorize(
        Action::Write,
        &Owned::of_user("user", user_id, user_id).visible(true),
    )
    .map_err(|_| refused(action, "Only the user itself or an admin may do this."))
}

/// The caller acts on its own user record, admin or not (Keystone's rule for
/// application credentials: not even an admin acts on another user's).
pub fn require_self(ctx: &Ctx, action: &str, user_id: &str) -> Result<()> {
    if ctx.is_user(user_id) {
        Ok(())
    } else {
        Err(refused(action, "Only the user itself may do this."))
    }
}
