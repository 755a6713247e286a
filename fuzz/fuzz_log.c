#define SPECS "log", "log:bits=2,group=1", "log:bits=8,group=0,step=0.25", "log:bits=4,axis=0,group=0,scale=f32", "log:bits=7,group=24"
#include "fuzz_quant_common.h"
