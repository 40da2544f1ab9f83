/*
 * audit_events.cpp: the names of the audit events.
 */
#include "audit_events.hpp"

namespace irp {

const char* event_name(AuditEvent e) noexcept
{
    switch (e) {
    case AuditEvent::Created: return "CREATED";
    case AuditEvent::DuplicateCreated: return "DUPLICATE_CREATED";
    case AuditEvent::Cancelled: return "CANCELLED";
    case AuditEvent::StatusChanged: return "STATUS_CHANGED";
    case AuditEvent::KeyChanged: return "KEY_CHANGED";
    case AuditEvent::DuplicateOfChanged: return "DUPLICATE_OF_CHANGED";
    case AuditEvent::Deleted: return "DELETED";
    case AuditEvent::None: break;
    }
    return "";
}

}  // namespace irp
