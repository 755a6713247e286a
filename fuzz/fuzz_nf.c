#define SPECS "nf", "nf:bits=2,group=3", "nf:bits=8,group=0,axis=1,scale=f32", "nf:bits=4,group=0", "nf:bits=5,group=32,axis=-1"
#include "fuzz_quant_common.h"
