//! Glance's tasks (`GET /v2/tasks`, `/v2/tasks/{id}`, `/v2/images/{id}/tasks`): the
//! import jobs, as Glance shows its `api_image_import` tasks.

use ferrostack_core::jobs::{self, Job};
use ferrostack_core::list::{self, Sort, SortKey};
use ferrostack_core::{Ctx, Error, Result};
use ferrostack_types::image::ImageTask;

use crate::import::JOB_KIND;
use crate::Images;

/// The type every task here has (Glance's tasks of the interoperable import).
pub const TASK_TYPE: &str = "api_image_import";

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "id",
    },
    SortKey {
        name: "created_at",
        expr: "created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "updated_at",
    },
    SortKey {
        name: "status",
        expr: "state",
    },
    SortKey {
        name: "type",
        expr: "kind",
    },
];

/// A listing of tasks (GET /v2/tasks).
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    pub status: Option<String>,
    pub task_type: Option<String>,
    /// (key, dir) pairs; empty: newest first.
    pub sort: Vec<(String, String)>,
    pub marker: Option<String>,
    pub limit: Option<usize>,
}

/// An import job as Glance shows a task.
pub(crate) fn task_view(j: Job) -> ImageTask {
    let method = j
        .payload_value()
        .get("method")
        .and_then(|m| m.as_str())
        .unwrap_or("glance-direct")
        .to_string();
    ImageTask {
        status: match j.state.as_str() {
            jobs::PENDING => "pending",
            jobs::RUNNING => "processing",
            jobs::SUCCEEDED => "success",
            _ => "failure",
        }
        .to_string(),
        id: j.id,
        image_id: j.subject,
        owner: j.project_id.unwrap_or_default(),
        user_id: j.user_id,
        request_id: j.request_id,
        method,
        step: j.step,
        progress: j.progress,
        message: j.message,
        created_at: j.created_at,
        updated_at: j.updated_at,
    }
}

/// Glance's task status → the job state it is.
fn job_state(status: &str) -> Result<&'static str> {
    Ok(match status {
        "pending" => jobs::PENDING,
        "processing" => jobs::RUNNING,
        "success" => jobs::SUCCEEDED,
        "failure" => jobs::FAILED,
        other => {
            return Err(Error::bad_request(format!(
                "Invalid status value: {other}. Use one of pending, processing, success, failure."
            )))
        }
    })
}

impl Images {
    pub(crate) async fn task(&self, id: &str) -> Result<ImageTask> {
        let j = self
            .jobs
            .get(id)
            .await
            .map_err(|_| Error::not_found("task", id))?;
        if j.kind != JOB_KIND {
            return Err(Error::not_found("task", id));
        }
        Ok(task_view(j))
    }

    /// An image's import tasks, newest first (GET /v2/images/{id}/tasks): its project's
    /// members (readers too) and admins see them, as they see each task.
    pub async fn image_tasks(&self, ctx: &Ctx, id: &str) -> Result<Vec<ImageTask>> {
        let row = self.visible_row(ctx, id).await?;
        project_reads(ctx, "image", id, &row.owner)?;
        let rows = self.jobs.for_subject(JOB_KIND, id).await?;
        Ok(rows.into_iter().map(task_view).collect())
    }

    /// One task (GET /v2/tasks/{id}): its project's members and admins see it.
    pub async fn task_get(&self, ctx: &Ctx, id: &str) -> Result<ImageTask> {
        let t = self.task(id).await?;
        project_reads(ctx, "task", id, &t.owner)?;
        Ok(t)
    }

    /// A page of tasks (GET /v2/tasks), newest first unless sorted otherwise: a
    /// project's members see their project's, admins every project's. Whether more
    /// follow is the second value.
    pub async fn task_list(&self, ctx: &Ctx, q: TaskQuery) -> Result<(Vec<ImageTask>, bool)> {
        let state = q.status.as_deref().map(job_state).transpose()?;
        if let Some(t) = &q.task_type {
            if t != TASK_TYPE && t != "import" {
                return Err(Error::bad_request(format!(
                    "Invalid type value: {t}. Use api_image_import or import."
                )));
            }
            // Legacy `import` tasks (POST /v2/tasks) are not made here: none match.
            if t == "import" {
                return Ok((Vec::new(), false));
            }
        }
        let sort = Sort::parse(&q.sort, SORT_KEYS, ("created_at", "desc"))?;
        let project = if ctx.is_admin() {
            None
        } else {
            Some(ctx.project_id().ok_or_else(|| {
                Error::forbidden("Tasks are listed within a project: scope the token to one.")
            })?)
        };
        if let Some(m) = &q.marker {
            let t = self
                .task(m)
                .await
                .map_err(|_| Error::bad_request(format!("Invalid marker {m}: no such task.")))?;
            if project.is_some_and(|p| p != t.owner) {
                return Err(Error::bad_request(format!(
                    "Invalid marker {m}: no such task."
                )));
            }
        }
        let (rows, more) = self
            .jobs
            .page(
                JOB_KIND,
                (project, state),
                &sort,
                q.marker.as_deref(),
                list::limit(q.limit),
            )
            .await?;
        Ok((rows.into_iter().map(task_view).collect(), more))
    }
}

/// Import tasks are read by their image's project (readers too) and admins only, even
/// when the image is public.
pub(crate) fn project_reads(ctx: &Ctx, kind: &'static str, id: &str, owner: &str) -> Result<()> {
    ctx.authorize(
        ferrostack_core::Action::Read,
        &ferrostack_core::Owned::of_project(kind, id, owner),
    )
}
