/*
 * keycmd.h -- the control socket's commands on the keys of encryption at
 * rest (issue 19; README, "Data protection"): rotate-master-key,
 * export-key, erase, hold and release, admin only, each journalled with
 * the caller's uid and the reason given.  They share casecmd's context.
 */
#ifndef ACCORD_KEYCMD_H
#define ACCORD_KEYCMD_H

#include "faces/casecmd.h"
#include "report/cmd.h"

extern const struct cmd_command keycmd_commands[];

#endif
