#define SPECS "kmeans", "kmeans:bits=1", "kmeans:bits=8,group=16", "kmeans:bits=3,group=0,axis=0,scale=f32", "kmeans:bits=5,group=7", "kmeans:bits=4,axis=1"
#include "fuzz_quant_common.h"
