//! Authentication: password, token and application-credential methods; scoping;
//! token issue, validation and revocation. Validation touches no database once a
//! (user, scope) pair is resolved: decrypt, check expiry and revocation in memory,
//! look the resolution up in the cache.

use std::sync::Arc;

use ferrostack_core::{ids, time, Ctx, Error, Result, RoleRef, Scope};
use ferrostack_types::identity::CatalogEntry;

use crate::assignments::TargetRef;
use crate::cache::{AppCredSummary, Key, Resolved, TrustSummary};
use crate::revocations::Event;
use crate::tokens::{Payload, TokenScope, METHOD_APP_CRED, METHOD_PASSWORD, METHOD_TOKEN};
use crate::users::Credentials;
use crate::{passwords, Identity};

#[derive(Clone, Debug)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Clone, Debug)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Clone, Debug)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Clone, Debug)]
pub enum AuthMethod {
    Password {
        user: UserRef,
        password: String,
    },
    Token {
        token: String,
    },
    ApplicationCredential {
        id: Option<String>,
        name: Option<String>,
        user: Option<UserRef>,
        secret: String,
    },
}

#[derive(Clone, Debug)]
pub enum ScopeRequest {
    /// No scope asked for: the user's default project if it has a role there.
    Default,
    /// Explicitly unscoped (`"scope": "unscoped"`).
    Unscoped,
    Project(ProjectRef),
    Domain(DomainRef),
    System,
    /// A trust-scoped token (`"OS-TRUST:trust": {"id": …}`): the caller is its trustee.
    Trust(String),
}

#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub method: AuthMethod,
    pub scope: ScopeRequest,
}

/// A valid token and everything a response about it needs.
#[derive(Clone, Debug)]
pub struct TokenInfo {
    pub token: String,
    pub payload: Payload,
    pub resolved: Arc<Resolved>,
    /// Present for scoped tokens.
    pub catalog: Option<Arc<Vec<CatalogEntry>>>,
}

impl TokenInfo {
    pub fn ctx(&self, request_id: &str) -> Ctx {
        Ctx {
            request_id: request_id.to_string(),
            user_id: Some(self.resolved.user_id.clone()),
            user_name: self.resolved.user_name.clone(),
            user_domain_id: self.resolved.user_domain_id.clone(),
            scope: self.resolved.scope.clone(),
            roles: self.resolved.roles.clone(),
            application_credential_id: self.payload.application_credential_id.clone(),
            trust_id: self.payload.trust_id.clone(),
            audit_id: self.payload.audit_ids.first().cloned(),
        }
    }

    pub fn issued_at(&self) -> String {
        time::from_micros(self.payload.issued_at_us)
            .map(|t| time::to_db(&t))
            .unwrap_or_default()
    }

    pub fn expires_at(&self) -> String {
        time::from_micros(self.payload.expires_at_us)
            .map(|t| time::to_db(&t))
            .unwrap_or_default()
    }
}

const AUTH_FAILED: &str = "The user name or password is not correct.";

pub(crate) fn unauthenticated(msg: impl Into<String>) -> Error {
    Error::Unauthenticated(msg.into())
}

fn new_audit_id() -> String {
    // Keystone's audit ids are 22 url-safe characters (16 random bytes).
    use base64::Engine;
    let raw = uuid_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn uuid_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    b
}

impl Identity {
    async fn domain_ref(&self, d: &DomainRef) -> Result<ferrostack_types::identity::Domain> {
        match d {
            DomainRef::Id(id) => self.domain_fetch(id).await,
            DomainRef::Name(n) => self.domain_by_name(n).await,
        }
    }

    async fn user_ref(&self, u: &UserRef) -> Result<ferrostack_types::identity::User> {
        match u {
            UserRef::Id(id) => self.user_fetch(id).await,
            UserRef::Name { name, domain } => {
                let d = self.domain_ref(domain).await?;
                self.user_by_name(&d.id, name).await
            }
        }
    }

    /// Authenticate and issue a token.
    pub async fn issue_token(&self, req: AuthRequest) -> Result<TokenInfo> {
        self.issue_token_from(req, None).await
    }

    /// Authenticate a request from `client` (its address, when known) and issue a
    /// token. Password logins from an address that failed too often are refused for a
    /// while before any password is checked.
    pub async fn issue_token_from(
        &self,
        req: AuthRequest,
        client: Option<std::net::IpAddr>,
    ) -> Result<TokenInfo> {
        let password = matches!(req.method, AuthMethod::Password { .. });
        if let (true, Some(addr)) = (password, client) {
            if let Some(secs) = self.throttle.wait(addr) {
                tracing::warn!(client = %addr, "login refused: too many failed logins from this address");
                return Err(Error::Throttled {
                    message: format!(
                        "Too many failed sign-ins from your address; try again in {secs} seconds."
                    ),
                    retry_after: secs,
                });
            }
        }
        let r = self.issue_token_inner(req).await;
        if let (true, Some(addr), Err(Error::Unauthenticated(_))) = (password, client, &r) {
            self.throttle.failed(addr);
        }
        r
    }

    async fn issue_token_inner(&self, req: AuthRequest) -> Result<TokenInfo> {
        let now = time::to_micros(&time::now());
        let ttl = self.cfg.token_ttl_secs * 1_000_000;
        let (user_id, methods, expires_at_us, audit_ids, app_cred, default_scope) = match req.method
        {
            AuthMethod::Password { user, password } => {
                let creds = self.user_login(&user).await?;
                let user = self.check_password(creds, &password).await?;
                let default = match &user.default_project_id {
                    Some(p) => TokenScope::Project(p.clone()),
                    None => TokenScope::Unscoped,
                };
                (
                    user.id,
                    METHOD_PASSWORD,
                    now + ttl,
                    vec![new_audit_id()],
                    None,
                    default,
                )
            }
            AuthMethod::Token { token } => {
                let old = self.validate_token(&token).await?;
                if old.payload.application_credential_id.is_some() {
                    return Err(Error::forbidden(
                        "A token issued for an application credential cannot be rescoped.",
                    ));
                }
                if old.payload.trust_id.is_some() {
                    return Err(Error::forbidden("A trust-scoped token cannot be rescoped."));
                }
                let chain = old.payload.audit_ids.last().cloned().unwrap_or_default();
                (
                    old.payload.user_id.clone(),
                    old.payload.methods | METHOD_TOKEN,
                    old.payload.expires_at_us,
                    vec![new_audit_id(), chain],
                    None,
                    TokenScope::Unscoped,
                )
            }
            AuthMethod::ApplicationCredential {
                id,
                name,
                user,
                secret,
            } => {
                let row = match (id, name, user) {
                    (Some(id), _, _) => self.app_cred_row(&id).await,
                    (None, Some(name), Some(user)) => {
                        let u = self.user_ref(&user).await.map_err(|_| unauthenticated(AUTH_FAILED))?;
                        self.app_cred_row_by_name(&u.id, &name).await
                    }
                    _ => {
                        return Err(Error::bad_request(
                            "An application credential is named by 'id', or by 'name' together with 'user'.",
                        ))
                    }
                }
                .map_err(|_| unauthenticated("The application credential or its secret is not correct."))?;
                if !passwords::verify(row.secret_hash.clone(), secret).await? {
                    return Err(unauthenticated(
                        "The application credential or its secret is not correct.",
                    ));
                }
                if row.expired() {
                    return Err(unauthenticated(format!(
                        "Application credential {} has expired.",
                        row.id
                    )));
                }
                let exp = match row.expires_at.as_deref().and_then(time::from_db) {
                    Some(t) => (now + ttl).min(time::to_micros(&t)),
                    None => now + ttl,
                };
                (
                    row.user_id.clone(),
                    METHOD_APP_CRED,
                    exp,
                    vec![new_audit_id()],
                    Some(row.id.clone()),
                    TokenScope::Project(row.project_id.clone()),
                )
            }
        };

        let asked_default = matches!(req.scope, ScopeRequest::Default);
        let mut trust = None;
        let scope = match req.scope {
            ScopeRequest::Trust(id) => {
                if app_cred.is_some() {
                    return Err(unauthenticated(
                        "An application credential cannot be used to get a trust-scoped token.",
                    ));
                }
                let row = self
                    .trust_row(&id)
                    .await
                    .ok()
                    .filter(|t| !t.expired())
                    .ok_or_else(|| Error::not_found("trust", &id))?;
                if row.trustee_user_id != user_id {
                    return Err(Error::forbidden(format!(
                        "Only the trustee of trust {id} may use it."
                    )));
                }
                let scope = TokenScope::Project(row.project_id.clone());
                trust = Some(row);
                scope
            }
            ScopeRequest::Default => default_scope.clone(),
            ScopeRequest::Project(p) => TokenScope::Project(
                // By id: resolution below checks that it exists.
                match p {
                    ProjectRef::Id(id) => Ok(id),
                    ProjectRef::Name { name, domain } => {
                        self.project_id_by_name(&name, &domain).await
                    }
                }
                .map_err(|e| unauthenticated(format!("Cannot scope to that project: {e}")))?,
            ),
            ScopeRequest::Domain(d) => TokenScope::Domain(
                self.domain_ref(&d)
                    .await
                    .map_err(|e| unauthenticated(format!("Cannot scope to that domain: {e}")))?
                    .id,
            ),
            ScopeRequest::System => TokenScope::System,
            ScopeRequest::Unscoped => TokenScope::Unscoped,
        };
        if app_cred.is_some() && scope != default_scope {
            return Err(unauthenticated(
                "An application credential is bound to its project; do not ask for another scope with it.",
            ));
        }

        let expires_at_us = match trust.as_ref().and_then(|t| t.expires()) {
            Some(t) => expires_at_us.min(time::to_micros(&t)),
            None => expires_at_us,
        };
        let payload = Payload {
            user_id,
            methods,
            scope,
            issued_at_us: now,
            expires_at_us,
            audit_ids,
            application_credential_id: app_cred,
            trust_id: trust.as_ref().map(|t| t.id.clone()),
        };
        if let Some(t) = &trust {
            // The roles are checked first, so a refused token uses nothing.
            let resolved = self.resolve(&payload).await?;
            self.trust_consume(t).await?;
            return self.finish(payload, resolved).await;
        }
        let resolved = match self.resolve(&payload).await {
            Ok(r) => r,
            // A default project the user lost its role on: fall back to unscoped.
            Err(_)
                if asked_default
                    && methods == METHOD_PASSWORD
                    && payload.scope != TokenScope::Unscoped =>
            {
                let payload = Payload {
                    scope: TokenScope::Unscoped,
                    ..payload
                };
                let resolved = self.resolve(&payload).await?;
                return self.finish(payload, resolved).await;
            }
            Err(e) => return Err(e),
        };
        self.finish(payload, resolved).await
    }

    async fn finish(&self, payload: Payload, resolved: Arc<Resolved>) -> Result<TokenInfo> {
        let token = self.keys.seal(&payload)?;
        let catalog = match &payload.scope {
            TokenScope::Unscoped => None,
            TokenScope::Project(p) => Some(self.catalog_for(Some(p)).await?),
            _ => Some(self.catalog().await?),
        };
        Ok(TokenInfo {
            token,
            payload,
            resolved,
            catalog,
        })
    }

    /// Verify a password, with lockout after repeated failures. Every refusal says
    /// the same to the caller (no user enumeration: an unknown user costs a hash too,
    /// the password is checked before "disabled" is told, and locked or disabled
    /// accounts are named only in the log, with the request's id).
    pub(crate) async fn check_password(
        &self,
        creds: Option<Credentials>,
        password: &str,
    ) -> Result<Credentials> {
        let checked = || {
            self.password_checks
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        };
        // The queue place first: a login refused for a full queue (503) has used
        // nothing, not one of its account's lockout attempts.
        let slot = passwords::reserve()?;
        let Some(creds) = creds else {
            checked();
            passwords::verify_dummy_in(slot, self.cfg.password_params, password.to_string())
                .await?;
            tracing::info!("login refused: no such user");
            return Err(unauthenticated(AUTH_FAILED));
        };
        let user_id = creds.id.as_str();
        let attempts = self.cfg.lockout_failure_attempts;
        let counted = attempts > 0 && creds.ignore_lockout == 0;
        if counted {
            let taken = self
                .user_take_attempt(user_id, attempts, self.cfg.lockout_duration_secs)
                .await?;
            if taken.is_none() {
                tracing::warn!(user = %user_id, "login refused: the account is locked after {attempts} failed attempts");
                // The guess is not checked, but it costs what a check costs, so the
                // answer's timing does not tell a locked account from an unknown name.
                passwords::verify_dummy_in(slot, self.cfg.password_params, password.to_string())
                    .await?;
                return Err(unauthenticated(AUTH_FAILED));
            }
        }
        checked();
        let ok = match &creds.password_hash {
            Some(h) => passwords::verify_in(slot, h.clone(), password.to_string()).await?,
            None => {
                passwords::verify_dummy_in(slot, self.cfg.password_params, password.to_string())
                    .await?;
                false
            }
        };
        if !ok {
            tracing::info!(user = %user_id, "login refused: wrong password");
            return Err(unauthenticated(AUTH_FAILED));
        }
        if creds.enabled == 0 || creds.domain_enabled == 0 {
            tracing::info!(user = %user_id, "login refused: the user or its domain is disabled");
            return Err(unauthenticated(AUTH_FAILED));
        }
        if counted {
            self.user_clear_failures(user_id).await?;
        }
        Ok(creds)
    }

    /// Who the token's user is in its scope, with the roles held there. Fails if the
    /// user, the scope or the roles no longer hold.
    async fn resolve(&self, p: &Payload) -> Result<Arc<Resolved>> {
        let key = Key {
            user_id: p.user_id.clone(),
            scope: p.scope.clone(),
            application_credential_id: p.application_credential_id.clone(),
            trust_id: p.trust_id.clone(),
        };
        if let Some(r) = self.cache.get(&key) {
            return Ok(r);
        }
        let generation = self.cache.generation();
        let user = self
            .user_fetch(&p.user_id)
            .await
            .map_err(|_| unauthenticated("The token's user no longer exists."))?;
        let creds = self
            .user_credentials(&user.id)
            .await?
            .ok_or_else(|| unauthenticated("The token's user no longer exists."))?;
        if creds.enabled == 0 || creds.domain_enabled == 0 {
            return Err(unauthenticated(format!(
                "The account is disabled for user: {}.",
                user.id
            )));
        }
        // A trust-scoped token carries the trustor's roles, as far as the trust
        // delegates them; when the trust impersonates, it acts as the trustor.
        let mut trust = None;
        let mut subject = user.clone();
        if let Some(tid) = &p.trust_id {
            let row = self
                .trust_row(tid)
                .await
                .map_err(|_| unauthenticated(format!("Trust {tid} no longer exists.")))?;
            if row.expired() {
                return Err(unauthenticated(format!("Trust {tid} has expired.")));
            }
            if row.trustee_user_id != user.id
                || p.scope != TokenScope::Project(row.project_id.clone())
            {
                return Err(unauthenticated("The token does not match its trust."));
            }
            let trustor = self
                .user_fetch(&row.trustor_user_id)
                .await
                .map_err(|_| unauthenticated("The trust's trustor no longer exists."))?;
            let trustor_ok = self
                .user_credentials(&trustor.id)
                .await?
                .is_some_and(|c| c.enabled != 0 && c.domain_enabled != 0);
            if !trustor_ok {
                return Err(unauthenticated(format!(
                    "The trustor of trust {tid} is disabled."
                )));
            }
            subject = trustor;
            trust = Some(row);
        }
        let role_user = subject.id.clone();
        if trust.as_ref().is_none_or(|t| t.impersonation == 0) {
            subject = user.clone();
        }
        let user_domain = self.domain_fetch(&subject.domain_id).await?;
        let (scope, mut roles, target) = match &p.scope {
            TokenScope::Unscoped => (Scope::Unscoped, Vec::new(), None),
            TokenScope::Project(id) => {
                let proj = self
                    .project_fetch(id)
                    .await
                    .map_err(|_| unauthenticated(format!("Project {id} no longer exists.")))?;
                let dom = self.domain_fetch(&proj.domain_id).await?;
                if !proj.enabled || !dom.enabled {
                    return Err(unauthenticated(format!(
                        "Project {} is disabled.",
                        proj.name
                    )));
                }
                let roles = self
                    .effective_roles(&role_user, &TargetRef::Project(proj.id.clone()))
                    .await?;
                let what = format!("project {}", proj.name);
                (
                    Scope::Project {
                        id: proj.id,
                        name: proj.name,
                        domain_id: dom.id,
                        domain_name: dom.name,
                    },
                    roles,
                    Some(what),
                )
            }
            TokenScope::Domain(id) => {
                let dom = self
                    .domain_fetch(id)
                    .await
                    .map_err(|_| unauthenticated(format!("Domain {id} no longer exists.")))?;
                if !dom.enabled {
                    return Err(unauthenticated(format!("Domain {} is disabled.", dom.name)));
                }
                let roles = self
                    .effective_roles(&user.id, &TargetRef::Domain(dom.id.clone()))
                    .await?;
                let what = format!("domain {}", dom.name);
                (
                    Scope::Domain {
                        id: dom.id,
                        name: dom.name,
                    },
                    roles,
                    Some(what),
                )
            }
            TokenScope::System => {
                let roles = self.effective_roles(&user.id, &TargetRef::System).await?;
                (Scope::System, roles, Some("the system".to_string()))
            }
        };
        let mut app_cred = None;
        if let Some(ac) = &p.application_credential_id {
            let row = self.app_cred_row(ac).await.map_err(|_| {
                unauthenticated(format!("Application credential {ac} no longer exists."))
            })?;
            if row.expired() {
                return Err(unauthenticated(format!(
                    "Application credential {ac} has expired."
                )));
            }
            let delegated = row.role_ids();
            roles.retain(|r: &RoleRef| delegated.contains(&r.id));
            app_cred = Some(AppCredSummary {
                id: row.id,
                name: row.name,
                unrestricted: row.unrestricted != 0,
            });
        }
        let trust = trust.map(|row| {
            let delegated = row.role_ids();
            roles.retain(|r: &RoleRef| delegated.contains(&r.id));
            TrustSummary {
                id: row.id,
                impersonation: row.impersonation != 0,
                trustor_user_id: row.trustor_user_id,
                trustee_user_id: row.trustee_user_id,
            }
        });
        if let Some(what) = target {
            if roles.is_empty() {
                return Err(unauthenticated(match &trust {
                    Some(t) => format!(
                        "The trustor of trust {} no longer holds any of its roles on {what}.",
                        t.id
                    ),
                    None => format!("User {} has no role on {what}.", user.name),
                }));
            }
        }
        let resolved = Arc::new(Resolved {
            user_id: subject.id,
            user_name: subject.name,
            user_domain_id: user_domain.id,
            user_domain_name: user_domain.name,
            scope,
            roles,
            application_credential: app_cred,
            trust,
        });
        self.cache.put(key, generation, resolved.clone());
        Ok(resolved)
    }

    /// Validate a token: it must open under a current key, be unexpired, unrevoked,
    /// and its user and scope must still hold. Errors are `Unauthenticated` with the
    /// reason.
    pub async fn validate_token(&self, token: &str) -> Result<TokenInfo> {
        let payload = self.keys.open_token(token).ok_or_else(|| {
            unauthenticated("The token is malformed or was not issued by this cloud.")
        })?;
        if payload.expires_at_us <= time::to_micros(&time::now()) {
            let at = time::from_micros(payload.expires_at_us)
                .map(|t| time::to_db(&t))
                .unwrap_or_default();
            return Err(unauthenticated(format!("The token expired at {at}.")));
        }
        if self.revocations.is_revoked(&payload) {
            return Err(unauthenticated("The token has been revoked."));
        }
        let resolved = self.resolve(&payload).await?;
        let catalog = match &payload.scope {
            TokenScope::Unscoped => None,
            TokenScope::Project(p) => Some(self.catalog_for(Some(p)).await?),
            _ => Some(self.catalog().await?),
        };
        Ok(TokenInfo {
            token: token.to_string(),
            payload,
            resolved,
            catalog,
        })
    }

    /// The caller context for a request bearing `token`.
    pub async fn authenticate(&self, request_id: &str, token: &str) -> Result<Ctx> {
        Ok(self.validate_token(token).await?.ctx(request_id))
    }

    /// Check `subject` on behalf of `ctx` (GET/HEAD /v3/auth/tokens). A user may check
    /// its own tokens; an admin any.
    pub async fn token_check(&self, ctx: &Ctx, subject: &str) -> Result<TokenInfo> {
        let info = self.validate_token(subject).await.map_err(|e| match e {
            Error::Unauthenticated(why) => Error::NotFound {
                kind: "token",
                id: why,
            },
            other => other,
        })?;
        crate::policy::require_admin_or_self(ctx, "validate_token", &info.payload.user_id)?;
        Ok(info)
    }

    /// Revoke `subject` (DELETE /v3/auth/tokens): it is refused from now on.
    pub async fn token_revoke(&self, ctx: &Ctx, subject: &str) -> Result<()> {
        let info = self.token_check(ctx, subject).await?;
        let audit = info
            .payload
            .audit_ids
            .first()
            .cloned()
            .unwrap_or_else(ids::new_id);
        let mut e = self.revocation_event(Event {
            audit_id: Some(audit),
            ..Default::default()
        });
        // Match only this token, whatever the clock says about others.
        e.issued_before_us = info.payload.issued_at_us;
        // The token's own expiry bounds how long the event matters.
        e.prune_after_us = info.payload.expires_at_us;
        let tx = self.db.pool.begin().await?;
        self.commit_revocations(tx, vec![e]).await
    }
}
