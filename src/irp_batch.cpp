/*
 * irp_batch.cpp: the module's magic block, and a map of the sources.
 *
 *   pg_guard.*        the C++/PostgreSQL boundary: entry_point(), pg(), errors
 *   pg_memory.hpp     C++ containers on palloc
 *   problem.hpp       errors of our own, as data
 *   batch_rules.*     the duplicate rules and every error text (plain C++)
 *   queries.*         the SQL run through SPI, prepared once per backend
 *   sql_args.*        reading and validating SQL arguments
 *   batch_table.*     the check that a trigger fires on the extension's irp_batch
 *   key_claim.*       race-safe probe of a key's active batches: claim lock, dirty snapshot
 *   batch_guard.cpp   BEFORE INSERT/UPDATE trigger: the duplicate guard
 *   batch_audit.*     statement triggers: the audit trail
 *   event_guard.cpp   statement trigger on irp_batch_event: only its owner writes it
 *   drop_warning.cpp  event trigger: DROP EXTENSION ... CASCADE warns that the tables lose the guard
 *   create_batch.cpp, cancel_batch.cpp, active_batches.cpp, preflight.cpp,
 *   ensure_batch.cpp: the SQL API
 *   new_batch.*       shared by create and ensure: jobs argument, INSERTs
 *   result_set.*      rows of the set-returning functions
 */
extern "C" {
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
}
