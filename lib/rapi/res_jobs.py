"""Job resources: list, details, cancel and the long-poll ``wait``.

Jobs are read with LUXI QueryJobs (job ids are JSON numbers; URLs may
carry them as strings). ``/2/jobs/ID/wait`` is a GET with a JSON body,
as upstream defined it.
"""

from __future__ import annotations

from ganeti.rapi.base import WRITE, Context, Method, RapiError, Resource
from ganeti.rapi.res_common import JOB_DETAIL_FIELDS, JOB_FIELDS, path_value

#: Server-side bound of one wait; clients loop (upstream uses 10 s too).
WAIT_TIMEOUT = 10.0

_JOB_SCHEMA = {"type": "object", "properties": {f: {} for f in JOB_DETAIL_FIELDS}}


def list_jobs(ctx: Context) -> list[dict]:
    """All jobs; ``bulk=1`` gives the job fields of the reference output."""
    client = ctx.luxi()
    if ctx.query_bool("bulk"):
        rows = client.query_jobs(None, JOB_FIELDS)
        return [dict(zip(JOB_FIELDS, row, strict=False)) for row in rows if row is not None]
    rows = client.query_jobs(None, ["id"])
    ids = sorted(int(row[0]) for row in rows if row is not None)
    return [{"id": job_id, "uri": "/2/jobs/%d" % job_id} for job_id in ids]


def get_job(ctx: Context) -> dict:
    """One job with its log and results; 404 for an unknown (or archived-away) id."""
    job_id = path_value(ctx, "job_id")
    rows = ctx.luxi().query_jobs([job_id], JOB_DETAIL_FIELDS)
    if not rows or rows[0] is None:
        raise RapiError(404, "Job %d not found" % job_id)
    return dict(zip(JOB_DETAIL_FIELDS, rows[0], strict=False))


def cancel_job(ctx: Context) -> list:
    """LUXI CancelJob: ``[success, message]`` (an unknown job is a failure, not a 404)."""
    return ctx.luxi().cancel_job(path_value(ctx, "job_id"))


def wait_job(ctx: Context) -> dict | None:
    """One WaitForJobChange round: null when nothing changed within the timeout."""
    job_id = path_value(ctx, "job_id")
    body = ctx.body_dict()
    unknown = sorted(set(body) - {"fields", "previous_job_info", "previous_log_serial"})
    if unknown:
        raise RapiError(400, "Unknown body parameter(s): %s" % ", ".join(unknown))
    fields = body.get("fields")
    prev_info = body.get("previous_job_info")
    prev_serial = body.get("previous_log_serial")
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise RapiError(400, "The 'fields' parameter should be a list of strings")
    if prev_info is not None and not isinstance(prev_info, list):
        raise RapiError(400, "The 'previous_job_info' parameter should be a list")
    if prev_serial is not None and (not isinstance(prev_serial, int)
                                    or isinstance(prev_serial, bool)):
        raise RapiError(400, "The 'previous_log_serial' parameter should be a number")
    result = ctx.luxi().wait_for_job_change_once(job_id, fields, prev_info, prev_serial,
                                                 WAIT_TIMEOUT)
    if result is None:
        raise RapiError(404, "Job %d not found" % job_id)
    if result == "nochange":
        return None
    job_info, log_entries = result
    return {"job_info": job_info, "log_entries": log_entries}


_WAIT_BODY = {
    "type": "object", "required": ["fields"], "additionalProperties": False,
    "properties": {
        "fields": {"type": "array", "items": {"type": "string"}},
        "previous_job_info": {"type": ["array", "null"]},
        "previous_log_serial": {"type": ["integer", "null"]},
    },
}

RESOURCES = [
    Resource("/2/jobs", "jobs", {
        "GET": Method(list_jobs, "List jobs", query_args=("bulk",),
                      returns={"type": "array", "items": {"type": "object"}})}),
    Resource("/2/jobs/{job_id}", "jobs_id", {
        "GET": Method(get_job, "Job details", returns=_JOB_SCHEMA),
        "DELETE": Method(cancel_job, "Cancel a job",
                         returns={"type": "array", "prefixItems": [{"type": "boolean"},
                                                                   {"type": "string"}],
                                  "minItems": 2, "maxItems": 2}),
    }),
    Resource("/2/jobs/{job_id}/wait", "jobs_id_wait", {
        "GET": Method(wait_job, "Wait for a job to change (at most %d s)" % WAIT_TIMEOUT,
                      access=WRITE, body=_WAIT_BODY,
                      returns={"type": ["object", "null"], "properties": {
                          "job_info": {"type": "array"}, "log_entries": {"type": "array"}}}),
    }),
]
