/* pca decoder fuzz target (see struct_fuzz.h). */
#include "struct_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"pca:components=4", "pca:energy=0.9,factor=f32", "pca:ratio=0.5,factor=pass"};
    static const tp_dtype dt[] = {TP_F32};
    return struct_fuzz_one(specs, 3, dt, 1, data, size);
}
