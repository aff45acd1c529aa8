/* sms_concat.c - not written yet */
#include "afgw/sms.h"
