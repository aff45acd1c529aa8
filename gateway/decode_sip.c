/* decode_sip.c - not written yet */
#include "afgw/sip.h"
