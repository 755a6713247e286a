/* sparsecode decoder fuzz target (see struct_fuzz.h). */
#include "struct_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"sparsecode:atoms=4,k=2", "sparsecode:atoms=7,k=3,patch=1,dict=f32",
                                        "sparsecode:atoms=3,k=1,codes=pass", "sparsecode:atoms=300,k=5"};
    static const tp_dtype dt[] = {TP_F32};
    return struct_fuzz_one(specs, 4, dt, 1, data, size);
}
