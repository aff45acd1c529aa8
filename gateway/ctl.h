/*
 * ctl.h - afgwctl's command groups, one file each (afgwctl.c dispatches).
 */
#ifndef AFGW_CTL_H
#define AFGW_CTL_H

/* afgwctl number ... (ctl_number.c); argv[0] is "number". */
int ctl_number_main(int argc, char **argv);
/* afgwctl report ... (ctl_number.c); argv[0] is "report". */
int ctl_report_main(int argc, char **argv);

#endif
