/*
 * audit_events_test.cpp: which audit event a change to an irp_batch row
 * makes (src/rules/audit_events.hpp), and the events' names as
 * irp_batch_event.event stores them (expected/audit.out shows them).
 */
#include <string>

#include <doctest/doctest.h>

#include "../../src/rules/audit_events.hpp"
#include "support.hpp"

using irp::AuditEvent;
using irp::RowChange;

/* The functions are constexpr: the compiler can decide an event too. */
static_assert(irp::insert_event(false) == AuditEvent::Created, "a plain INSERT is CREATED");
static_assert(irp::update_event(RowChange{}) == AuditEvent::None, "an UPDATE of other columns makes no event");

TEST_CASE("insert_event: CREATED, or DUPLICATE_CREATED for a row with duplicate_of")
{
    CHECK(irp::insert_event(false) == AuditEvent::Created);
    CHECK(irp::insert_event(true) == AuditEvent::DuplicateCreated);
}

TEST_CASE("update_event: every combination of what changed, by precedence")
{
    /* status, key, duplicate_of, by_cancel: the 16 combinations. */
    struct Row {
        const char* name;
        RowChange change;
        AuditEvent want;
    };
    const Row rows[] = {
        {"nothing recorded changed", {false, false, false, false}, AuditEvent::None},
        {"nothing changed, during a cancel", {false, false, false, true}, AuditEvent::None},
        {"duplicate_of", {false, false, true, false}, AuditEvent::DuplicateOfChanged},
        {"duplicate_of, during a cancel", {false, false, true, true}, AuditEvent::Cancelled},
        {"key", {false, true, false, false}, AuditEvent::KeyChanged},
        {"key, during a cancel", {false, true, false, true}, AuditEvent::Cancelled},
        {"key and duplicate_of: the key wins", {false, true, true, false}, AuditEvent::KeyChanged},
        {"key and duplicate_of, during a cancel", {false, true, true, true}, AuditEvent::Cancelled},
        {"status", {true, false, false, false}, AuditEvent::StatusChanged},
        {"status by irp_cancel_batch()", {true, false, false, true}, AuditEvent::Cancelled},
        {"status and duplicate_of (a reactivation clears it)", {true, false, true, false},
         AuditEvent::StatusChanged},
        {"status and duplicate_of, during a cancel", {true, false, true, true}, AuditEvent::Cancelled},
        {"status and key: the status wins", {true, true, false, false}, AuditEvent::StatusChanged},
        {"status and key, during a cancel", {true, true, false, true}, AuditEvent::Cancelled},
        {"everything", {true, true, true, false}, AuditEvent::StatusChanged},
        {"everything, during a cancel", {true, true, true, true}, AuditEvent::Cancelled},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(irp::update_event(r.change) == r.want);
        }
    }
}

TEST_CASE("event_name: the names irp_batch_event.event stores")
{
    struct Row {
        const char* name;
        AuditEvent event;
        const char* want;
    };
    const Row rows[] = {
        {"None", AuditEvent::None, ""},
        {"Created", AuditEvent::Created, "CREATED"},
        {"DuplicateCreated", AuditEvent::DuplicateCreated, "DUPLICATE_CREATED"},
        {"Cancelled", AuditEvent::Cancelled, "CANCELLED"},
        {"StatusChanged", AuditEvent::StatusChanged, "STATUS_CHANGED"},
        {"KeyChanged", AuditEvent::KeyChanged, "KEY_CHANGED"},
        {"DuplicateOfChanged", AuditEvent::DuplicateOfChanged, "DUPLICATE_OF_CHANGED"},
        {"Deleted", AuditEvent::Deleted, "DELETED"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(std::string(irp::event_name(r.event)) == r.want);
        }
    }
}
