/*
 * batch_audit.hpp: the audit trail (irp_batch_event).
 *
 * The AFTER statement triggers on irp_batch write every event. While
 * irp_cancel_batch() updates its batch, a CancelScope tells them that the
 * change is a cancellation and what it did to the jobs, so that it is
 * recorded once, as CANCELLED, instead of as a plain STATUS_CHANGED.
 */
#pragma once

extern "C" {
#include "postgres.h"
}

#include <cstdint>

namespace irp {

/* Marks batch_id as being cancelled by irp_cancel_batch() while in scope. */
class CancelScope {
public:
    CancelScope(std::int32_t batch_id, Datum details) noexcept;
    ~CancelScope();
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;

private:
    std::int32_t outer_batch_id_; /* the scope this one nests in, restored on exit */
    Datum outer_details_;
};

}  // namespace irp
