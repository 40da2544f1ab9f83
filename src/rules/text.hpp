/*
 * text.hpp: building message texts from pieces (plain C++).
 */
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "../pg_memory.hpp"

namespace irp {

/* The pieces, one after another: concat_parts({"Batch ", number_text(7), " not found"}) is "Batch 7 not found". */
Text concat_parts(std::initializer_list<std::string_view> parts);

/* The decimal text of n: number_text(-12) is "-12". */
Text number_text(std::int64_t n);

}  // namespace irp
