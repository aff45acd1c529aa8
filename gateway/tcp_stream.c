/* tcp_stream.c - not written yet */
#include "afgw/common.h"
