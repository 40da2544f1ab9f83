/*
 * result_set.cpp: materialized results of set-returning functions.
 */
#include "result_set.hpp"

extern "C" {
#include "access/htup_details.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

#include "pg_guard.hpp"

namespace irp {

void begin_result_set(FunctionCallInfo fcinfo)
{
    pg([fcinfo] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
}

void put_spi_rows(FunctionCallInfo fcinfo, std::uint64_t rows)
{
    pg([fcinfo, rows] {
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        const TupleDesc want = rsinfo->setDesc;
        const TupleDesc have = SPI_tuptable->tupdesc;
        const int natts = want->natts;
        auto* values = static_cast<Datum*>(palloc(sizeof(Datum) * natts));
        auto* nulls = static_cast<bool*>(palloc(sizeof(bool) * natts));
        /* A status comes as text; a 1.x declaration of the function still
         * says batch_status_enum (until ALTER EXTENSION UPDATE): convert. */
        auto* convert = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * natts));
        auto* io_param = static_cast<Oid*>(palloc0(sizeof(Oid) * natts));
        for (int c = 0; c < natts; ++c) {
            const Oid want_type = TupleDescAttr(want, c)->atttypid;
            if (want_type != TupleDescAttr(have, c)->atttypid) {
                Oid input = InvalidOid;
                getTypeInputInfo(want_type, &input, &io_param[c]);
                fmgr_info(input, &convert[c]);
            }
        }
        for (std::uint64_t i = 0; i < rows; ++i) {
            heap_deform_tuple(SPI_tuptable->vals[i], have, values, nulls);
            for (int c = 0; c < natts; ++c) {
                if (OidIsValid(convert[c].fn_oid) && !nulls[c])
                    values[c] = InputFunctionCall(&convert[c], TextDatumGetCString(values[c]), io_param[c],
                                                  TupleDescAttr(want, c)->atttypmod);
            }
            tuplestore_putvalues(rsinfo->setResult, want, values, nulls);
        }
        pfree(values);
        pfree(nulls);
        pfree(convert);
        pfree(io_param);
    });
}

void put_row(FunctionCallInfo fcinfo, Datum* values, bool* nulls)
{
    pg([fcinfo, values, nulls] {
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
}

}  // namespace irp
