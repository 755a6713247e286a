#define SPECS "fp8", "fp8:format=e5m2,group=7,scale=f16", "fp8:group=0,axis=0", "fp8:format=e4m3,group=32", "fp8:format=e5m2,axis=1"
#include "fuzz_quant_common.h"
