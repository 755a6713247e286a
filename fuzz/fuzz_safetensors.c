/* libFuzzer target: .safetensors parsing (tp_tensor_file_open). */
#include <string.h>

#include "tensor_file_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tensor_file(data, size, ".safetensors"); }
