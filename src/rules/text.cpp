/*
 * text.cpp: building message texts from pieces (text.hpp).
 */
#include "text.hpp"

#include <charconv>

namespace irp {

Text concat_parts(std::initializer_list<std::string_view> parts)
{
    std::size_t n = 0;
    for (std::string_view s : parts)
        n += s.size();
    Text out;
    out.reserve(n);
    for (std::string_view s : parts)
        out.append(s.data(), s.size());
    return out;
}

Text number_text(std::int64_t n)
{
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, n);
    return Text(buf, res.ptr);
}

}  // namespace irp
