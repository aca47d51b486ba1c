//! Who may do what in identity. The defaults follow Keystone's: the admin role may do
//! everything; members and readers see their own projects and manage their own
//! password and application credentials. Messages name the action and what it needs.

use ferrostack_core::{Ctx, Error, Result};

pub fn require_admin(ctx: &Ctx, action: &str) -> Result<()> {
    if ctx.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "You are not authorized to perform the requested action: identity:{action}. It needs the admin role."
        )))
    }
}

/// The caller acts on its own user record, or is an admin.
pub fn require_admin_or_self(ctx: &Ctx, action: &str, user_id: &str) -> Result<()> {
    if ctx.is_admin() || ctx.is_user(user_id) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "You are not authorized to perform the requested action: identity:{action}. \
             Only the user itself or an admin may do this."
        )))
    }
}

/// The caller acts on its own user record, admin or not.
pub fn require_self(ctx: &Ctx, action: &str, user_id: &str) -> Result<()> {
    if ctx.is_user(user_id) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "You are not authorized to perform the requested action: identity:{action}. \
             Only the user itself may do this."
        )))
    }
}
