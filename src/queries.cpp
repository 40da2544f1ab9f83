/*
 * queries.cpp: the extension's SQL, and the SPI calls that run it.
 *
 * "@extschema@" in a statement stands for the extension's schema, quoted.
 * Operators are written OPERATOR(pg_catalog.x) and types pg_catalog.x so
 * that nothing resolves through the caller's search_path.
 */
#include "queries.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <string_view>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

#include "pg_guard.hpp"

namespace irp {

namespace {

constexpr int max_args = 6;

/* One statement: its text and parameter types. */
struct Statement {
    const char* sql;
    int nargs;
    std::array<Oid, max_args> types;
};

/* Active statuses, written so the partial indexes' predicates are implied. */
#define ACTIVE_BATCH \
    "OPERATOR(pg_catalog.=) ANY ('{INITIATED,ACTIVE}'::@extschema@.batch_status_enum[])"

/* Number of jobs of batch b. */
#define JOB_COUNT                                                            \
    "(SELECT pg_catalog.count(*) FROM @extschema@.irp_job j"                 \
    " WHERE j.batch_id OPERATOR(pg_catalog.=) b.id)"

/* Rows of irp_get_active_batches_for_config(), given its WHERE condition. */
#define ACTIVE_ROWS(condition)                                                           \
    "SELECT b.id, b.batch_type::pg_catalog.text, b.status::pg_catalog.text,"             \
    " b.created_ts::pg_catalog.timestamptz, " JOB_COUNT                                   \
    ", b.duplicate_of FROM @extschema@.irp_batch b"                                      \
    " WHERE b.configuration_id OPERATOR(pg_catalog.=) $1" condition                      \
    " AND b.status " ACTIVE_BATCH " ORDER BY b.created_ts DESC, b.id DESC"

/* issue 16: what an event's notification says (notifications.hpp), from the
 * new event's details: id, batch_id, event, status, configuration_id, batch_type, actor. */
#define AUDIT_RETURNING                                                                        \
    " RETURNING id, batch_id, event, details OPERATOR(pg_catalog.->>) 'status',"                \
    " (details OPERATOR(pg_catalog.->>) 'configuration_id')::pg_catalog.int4,"                  \
    " details OPERATOR(pg_catalog.->>) 'batch_type', actor"

/* The CREATED and DUPLICATE_CREATED events of new_rows, with extra details pairs. */
#define AUDIT_INSERT(extra)                                                                  \
    "INSERT INTO @extschema@.irp_batch_event (batch_id, event, actor, details)"                \
    " SELECT n.id,"                                                                           \
    "  CASE WHEN n.duplicate_of IS NULL THEN 'CREATED' ELSE 'DUPLICATE_CREATED' END,"         \
    "  $1,"                                                                                   \
    "  pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("                           \
    "   'configuration_id', n.configuration_id, 'batch_type', n.batch_type,"                  \
    "   'step_id', n.step_id, 'status', n.status, 'duplicate_of', n.duplicate_of" extra "))"  \
    " FROM new_rows n ORDER BY n.id" AUDIT_RETURNING

/* The details of a DELETED event for the row alias r, plus extra pairs. */
#define DELETED_DETAILS(r, extra)                                                              \
    "pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("                              \
    "'configuration_id', " r ".configuration_id, 'batch_type', " r ".batch_type,"               \
    " 'status', " r ".status, 'duplicate_of', " r ".duplicate_of" extra "))"

const Statement statements[] = {
    /* ActiveConflict($1 configuration_id, $2 batch_type, $3 id to ignore) */
    {"SELECT b.id, b.status::pg_catalog.text,"
     " pg_catalog.to_char(b.created_ts::pg_catalog.timestamptz, 'YYYY-MM-DD HH24:MI:SSOF'),"
     " b.created_by, " JOB_COUNT
     " FROM @extschema@.irp_batch b"
     " WHERE b.configuration_id OPERATOR(pg_catalog.=) $1"
     " AND b.batch_type OPERATOR(pg_catalog.=) $2"
     " AND b.status " ACTIVE_BATCH
     " AND b.id OPERATOR(pg_catalog.<>) $3"
     " ORDER BY b.duplicate_of IS NOT NULL, b.created_ts, b.id LIMIT 1",
     3, {INT4OID, TEXTOID, INT4OID}},
    /* BatchKey($1 id): locked so that its key cannot change before this transaction ends */
    {"SELECT configuration_id, batch_type::pg_catalog.text FROM @extschema@.irp_batch"
     " WHERE id OPERATOR(pg_catalog.=) $1 FOR SHARE",
     1, {INT4OID}},
    /* BatchExists($1 id) */
    {"SELECT 1 FROM @extschema@.irp_batch WHERE id OPERATOR(pg_catalog.=) $1", 1, {INT4OID}},
    /* FirstDuplicate($1 id) */
    {"SELECT id FROM @extschema@.irp_batch WHERE duplicate_of OPERATOR(pg_catalog.=) $1 ORDER BY id LIMIT 1",
     1, {INT4OID}},
    /* InsertBatch($1 step_id, $2 configuration_id, $3 batch_type, $4 duplicate_of) */
    {"INSERT INTO @extschema@.irp_batch (step_id, configuration_id, batch_type, duplicate_of)"
     " VALUES ($1, $2, $3, $4) RETURNING id",
     4, {INT4OID, INT4OID, TEXTOID, INT4OID}},
    /* InsertJobs($1 batch_id, $2 jobs) */
    {"INSERT INTO @extschema@.irp_job (batch_id, job_configuration_data)"
     " SELECT $1, e.value FROM pg_catalog.jsonb_array_elements($2) WITH ORDINALITY AS e(value, n)"
     " ORDER BY e.n",
     2, {INT4OID, JSONBOID}},
    /* LockBatch($1 id) */
    {"SELECT status::pg_catalog.text FROM @extschema@.irp_batch"
     " WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
     1, {INT4OID}},
    /* CancelJobs($1 batch_id): one row, the CANCELLED event's details and
     * whether every job it meant to cancel was cancelled. Only the known
     * unfinished statuses are cancelled: an adopted database's extra labels
     * (e.g. ERROR) count as finished. */
    {"WITH target AS ("
     "  SELECT j.id, j.status FROM @extschema@.irp_job j"
     "  WHERE j.batch_id OPERATOR(pg_catalog.=) $1"
     "  AND j.status OPERATOR(pg_catalog.=) ANY"
     "      ('{INITIATED,SUBMITTED,QUEUED,PENDING,RUNNING}'::@extschema@.job_status_enum[])"
     "  FOR UPDATE),"
     " cancelled AS ("
     "  UPDATE @extschema@.irp_job j SET status = 'CANCELLED',"
     "      updated_ts = pg_catalog.now(), completed_ts = pg_catalog.now()"
     "  FROM target t WHERE j.id OPERATOR(pg_catalog.=) t.id AND j.batch_id OPERATOR(pg_catalog.=) $1"
     "  RETURNING t.id, t.status)"
     " SELECT pg_catalog.jsonb_build_object("
     "  'jobs_cancelled', pg_catalog.count(*),"
     "  'submitted_job_ids', COALESCE(pg_catalog.jsonb_agg(c.id ORDER BY c.id) FILTER ("
     "      WHERE c.status OPERATOR(pg_catalog.=) ANY"
     "      ('{SUBMITTED,QUEUED,PENDING,RUNNING}'::@extschema@.job_status_enum[])),"
     "      '[]'::pg_catalog.jsonb)),"
     " (SELECT pg_catalog.count(*) FROM target) OPERATOR(pg_catalog.=) pg_catalog.count(*)"
     " FROM cancelled c",
     1, {INT4OID}},
    /* CancelBatch($1 id, $2 reason) */
    {"UPDATE @extschema@.irp_batch SET status = 'CANCELLED', cancel_reason = $2,"
     " completed_ts = pg_catalog.now(), updated_ts = pg_catalog.now()"
     " WHERE id OPERATOR(pg_catalog.=) $1",
     2, {INT4OID, TEXTOID}},
    /* ActiveForConfig($1 configuration_id) */
    {ACTIVE_ROWS(""), 1, {INT4OID}},
    /* ActiveForConfigAndType($1 configuration_id, $2 batch_type) */
    {ACTIVE_ROWS(" AND b.batch_type OPERATOR(pg_catalog.=) $2"), 2, {INT4OID, TEXTOID}},
    /* Preflight($1 configuration_id, $2 batch types): each type once, in the
     * order given, with its active batches oldest first or one empty row */
    {"SELECT t.batch_type, b.id, b.status::pg_catalog.text, b.created_ts::pg_catalog.timestamptz,"
     " b.created_by::pg_catalog.text, b.job_count, b.duplicate_of"
     " FROM (SELECT u.batch_type, pg_catalog.min(u.n) AS n"
     "       FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(batch_type, n) GROUP BY u.batch_type) t"
     " LEFT JOIN LATERAL (SELECT b.id, b.status, b.created_ts, b.created_by, " JOB_COUNT " AS job_count,"
     "       b.duplicate_of FROM @extschema@.irp_batch b"
     "       WHERE b.configuration_id OPERATOR(pg_catalog.=) $1"
     "       AND b.batch_type OPERATOR(pg_catalog.=) t.batch_type"
     "       AND b.status " ACTIVE_BATCH ") b ON true"
     " ORDER BY t.n, b.created_ts, b.id",
     2, {INT4OID, TEXTARRAYOID}},
    /* RowCounts: batches, jobs, audit events (the 1.x drop guard) */
    {"SELECT (SELECT pg_catalog.count(*) FROM @extschema@.irp_batch),"
     " (SELECT pg_catalog.count(*) FROM @extschema@.irp_job),"
     " (SELECT pg_catalog.count(*) FROM @extschema@.irp_batch_event)",
     0, {}},
    /* AuditInsert($1 actor): transition table new_rows */
    {AUDIT_INSERT(""), 1, {TEXTOID}},
    /* AuditUpdate($1 actor, $2 batch being cancelled by irp_cancel_batch or 0, $3 its details) */
    {"WITH e AS (" /* issue 16: the notification's columns (AUDIT_RETURNING) */
     "INSERT INTO @extschema@.irp_batch_event (batch_id, event, reason, actor, details)"
     " SELECT n.id,"
     "  CASE WHEN f.by_cancel THEN 'CANCELLED'"
     "       WHEN f.status_changed THEN 'STATUS_CHANGED'"
     "       WHEN f.key_changed THEN 'KEY_CHANGED' ELSE 'DUPLICATE_OF_CHANGED' END,"
     "  CASE WHEN f.by_cancel THEN n.cancel_reason END,"
     "  $1,"
     "  CASE WHEN f.by_cancel THEN $3 ELSE pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
     "   'old_status', CASE WHEN f.status_changed THEN o.status END,"
     "   'new_status', CASE WHEN f.status_changed THEN n.status END,"
     "   'old_configuration_id', CASE WHEN f.key_changed THEN o.configuration_id END,"
     "   'new_configuration_id', CASE WHEN f.key_changed THEN n.configuration_id END,"
     "   'old_batch_type', CASE WHEN f.key_changed THEN o.batch_type END,"
     "   'new_batch_type', CASE WHEN f.key_changed THEN n.batch_type END,"
     "   'old_duplicate_of', CASE WHEN f.duplicate_of_changed THEN o.duplicate_of END,"
     "   'new_duplicate_of', CASE WHEN f.duplicate_of_changed THEN n.duplicate_of END)) END"
     " FROM old_rows o JOIN new_rows n ON n.id OPERATOR(pg_catalog.=) o.id,"
     " LATERAL (SELECT"
     "   o.status OPERATOR(pg_catalog.<>) n.status AS status_changed,"
     "   (o.configuration_id OPERATOR(pg_catalog.<>) n.configuration_id"
     "    OR o.batch_type OPERATOR(pg_catalog.<>) n.batch_type) AS key_changed,"
     "   COALESCE((o.duplicate_of IS NULL) OPERATOR(pg_catalog.<>) (n.duplicate_of IS NULL)"
     "    OR o.duplicate_of OPERATOR(pg_catalog.<>) n.duplicate_of, false) AS duplicate_of_changed,"
     "   (n.id OPERATOR(pg_catalog.=) $2"
     "    AND n.status OPERATOR(pg_catalog.=) 'CANCELLED'::@extschema@.batch_status_enum) AS by_cancel) f"
     " WHERE f.status_changed OR f.key_changed OR f.duplicate_of_changed"
     " ORDER BY n.id RETURNING id, batch_id, event, actor)"
     " SELECT e.id, e.batch_id, e.event, n.status::pg_catalog.text, n.configuration_id,"
     " n.batch_type::pg_catalog.text, e.actor"
     " FROM e JOIN new_rows n ON n.id OPERATOR(pg_catalog.=) e.batch_id ORDER BY e.id",
     3, {TEXTOID, INT4OID, JSONBOID}},
    /* AuditDelete($1 actor): transition table old_rows */
    {"INSERT INTO @extschema@.irp_batch_event (batch_id, event, actor, details)"
     " SELECT o.id, 'DELETED', $1, " DELETED_DETAILS("o", "")
     " FROM old_rows o ORDER BY o.id" AUDIT_RETURNING,
     1, {TEXTOID}},
    /* AuditTruncate($1 actor): every row, before TRUNCATE removes them */
    {"INSERT INTO @extschema@.irp_batch_event (batch_id, event, actor, details)"
     " SELECT b.id, 'DELETED', $1, " DELETED_DETAILS("b", ", 'truncated', true")
     " FROM @extschema@.irp_batch b ORDER BY b.id" AUDIT_RETURNING,
     1, {TEXTOID}},
    /* LockDuplicateTarget($1 id): its key cannot change before this transaction ends */
    {"SELECT configuration_id, batch_type::pg_catalog.text, status::pg_catalog.text FROM @extschema@.irp_batch"
     " WHERE id OPERATOR(pg_catalog.=) $1 FOR SHARE",
     1, {INT4OID}},    /* RequestBatch($1 request_id, $2 configuration_id, $3 batch_type, $4 step_id, $5 allow_duplicate,
     * $6 jobs): the batch, whether it is what this call asks for, its key */
    {"SELECT b.id,"
     " b.configuration_id OPERATOR(pg_catalog.=) $2 AND b.batch_type OPERATOR(pg_catalog.=) $3"
     " AND b.step_id IS NOT DISTINCT FROM $4 AND (b.duplicate_of IS NULL OR $5)"
     " AND COALESCE((SELECT pg_catalog.jsonb_agg(j.job_configuration_data ORDER BY j.id)"
     "      FROM @extschema@.irp_job j WHERE j.batch_id OPERATOR(pg_catalog.=) b.id), '[]')"
     "     OPERATOR(pg_catalog.=) COALESCE($6, '[]'),"
     " b.configuration_id, b.batch_type::pg_catalog.text"
     " FROM @extschema@.irp_batch b WHERE b.request_id OPERATOR(pg_catalog.=) $1",
     6, {UUIDOID, INT4OID, TEXTOID, INT4OID, BOOLOID, JSONBOID}},
    /* InsertBatchRequest($1 step_id, $2 configuration_id, $3 batch_type, $4 duplicate_of, $5 request_id) */
    {"INSERT INTO @extschema@.irp_batch (step_id, configuration_id, batch_type, duplicate_of, request_id)"
     " VALUES ($1, $2, $3, $4, $5) RETURNING id",
     5, {INT4OID, INT4OID, TEXTOID, INT4OID, UUIDOID}},
    /* AuditInsertRequest($1 actor): as AuditInsert, with the request_id */
    {AUDIT_INSERT(", 'request_id', n.request_id"), 1, {TEXTOID}},
    /* LockTakenId($1 id): locked as INSERT ... ON CONFLICT DO UPDATE locks it, so that it keeps its row version */
    {"SELECT 1 FROM @extschema@.irp_batch WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE", 1, {INT4OID}},
};

static_assert(sizeof(statements) / sizeof(statements[0]) == static_cast<std::size_t>(Query::Count_),
              "one statement per Query");

/*
 * The plans, prepared for the schema plans_nsp whose quoted name was
 * plans_schema when they were made. A change to any schema (say a rename)
 * clears schema_checked, and the next call compares the name again.
 */
Oid plans_nsp = InvalidOid;
char plans_schema[NAMEDATALEN * 2 + 3];
bool schema_checked = false;
bool callback_registered = false;
PlanSlot plans[static_cast<int>(Query::Count_)];
/* Bumped whenever the plans are forgotten: a slot of an older generation is empty. */
std::uint64_t plans_generation = 1;

/* Syscache callback: some schema changed. */
void schema_changed(Datum, int, uint32) { schema_checked = false; }

/* The statement's text with @extschema@ replaced by the quoted schema name. */
Text statement_text(std::string_view sql, std::string_view schema)
{
    constexpr std::string_view placeholder = "@extschema@";
    Text out;
    out.reserve(sql.size() + 64);
    std::size_t pos = 0;
    for (std::size_t hit; (hit = sql.find(placeholder, pos)) != std::string_view::npos;
         pos = hit + placeholder.size()) {
        out.append(sql.data() + pos, hit - pos);
        out.append(schema.data(), schema.size());
    }
    out.append(sql.data() + pos, sql.size() - pos);
    return out;
}

/* Starts over with no plans unless they were made for schema nsp under its current name. */
void forget_plans_unless(Oid nsp)
{
    if (plans_nsp == nsp && schema_checked)
        return;
    const char* schema = pg([nsp] {
        if (!callback_registered) {
            CacheRegisterSyscacheCallback(NAMESPACEOID, schema_changed, 0);
            callback_registered = true;
        }
        const char* name = get_namespace_name(nsp);
        if (name == nullptr)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_SCHEMA),
                            errmsg("the schema of the irp_batch extension (OID %u) does not exist", nsp)));
        return quote_identifier(name);
    });
    schema_checked = true;
    if (plans_nsp == nsp && std::strcmp(plans_schema, schema) == 0)
        return;
    /* The old plans are not freed: one may be running further up this
     * backend's stack. They are a few kilobytes, once per rename. */
    ++plans_generation;
    plans_nsp = nsp;
    std::snprintf(plans_schema, sizeof plans_schema, "%s", schema);
}

}  // namespace

SPIPlanPtr prepared(Query q, Oid nsp)
{
    const Statement& st = statements[static_cast<int>(q)];
    return prepared(plans[static_cast<int>(q)], st.sql, st.nargs, st.types.data(), nsp);
}

RunAs::RunAs(Oid role) noexcept
{
    GetUserIdAndSecContext(&saved_user_, &saved_context_);
    SetUserIdAndSecContext(role, saved_context_ | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
}

RunAs::~RunAs() { SetUserIdAndSecContext(saved_user_, saved_context_); }

Oid relation_owner(Oid relid)
{
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tuple))
        elog(ERROR, "irp_batch: cache lookup failed for relation %u", relid);
    const Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
    ReleaseSysCache(tuple);
    return owner;
}

void spi_connect()
{
    pg([] {
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "irp_batch: SPI_connect failed");
    });
}

std::uint64_t spi_run(SPIPlanPtr plan, Datum* values, const char* nulls, bool read_only, long limit)
{
    return pg([&] {
        const int rc = SPI_execute_plan(plan, values, nulls, read_only, limit);
        if (rc < 0)
            elog(ERROR, "irp_batch: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
        return static_cast<std::uint64_t>(SPI_processed);
    });
}

std::uint64_t spi_run_latest(SPIPlanPtr plan, Datum* values, const char* nulls, long limit)
{
    return pg([&] {
        const int rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot, false, true, limit);
        if (rc < 0)
            elog(ERROR, "irp_batch: SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
        return static_cast<std::uint64_t>(SPI_processed);
    });
}

Datum spi_value(std::uint64_t row, int col, bool* isnull)
{
    return pg([&] { return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull); });
}

const char* spi_text(std::uint64_t row, int col)
{
    const char* text = pg([&] { return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col); });
    return text != nullptr ? text : "";
}

SPIPlanPtr prepared(PlanSlot& slot, const char* sql, int nargs, const Oid* types, Oid nsp)
{
    forget_plans_unless(nsp);
    if (slot.plan != nullptr && slot.generation == plans_generation)
        return slot.plan;
    const Text text = statement_text(sql, plans_schema);
    slot.plan = pg([&] {
        SPIPlanPtr plan = SPI_prepare(text.c_str(), nargs, const_cast<Oid*>(types));
        if (plan == nullptr)
            elog(ERROR, "irp_batch: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        if (SPI_keepplan(plan) != 0)
            elog(ERROR, "irp_batch: SPI_keepplan failed");
        return plan;
    });
    slot.generation = plans_generation;
    return slot.plan;
}

void spi_finish()
{
    pg([] {
        if (SPI_finish() != SPI_OK_FINISH)
            elog(ERROR, "irp_batch: SPI_finish failed");
    });
}

}  // namespace irp
