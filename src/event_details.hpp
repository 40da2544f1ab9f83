/*
 * event_details.hpp: the details of an audit event, built as jsonb
 * directly (without jsonb_build_object), and the events of a stored or
 * removed irp_batch row.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "executor/tuptable.h"
#include "utils/jsonb.h"
}

#include "batch_table.hpp"
#include "event_writer.hpp"

namespace irp {

/* A jsonb object being built; null values are left out, as jsonb_strip_nulls would. Call through pg(). */
class Details {
public:
    Details();
    /* key: a number, from the int4 column attnum of slot (0: none) */
    void integer(const char* key, TupleTableSlot* slot, int attnum);
    /* key: a string, from the text or varchar column attnum of slot */
    void text(const char* key, TupleTableSlot* slot, int attnum);
    /* key: a string, the label of the enum column attnum of slot */
    void label(const char* key, TupleTableSlot* slot, int attnum);
    /* key: a string, the text of the uuid column attnum of slot (0: none) */
    void uuid(const char* key, TupleTableSlot* slot, int attnum);
    /* The object, as a jsonb Datum. */
    Datum finish();

private:
    void string(const char* key, const char* s, int len);
    void put(const char* key, JsonbValue& value);
    JsonbParseState* state_ = nullptr;
};

/* The CREATED or DUPLICATE_CREATED event of the irp_batch row in slot, by actor. Call through pg(). */
EventRow creation_event(TupleTableSlot* slot, const BatchTable& t, Datum actor, const char* actor_name);

/* The DELETED event of the irp_batch row in slot, by actor. Call through pg(). */
EventRow deletion_event(TupleTableSlot* slot, const BatchTable& t, Datum actor, const char* actor_name);

/* Fills row's notification fields from the irp_batch row in slot, if irp_batch.notify is on. Call through pg(). */
void notification_of(EventRow& row, TupleTableSlot* slot, const BatchTable& t, const char* actor_name);

}  // namespace irp
