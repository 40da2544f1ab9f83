/*
 * audit_events.hpp: which audit event a change to an irp_batch row makes,
 * as plain C++ that never calls PostgreSQL.
 *
 * An INSERT makes CREATED, or DUPLICATE_CREATED for a row with duplicate_of.
 * An UPDATE makes one event for a row whose status, key or duplicate_of
 * changed, by precedence: CANCELLED (irp_cancel_batch() cancelling it),
 * STATUS_CHANGED, KEY_CHANGED, DUPLICATE_OF_CHANGED; none otherwise. A
 * DELETE or TRUNCATE makes DELETED. docs/reference.md, "Audit trail", documents the details.
 */
#pragma once

namespace irp {

/* What changed between an irp_batch row's old and new version. */
struct RowChange {
    bool status = false;       /* status differs */
    bool key = false;          /* configuration_id or batch_type differs */
    bool duplicate_of = false; /* duplicate_of differs (NULL and a value differ) */
    bool by_cancel = false;    /* irp_cancel_batch() is cancelling this row */
};

enum class AuditEvent { None, Created, DuplicateCreated, Cancelled, StatusChanged, KeyChanged, DuplicateOfChanged, Deleted };

/* The event an inserted row makes. */
constexpr AuditEvent insert_event(bool has_duplicate_of) noexcept
{
    return has_duplicate_of ? AuditEvent::DuplicateCreated : AuditEvent::Created;
}

/* The event an updated row makes (None: nothing the audit records changed). */
constexpr AuditEvent update_event(const RowChange& c) noexcept
{
    if (!c.status && !c.key && !c.duplicate_of)
        return AuditEvent::None;
    if (c.by_cancel)
        return AuditEvent::Cancelled;
    if (c.status)
        return AuditEvent::StatusChanged;
    return c.key ? AuditEvent::KeyChanged : AuditEvent::DuplicateOfChanged;
}

/* The event's name as irp_batch_event.event stores it ("" for None). */
const char* event_name(AuditEvent e) noexcept;

}  // namespace irp
