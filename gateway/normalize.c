/* normalize.c - not written yet */
#include "afgw/normalize.h"
