/*
 * ctl.h - afgwctl's command groups, one file each (afgwctl.c dispatches).
 */
#ifndef AFGW_CTL_H
#define AFGW_CTL_H

/* afgwctl number ... (ctl_number.c); argv[0] is "number". */
int ctl_number_main(int argc, char **argv);
/* afgwctl report ... (ctl_number.c); argv[0] is "report". */
int ctl_report_main(int argc, char **argv);

/* afgwctl keygen ... (ctl_keys.c); argv[0] is "keygen". */
int ctl_keygen_main(int argc, char **argv);
/* afgwctl sub add|del|show ... (ctl_sub.c); argv[0] is "sub". */
int ctl_sub_main(int argc, char **argv);
/* afgwctl inbox ... (ctl_inbox.c); argv[0] is "inbox". */
int ctl_inbox_main(int argc, char **argv);
/* afgwctl bundle build|sign|verify|show|push ... (ctl_bundle.c); argv[0] is "bundle". */
int ctl_bundle_main(int argc, char **argv);

#endif
