/* svd decoder fuzz target (see struct_fuzz.h). */
#include "struct_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"svd:rank=4", "svd:energy=0.9,factor=f32", "svd:rank=2,factor=pass"};
    static const tp_dtype dt[] = {TP_F32};
    return struct_fuzz_one(specs, 3, dt, 1, data, size);
}
