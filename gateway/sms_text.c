/* sms_text.c - not written yet */
#include "afgw/sms.h"
