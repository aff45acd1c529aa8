/* decode_smpp.c - not written yet */
#include "afgw/smpp.h"
