/* extract.c - not written yet */
#include "afgw/extract.h"
