/* sparse decoder fuzz target (see struct_fuzz.h): every index format is
 * reachable through the payload's first byte. */
#include "struct_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"sparse", "sparse:values=f16", "sparse:values=bf16,threshold=0.5"};
    static const tp_dtype dt[] = {TP_F32, TP_F16, TP_BF16, TP_F64, TP_I8, TP_I64, TP_BOOL};
    return struct_fuzz_one(specs, 3, dt, 7, data, size);
}
