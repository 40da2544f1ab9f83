/*
 * status_queries.cpp: the SQL of live batch status (see status_queries.hpp).
 *
 * A batch's last change is the latest of its created_ts and updated_ts, its
 * jobs' created_ts, updated_ts and completed_ts, and its audit events'
 * event_ts (timestamps without time zone are read in the session's zone).
 * An active batch is stale when that is older than the limit, or unknown.
 */
#include "status_queries.hpp"

#include <array>

extern "C" {
#include "catalog/pg_type_d.h"
}

#include "queries.hpp"

namespace irp {

namespace {

struct StatusStatement {
    const char* sql;
    int nargs;
    std::array<Oid, 3> types;
};

#define ACTIVE_STATUS \
    " OPERATOR(pg_catalog.=) ANY ('{INITIATED,ACTIVE}'::@extschema@.batch_status_enum[])"

/* The statuses irp_cancel_batch treats as unfinished. */
#define UNFINISHED_JOB \
    " OPERATOR(pg_catalog.=) ANY ('{INITIATED,SUBMITTED,QUEUED,PENDING,RUNNING}'::@extschema@.job_status_enum[])"

/* The latest time of job j. */
#define JOB_LAST_TS                                                                           \
    "GREATEST(j.created_ts::pg_catalog.timestamptz, j.updated_ts::pg_catalog.timestamptz,"    \
    " j.completed_ts::pg_catalog.timestamptz)"

/* Batch b's number of jobs (total) and latest job time (last_ts), as a LATERAL item jobs. */
#define JOB_TOTALS                                                                            \
    " CROSS JOIN LATERAL (SELECT pg_catalog.count(*) AS total, pg_catalog.max(" JOB_LAST_TS  \
    ") AS last_ts FROM @extschema@.irp_job j WHERE j.batch_id OPERATOR(pg_catalog.=) b.id) jobs"

/* Batch b's last change, given its jobs' latest time, as a LATERAL item l. */
#define LAST_CHANGE(jobs_last_ts)                                                             \
    " CROSS JOIN LATERAL (SELECT GREATEST(b.created_ts::pg_catalog.timestamptz,"              \
    " b.updated_ts::pg_catalog.timestamptz, " jobs_last_ts ","                                \
    " (SELECT pg_catalog.max(e.event_ts) FROM @extschema@.irp_batch_event e"                  \
    "  WHERE e.batch_id OPERATOR(pg_catalog.=) b.id)) AS last_change) l"

/* Whether batch b, last changed at l.last_change, is stale after $n seconds. */
#define STALE(n)                                                                              \
    "(b.status" ACTIVE_STATUS " AND (l.last_change IS NULL OR l.last_change OPERATOR(pg_catalog.<)" \
    " (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => " n "::pg_catalog.float8))))"

/* The counts of the batches listed by the query affected (column batch_id). A
 * LATERAL probe per batch, so that the plan reads idx_job_batch_id whatever
 * the table's size was when the plan was made (it is kept for the backend's
 * life): a join could be planned as a scan of all of irp_job. */
#define JOB_COUNTS(affected)                                                                  \
    "SELECT a.batch_id, c.status::pg_catalog.text, COALESCE(c.n, 0)"                          \
    " FROM (" affected ") a"                                                                  \
    " LEFT JOIN LATERAL (SELECT j.status, pg_catalog.count(*) AS n FROM @extschema@.irp_job j" \
    "  WHERE j.batch_id OPERATOR(pg_catalog.=) a.batch_id GROUP BY j.status) c ON true"       \
    " ORDER BY a.batch_id, c.status"

const StatusStatement statements[] = {
    /* JobCountsInsert */
    {JOB_COUNTS("SELECT DISTINCT n.batch_id FROM new_rows n"), 0, {}},
    /* JobCountsUpdate: a job matched by id whose status or batch_id changed
     * counts for both its batches; a job whose id changed, for both too */
    {JOB_COUNTS("SELECT DISTINCT x.batch_id"
                " FROM old_rows o FULL JOIN new_rows n ON n.id OPERATOR(pg_catalog.=) o.id,"
                " LATERAL (VALUES (o.batch_id), (n.batch_id)) AS x(batch_id)"
                " WHERE x.batch_id IS NOT NULL AND (o.id IS NULL OR n.id IS NULL"
                "  OR NOT COALESCE(o.status OPERATOR(pg_catalog.=) n.status, o.status IS NULL AND n.status IS NULL)"
                "  OR NOT COALESCE(o.batch_id OPERATOR(pg_catalog.=) n.batch_id, false))"),
     0, {}},
    /* JobCountsDelete */
    {JOB_COUNTS("SELECT DISTINCT o.batch_id FROM old_rows o"), 0, {}},
    /* BatchProgress($1 ids, $2 stale after): each batch once, in the order given */
    {"SELECT b.id, b.status::pg_catalog.text, c.total, c.counts,"
     " CASE WHEN c.total OPERATOR(pg_catalog.>) 0"
     "  THEN c.finished::pg_catalog.float8 OPERATOR(pg_catalog./) c.total::pg_catalog.float8 END,"
     " l.last_change, " STALE("$2")
     " FROM (SELECT u.id, pg_catalog.min(u.n) AS n"
     "       FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(id, n) GROUP BY u.id) t"
     " JOIN @extschema@.irp_batch b ON b.id OPERATOR(pg_catalog.=) t.id"
     " CROSS JOIN LATERAL (SELECT COALESCE(pg_catalog.sum(s.n), 0)::pg_catalog.int8 AS total,"
     "   COALESCE(pg_catalog.jsonb_object_agg(s.status::pg_catalog.text, s.n) FILTER (WHERE s.status IS NOT NULL),"
     "            '{}'::pg_catalog.jsonb) AS counts,"
     "   COALESCE(pg_catalog.sum(s.n) FILTER (WHERE NOT (s.status" UNFINISHED_JOB ")), 0) AS finished,"
     "   pg_catalog.max(s.last_ts) AS last_ts"
     "  FROM (SELECT j.status, pg_catalog.count(*) AS n, pg_catalog.max(" JOB_LAST_TS ") AS last_ts"
     "        FROM @extschema@.irp_job j WHERE j.batch_id OPERATOR(pg_catalog.=) b.id GROUP BY j.status) s) c"
     LAST_CHANGE("c.last_ts")
     " ORDER BY t.n",
     2, {INT4ARRAYOID, INT4OID}},
    /* StaleBatches($1 older_than): oldest activity first, unknown first of all */
    {"SELECT b.id, b.configuration_id, b.batch_type::pg_catalog.text, b.status::pg_catalog.text,"
     " l.last_change, pg_catalog.now() OPERATOR(pg_catalog.-) l.last_change, jobs.total"
     " FROM @extschema@.irp_batch b" JOB_TOTALS LAST_CHANGE("jobs.last_ts")
     " WHERE b.status" ACTIVE_STATUS
     " AND (l.last_change IS NULL OR l.last_change OPERATOR(pg_catalog.<)"
     "      (pg_catalog.now() OPERATOR(pg_catalog.-) $1))"
     " ORDER BY l.last_change NULLS FIRST, b.id",
     1, {INTERVALOID}},
    /* PreflightStale($1 configuration_id, $2 batch types, $3 stale after): as
     * Preflight (queries.cpp), with last_change, stale and the idle seconds */
    {"SELECT t.batch_type, b.id, b.status::pg_catalog.text, b.created_ts::pg_catalog.timestamptz,"
     " b.created_by::pg_catalog.text, b.job_count, b.duplicate_of, b.last_change, b.stale,"
     " pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) b.last_change)"
     " FROM (SELECT u.batch_type, pg_catalog.min(u.n) AS n"
     "       FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(batch_type, n) GROUP BY u.batch_type) t"
     " LEFT JOIN LATERAL (SELECT b.id, b.status, b.created_ts, b.created_by, jobs.total AS job_count,"
     "       b.duplicate_of, l.last_change, " STALE("$3") " AS stale"
     "       FROM @extschema@.irp_batch b" JOB_TOTALS LAST_CHANGE("jobs.last_ts")
     "       WHERE b.configuration_id OPERATOR(pg_catalog.=) $1"
     "       AND b.batch_type OPERATOR(pg_catalog.=) t.batch_type"
     "       AND b.status" ACTIVE_STATUS ") b ON true"
     " ORDER BY t.n, b.created_ts, b.id",
     3, {INT4OID, TEXTARRAYOID, INT4OID}},
};

static_assert(sizeof(statements) / sizeof(statements[0]) == static_cast<std::size_t>(StatusQuery::Count_),
              "one statement per StatusQuery");

PlanSlot slots[static_cast<int>(StatusQuery::Count_)];

}  // namespace

SPIPlanPtr prepared(StatusQuery q, Oid nsp)
{
    const StatusStatement& st = statements[static_cast<int>(q)];
    return prepared(slots[static_cast<int>(q)], st.sql, st.nargs, st.types.data(), nsp);
}

}  // namespace irp
