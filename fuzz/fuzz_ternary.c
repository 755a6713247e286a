/* libFuzzer target: the ternary stage decoder (shape and parameters from the
 * first input bytes, see fuzz_codec.h). */
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_codec_decode("ternary", data, size); }
