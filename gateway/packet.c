/* packet.c - not written yet */
#include "afgw/common.h"
