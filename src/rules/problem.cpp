/*
 * problem.cpp: the Problems that several parts of the extension raise (problem.hpp).
 */
#include "problem.hpp"

#include "text.hpp"

namespace irp {

Problem trigger_misuse(std::string_view message, std::string_view detail, std::string_view hint, Origin where)
{
    Problem p(Code::TriggerProtocol, Text(message), where);
    p.detail = Text(detail);
    p.hint = Text(hint);
    return p;
}

Problem skipped_by_trigger(std::string_view function, std::string_view what, std::string_view table, Origin where)
{
    Problem p(Code::TriggeredAction, concat_parts({function, "() could not ", what}), where);
    p.detail = concat_parts({"Another BEFORE trigger on ", table, " skipped a row that ", function, "() wrote."});
    p.hint = Text("Nothing was changed. Let such triggers pass the extension's own writes.");
    return p;
}

}  // namespace irp
