/* autoenc decoder fuzz target (see struct_fuzz.h). */
#include "struct_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"autoenc:hidden=0,latent=1", "autoenc:hidden=2,latent=1,activation=gelu,weights=f32",
                                        "autoenc:hidden=3,latent=2,codes=pass", "autoenc:hidden=1,latent=1,codes=f32"};
    static const tp_dtype dt[] = {TP_F32};
    return struct_fuzz_one(specs, 4, dt, 1, data, size);
}
