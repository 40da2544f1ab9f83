/*
 * job_progress.cpp: the AFTER INSERT/UPDATE/DELETE statement triggers on
 * irp_job that send one irp_job_progress notification per batch whose jobs
 * the statement changed (a job inserted or deleted, or its status or
 * batch_id updated), with the batch's job counts by status after the
 * statement. One query per statement reads the counts of all those batches.
 */
extern "C" {
#include "postgres.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include <cstring>

#include "batch_rules.hpp"
#include "notifications.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "status_queries.hpp"

namespace irp {

namespace {

/* The trigger's body. */
Datum job_progress(FunctionCallInfo fcinfo)
{
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
        !TRIGGER_FIRED_AFTER(td->tg_event) || TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
        throw trigger_misuse("irp_job_progress() must be fired AFTER INSERT, UPDATE or DELETE FOR EACH STATEMENT");
    const Oid relid = RelationGetRelid(td->tg_relation);
    const Oid nsp = pg([fcinfo] { return get_func_namespace(fcinfo->flinfo->fn_oid); });
    if (pg([nsp] { return get_relname_relid("irp_job", nsp); }) != relid)
        throw trigger_misuse("irp_job_progress() fires only on the irp_job table of the irp_batch extension",
                             "The table it fired on is another table.");
    StatusQuery query = StatusQuery::JobCountsInsert;
    bool has_transition_tables = td->tg_newtable != nullptr;
    if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
        query = StatusQuery::JobCountsUpdate;
        has_transition_tables = td->tg_oldtable != nullptr && td->tg_newtable != nullptr;
    } else if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
        query = StatusQuery::JobCountsDelete;
        has_transition_tables = td->tg_oldtable != nullptr;
    }
    const Trigger* trigger = td->tg_trigger;
    auto named = [](const char* name, const char* expected) {
        return name == nullptr || std::strcmp(name, expected) == 0;
    };
    if (!has_transition_tables || !named(trigger->tgoldtable, "old_rows") ||
        !named(trigger->tgnewtable, "new_rows")) {
        throw trigger_misuse("irp_job_progress() needs the statement's transition tables, named old_rows and new_rows",
                             {}, "Create its triggers with REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows.");
    }
    if (!notify_enabled)
        return PointerGetDatum(nullptr);

    /* Counted as the owner of irp_job: a role that may only insert jobs still notifies. */
    const Oid owner = pg([relid] { return relation_owner(relid); });
    spi_connect();
    pg([td] {
        if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
            elog(ERROR, "irp_job_progress(): SPI_register_trigger_data failed");
    });
    std::uint64_t rows = 0;
    {
        RunAs as_owner(owner);
        rows = spi_run(prepared(query, nsp), nullptr, nullptr, false, 0); /* false: sees the statement's rows */
    }
    /* Rows come by batch, then status in enum order: one message per batch. */
    Vector<StatusCount> counts;
    for (std::uint64_t i = 0; i < rows;) {
        bool isnull = false;
        const std::int32_t batch_id = DatumGetInt32(spi_value(i, 1, &isnull));
        std::int64_t total = 0;
        counts.clear();
        for (; i < rows && DatumGetInt32(spi_value(i, 1, &isnull)) == batch_id; ++i) {
            const std::int64_t n = DatumGetInt64(spi_value(i, 3, &isnull));
            total += n;
            if (n > 0)
                counts.push_back(StatusCount{spi_text(i, 2), n});
        }
        notify_job_progress(batch_id, total, counts.data(), counts.size());
    }
    spi_finish();
    return PointerGetDatum(nullptr);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_job_progress);

/* AFTER statement trigger on irp_job: the irp_job_progress notifications. */
Datum irp_job_progress(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::job_progress(fcinfo); });
}

}
