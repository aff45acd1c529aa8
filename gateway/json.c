/* json.c - not written yet */
#include "afgw/common.h"
