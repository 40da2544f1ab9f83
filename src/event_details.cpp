/*
 * event_details.cpp: audit event details as jsonb (event_details.hpp).
 */
#include "event_details.hpp"

#include <cstring>

extern "C" {
#include "utils/builtins.h"
#include "utils/numeric.h"
}

#include "rules/audit_events.hpp"
#include "enum_labels.hpp"
#include "notifications.hpp"

namespace irp {

Details::Details()
{
    pushJsonbValue(&state_, WJB_BEGIN_OBJECT, nullptr);
}

void Details::integer(const char* key, TupleTableSlot* slot, int attnum)
{
    bool isnull = true;
    const Datum d = attnum > 0 ? slot_getattr(slot, attnum, &isnull) : 0;
    if (isnull)
        return;
    JsonbValue v;
    v.type = jbvNumeric;
    v.val.numeric = int64_to_numeric(DatumGetInt32(d));
    put(key, v);
}

void Details::text(const char* key, TupleTableSlot* slot, int attnum)
{
    bool isnull = true;
    const Datum d = attnum > 0 ? slot_getattr(slot, attnum, &isnull) : 0;
    if (isnull)
        return;
    const struct varlena* t = pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(d)));
    string(key, VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
}

void Details::label(const char* key, TupleTableSlot* slot, int attnum)
{
    bool isnull = true;
    const Datum d = slot_getattr(slot, attnum, &isnull);
    if (isnull)
        return;
    const char* l = pstrdup(enum_label(d).text);
    string(key, l, static_cast<int>(std::strlen(l)));
}

void Details::uuid(const char* key, TupleTableSlot* slot, int attnum)
{
    bool isnull = true;
    const Datum d = attnum > 0 ? slot_getattr(slot, attnum, &isnull) : 0;
    if (isnull)
        return;
    const char* u = DatumGetCString(DirectFunctionCall1(uuid_out, d));
    string(key, u, static_cast<int>(std::strlen(u)));
}

Datum Details::finish()
{
    return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state_, WJB_END_OBJECT, nullptr)));
}

void Details::string(const char* key, const char* s, int len)
{
    JsonbValue v;
    v.type = jbvString;
    v.val.string.val = const_cast<char*>(s);
    v.val.string.len = len;
    put(key, v);
}

void Details::put(const char* key, JsonbValue& value)
{
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = const_cast<char*>(key);
    k.val.string.len = static_cast<int>(std::strlen(key));
    pushJsonbValue(&state_, WJB_KEY, &k);
    pushJsonbValue(&state_, WJB_VALUE, &value);
}

void notification_of(EventRow& row, TupleTableSlot* slot, const BatchTable& t, const char* actor_name)
{
    row.notify = notify_enabled;
    if (!row.notify)
        return;
    bool isnull = false;
    const Datum status = slot_getattr(slot, t.status, &isnull);
    row.status = isnull ? nullptr : pstrdup(enum_label(status).text);
    const Datum configuration_id = slot_getattr(slot, t.configuration_id, &isnull);
    row.configuration_id = isnull ? 0 : DatumGetInt32(configuration_id);
    const Datum batch_type = slot_getattr(slot, t.batch_type, &isnull);
    row.batch_type = isnull ? nullptr : TextDatumGetCString(batch_type);
    row.actor_name = actor_name;
}

EventRow creation_event(TupleTableSlot* slot, const BatchTable& t, Datum actor, const char* actor_name)
{
    EventRow row{};
    bool isnull = false;
    row.batch_id = DatumGetInt32(slot_getattr(slot, t.id, &isnull));
    row.actor = actor;
    bool no_duplicate_of = true;
    slot_getattr(slot, t.duplicate_of, &no_duplicate_of);
    row.event = event_name(insert_event(!no_duplicate_of));
    Details details;
    details.integer("configuration_id", slot, t.configuration_id);
    details.text("batch_type", slot, t.batch_type);
    details.integer("step_id", slot, t.step_id);
    details.label("status", slot, t.status);
    details.integer("duplicate_of", slot, t.duplicate_of);
    details.uuid("request_id", slot, t.request_id);
    row.details = details.finish();
    notification_of(row, slot, t, actor_name);
    return row;
}

EventRow deletion_event(TupleTableSlot* slot, const BatchTable& t, Datum actor, const char* actor_name)
{
    EventRow row{};
    bool isnull = false;
    row.batch_id = DatumGetInt32(slot_getattr(slot, t.id, &isnull));
    row.actor = actor;
    row.event = event_name(AuditEvent::Deleted);
    Details details;
    details.integer("configuration_id", slot, t.configuration_id);
    details.text("batch_type", slot, t.batch_type);
    details.label("status", slot, t.status);
    details.integer("duplicate_of", slot, t.duplicate_of);
    row.details = details.finish();
    notification_of(row, slot, t, actor_name);
    return row;
}

}  // namespace irp
