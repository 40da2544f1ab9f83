/*
 * payload.cpp: the notification payloads (plain C++; see payload.hpp).
 */
#include "payload.hpp"

#include <charconv>

namespace irp {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/* The JSON escape of the ASCII byte c, or empty if c stands for itself. */
std::string_view escape_of(unsigned char c, char (&buffer)[6]) noexcept
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: break;
    }
    if (c >= 0x20)
        return {};
    buffer[0] = '\\';
    buffer[1] = 'u';
    buffer[2] = '0';
    buffer[3] = '0';
    buffer[4] = hex_digits[c >> 4];
    buffer[5] = hex_digits[c & 0xf];
    return std::string_view(buffer, 6);
}

/* One character of s at pos: its bytes in s, and what it takes escaped. */
struct Piece {
    std::size_t bytes;
    std::string_view escaped; /* empty: the bytes themselves */
};

Piece piece_at(std::string_view s, std::size_t pos, CharLength char_length, char (&buffer)[6]) noexcept
{
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c < 0x80)
        return Piece{1, escape_of(c, buffer)};
    int n = char_length(s.data() + pos);
    if (n < 1)
        n = 1;
    const std::size_t left = s.size() - pos;
    return Piece{static_cast<std::size_t>(n) < left ? static_cast<std::size_t>(n) : left, {}};
}

/* Bytes s takes escaped, without quotes. */
std::size_t escaped_size(std::string_view s, CharLength char_length) noexcept
{
    std::size_t size = 0;
    char buffer[6];
    for (std::size_t pos = 0; pos < s.size();) {
        const Piece p = piece_at(s, pos, char_length, buffer);
        size += p.escaped.empty() ? p.bytes : p.escaped.size();
        pos += p.bytes;
    }
    return size;
}

/* Appends s as a JSON string, cut as payload.hpp says. */
void append_string(Text& out, std::string_view s, CharLength char_length)
{
    const bool cut = escaped_size(s, char_length) > max_string_bytes;
    const std::size_t budget = cut ? max_string_bytes - truncation_marker.size() : max_string_bytes;
    out.push_back('"');
    std::size_t used = 0;
    char buffer[6];
    for (std::size_t pos = 0; pos < s.size();) {
        const Piece p = piece_at(s, pos, char_length, buffer);
        const std::size_t size = p.escaped.empty() ? p.bytes : p.escaped.size();
        if (used + size > budget)
            break;
        if (p.escaped.empty())
            out.append(s.data() + pos, p.bytes);
        else
            out.append(p.escaped.data(), p.escaped.size());
        used += size;
        pos += p.bytes;
    }
    if (cut)
        out.append(truncation_marker.data(), truncation_marker.size());
    out.push_back('"');
}

void append_number(Text& out, std::int64_t n)
{
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, static_cast<std::size_t>(r.ptr - digits));
}

/* Appends "key": (the key is ASCII without escapes). */
void append_key(Text& out, std::string_view key)
{
    out.push_back('"');
    out.append(key.data(), key.size());
    out.append("\": ");
}

/* The longest batch-event payload: its keys and punctuation, three numbers, four strings. */
constexpr std::size_t batch_event_bound =
    sizeof R"({"event_id": , "batch_id": , "event": , "status": , "configuration_id": , "batch_type": , "actor": })" +
    20 + 11 + 11 + 4 * (max_string_bytes + 2);
static_assert(batch_event_bound < payload_limit, "a batch event always fits in one payload");

/* Room kept for the last count: , "(more)": and a bigint. */
constexpr std::size_t more_room = 2 + 2 + more_statuses_key.size() + 2 + 20;
static_assert(sizeof R"({"batch_id": , "total": , "counts": {}})" + 11 + 20 + more_room < payload_limit,
              "a job-progress payload always has room for its total");

}  // namespace

Text batch_event_payload(const BatchEventMessage& m, CharLength char_length)
{
    Text out;
    out.reserve(256);
    out.push_back('{');
    append_key(out, "event_id");
    append_number(out, m.event_id);
    out.append(", ");
    append_key(out, "batch_id");
    append_number(out, m.batch_id);
    out.append(", ");
    append_key(out, "event");
    append_string(out, m.event, char_length);
    out.append(", ");
    append_key(out, "status");
    if (m.status)
        append_string(out, *m.status, char_length);
    else
        out.append("null");
    out.append(", ");
    append_key(out, "configuration_id");
    if (m.configuration_id)
        append_number(out, *m.configuration_id);
    else
        out.append("null");
    out.append(", ");
    append_key(out, "batch_type");
    if (m.batch_type)
        append_string(out, *m.batch_type, char_length);
    else
        out.append("null");
    out.append(", ");
    append_key(out, "actor");
    append_string(out, m.actor, char_length);
    out.push_back('}');
    return out;
}

Text job_progress_payload(std::int32_t batch_id, std::int64_t total, const StatusCount* counts, std::size_t n,
                          CharLength char_length)
{
    Text out;
    out.reserve(128);
    out.push_back('{');
    append_key(out, "batch_id");
    append_number(out, batch_id);
    out.append(", ");
    append_key(out, "total");
    append_number(out, total);
    out.append(", ");
    append_key(out, "counts");
    out.push_back('{');
    bool first = true;
    Text entry;
    for (std::size_t i = 0; i < n; ++i) {
        if (counts[i].count == 0)
            continue;
        entry.clear();
        if (!first)
            entry.append(", ");
        append_string(entry, counts[i].status, char_length);
        entry.append(": ");
        append_number(entry, counts[i].count);
        /* The entry, the room for a last "(more)" and the closing "}}". */
        if (out.size() + entry.size() + more_room + 2 > payload_limit) {
            std::int64_t rest = 0;
            for (std::size_t k = i; k < n; ++k)
                rest += counts[k].count;
            if (!first)
                out.append(", ");
            out.push_back('"');
            out.append(more_statuses_key.data(), more_statuses_key.size());
            out.append("\": ");
            append_number(out, rest);
            break;
        }
        out.append(entry);
        first = false;
    }
    out.append("}}");
    return out;
}

}  // namespace irp
