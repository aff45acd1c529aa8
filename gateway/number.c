/* number.c - not written yet */
#include "afgw/number.h"
