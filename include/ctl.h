/*
 * ctl: the commands of nudgectl, one function each, taking the command's
 * own argc/argv (argv[0] is the command name) and returning an exit code
 * (0 ok, 1 failure, 2 usage).
 */
#ifndef NUDGE_CTL_H
#define NUDGE_CTL_H

int	ctl_sign(int argc, char **argv);
int	ctl_flows(int argc, char **argv);
int	ctl_status(int argc, char **argv);
int	ctl_dead(int argc, char **argv);
int	ctl_timeline(int argc, char **argv);
int	ctl_codes(int argc, char **argv);
int	ctl_demo(int argc, char **argv);

#endif
