/*
 * notifications.cpp: queuing the NOTIFY messages (see notifications.hpp).
 */
#include "notifications.hpp"

#include <optional>
#include <string_view>

extern "C" {
#include "postgres.h"
#include "access/xact.h"
#include "commands/async.h"
#include "mb/pg_wchar.h"
}

#include <new>
#include <utility>

#include "pg_guard.hpp"

namespace irp {

bool notify_enabled = true;

namespace {

/* The server encoding's character length; never raises. */
int server_char_length(const char* s) { return pg_mblen(s); }

std::optional<std::string_view> optional_text(const char* s)
{
    if (s == nullptr)
        return std::nullopt;
    return std::string_view(s);
}

/*
 * The messages are kept here until the transaction commits, and handed to
 * Async_Notify just before PostgreSQL writes its own NOTIFY queue
 * (XACT_EVENT_PRE_COMMIT): a transaction that ends with PREPARE TRANSACTION,
 * which PostgreSQL refuses once NOTIFY was called, prepares as before and
 * sends nothing. Each message remembers the (sub)transaction level that
 * queued it: a rolled-back subtransaction's messages go, a committed one's
 * pass to its parent.
 */
struct Pending {
    int level;
    const char* channel;
    Text payload;
};

/* The transaction's messages, in TopTransactionContext; nullptr when there are none. */
Vector<Pending>* pending = nullptr;
bool callbacks_registered = false;

void on_transaction(XactEvent event, void*)
{
    if (pending == nullptr)
        return;
    if (event != XACT_EVENT_PRE_COMMIT) {
        /* Aborted, prepared or committed: the memory goes with the transaction. */
        pending = nullptr;
        return;
    }
    Vector<Pending>* messages = pending;
    pending = nullptr;
    entry_point([messages] {
        for (const Pending& m : *messages)
            pg([&m] { Async_Notify(m.channel, m.payload.c_str()); });
        return Datum(0);
    });
}

void on_subtransaction(SubXactEvent event, SubTransactionId, SubTransactionId, void*)
{
    if (pending == nullptr)
        return;
    const int level = GetCurrentTransactionNestLevel();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        Vector<Pending>& list = *pending;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (list[i].level < level) {
                if (kept != i)
                    list[kept] = std::move(list[i]);
                ++kept;
            }
        }
        while (list.size() > kept)
            list.pop_back();
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        for (Pending& m : *pending) {
            if (m.level >= level)
                m.level = level - 1;
        }
    }
}

void send(const char* channel, Text payload)
{
    if (!callbacks_registered) {
        pg([] {
            RegisterXactCallback(on_transaction, nullptr);
            RegisterSubXactCallback(on_subtransaction, nullptr);
        });
        callbacks_registered = true;
    }
    if (pending == nullptr)
        pending = new (memory_alloc(sizeof(Vector<Pending>))) Vector<Pending>();
    pending->push_back(Pending{GetCurrentTransactionNestLevel(), channel, std::move(payload)});
}

}  // namespace

void notify_batch_event(std::int64_t event_id, std::int32_t batch_id, const char* event, const char* status,
                        std::int32_t configuration_id, const char* batch_type, const char* actor)
{
    if (!notify_enabled)
        return;
    BatchEventMessage m;
    m.event_id = event_id;
    m.batch_id = batch_id;
    m.event = event != nullptr ? event : "";
    m.status = optional_text(status);
    if (configuration_id > 0)
        m.configuration_id = configuration_id;
    m.batch_type = optional_text(batch_type);
    m.actor = actor != nullptr ? actor : "";
    send(batch_events_channel, batch_event_payload(m, server_char_length));
}

void notify_job_progress(std::int32_t batch_id, std::int64_t total, const StatusCount* counts, std::size_t n)
{
    if (!notify_enabled)
        return;
    send(job_progress_channel, job_progress_payload(batch_id, total, counts, n, server_char_length));
}

}  // namespace irp
