#!/bin/sh
# afgw-failopen-bridge - keep an inline (bridge mode) link passing traffic
# while afgw is not running, by bridging its two interfaces in the kernel.
#
#   afgw-failopen-bridge up [WHY]     bridge AFGW_IF_A and AFGW_IF_B (br-afgw)
#   afgw-failopen-bridge down [WHY]   undo it, so afgw can forward them itself
#   afgw-failopen-bridge status       exit 0 if the kernel bridge is in place, 3 if not
#
# Installed as /usr/libexec/afgw/afgw-failopen-bridge (deploy/README.md,
# "Keeping traffic flowing if afgw dies").  afgw.service runs "down" before
# afgw starts (ExecStartPre) and "up" after it stops for any reason
# (ExecStopPost); afgw-failopen@.service runs "up" when afgw.service fails.
#
# Configuration: /etc/afgw/failopen.env (or $AFGW_FAILOPEN_ENV), KEY=VALUE
# lines as for systemd's EnvironmentFile=; only these keys are read:
#   AFGW_IF_A=eth1              one side of the inline link
#   AFGW_IF_B=eth2              the other side
#   AFGW_BRIDGE=br-afgw         the bridge's name (optional)
#   AFGW_GROUP_FWD_MASK=0x4000  optional: link-local groups the bridge also
#                               forwards (bit N = 01:80:C2:00:00:0N; 0x4000 is
#                               LLDP).  STP BPDUs pass anyway (STP is off).
# No file: fail-open is not configured (tap mode) and every command does
# nothing and exits 0.  A file with a missing or bad value, or a named
# interface that does not exist, is an error (exit 1) for "up" and
# "status"; "down" says so and exits 0, because it runs before afgw starts
# and a broken fail-open must not also keep afgw from forwarding.
#
# Idempotent: "up" twice or "down" twice is the same as once; a run is
# serialised with any other (flock on the env file), so the ExecStopPost and
# the OnFailure unit can fire together.  It never takes an interface that
# is enslaved to another master, and never deletes a bridge that has ports
# other than the two.  Exit status: 0 done (or nothing to do), 1 error,
# 2 bad usage, 3 (status only) not bridged.
set -eu

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077

me=afgw-failopen
env_file=${AFGW_FAILOPEN_ENV:-/etc/afgw/failopen.env}

say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 1; }
# A fault in the configuration: an error, except for "down", which runs
# before afgw starts and must not keep it from forwarding the link.
bad_conf() {
	if [ "$cmd" = down ]; then
		say "$*; fail-open cannot work until this is fixed (afgw starts anyway)"
		exit 0
	fi
	die "$*"
}

usage() {
	echo "usage: afgw-failopen-bridge up|down|status [WHY]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
cmd=$1
why=${2:-}
# What systemd says about the stop (ExecStopPost=: SERVICE_RESULT, EXIT_CODE,
# EXIT_STATUS; an OnFailure= unit: the same with MONITOR_), for the log.
res=${SERVICE_RESULT:-${MONITOR_SERVICE_RESULT:-}}
code=${EXIT_CODE:-${MONITOR_EXIT_CODE:-}}
status=${EXIT_STATUS:-${MONITOR_EXIT_STATUS:-}}
[ -z "$res" ] || why="${why:+$why: }$res${code:+, $code}${status:+ $status}"
case $cmd in up | down | status) ;; *) usage ;; esac

if [ ! -e "$env_file" ]; then
	[ "$cmd" = status ] && { say "not configured ($env_file does not exist)"; exit 3; }
	exit 0 # tap mode: nothing to keep flowing
fi
if ! [ -f "$env_file" ] || ! [ -r "$env_file" ]; then
	bad_conf "$env_file: not a readable file"
fi

# Read the env file without executing it: KEY=VALUE, optional quotes,
# comments and blank lines ignored, unknown keys refused.
if_a="" if_b="" bridge="br-afgw" fwd_mask=""
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	trimmed=$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	case $trimmed in '' | '#'*) continue ;; esac
	key=${trimmed%%=*}
	[ "$key" != "$trimmed" ] || bad_conf "$env_file:$lineno: expected KEY=VALUE"
	val=${trimmed#*=}
	case $val in
	\"*\") val=${val#\"}; val=${val%\"} ;;
	\'*\') val=${val#\'}; val=${val%\'} ;;
	esac
	case $key in
	AFGW_IF_A) if_a=$val ;;
	AFGW_IF_B) if_b=$val ;;
	AFGW_BRIDGE) bridge=$val ;;
	AFGW_GROUP_FWD_MASK) fwd_mask=$val ;;
	*) bad_conf "$env_file:$lineno: unknown key '$key' (AFGW_IF_A, AFGW_IF_B, AFGW_BRIDGE, AFGW_GROUP_FWD_MASK)" ;;
	esac
done <"$env_file"

# An interface name as the kernel allows it, kept to the safe characters.
check_name() {
	case $2 in
	'') bad_conf "$env_file: $1 is not set" ;;
	*[!A-Za-z0-9_.-]*) bad_conf "$env_file: $1='$2': not an interface name ([A-Za-z0-9_.-])" ;;
	esac
	[ ${#2} -le 15 ] || bad_conf "$env_file: $1='$2': longer than 15 characters"
}
check_name AFGW_IF_A "$if_a"
check_name AFGW_IF_B "$if_b"
check_name AFGW_BRIDGE "$bridge"
[ "$if_a" != "$if_b" ] || bad_conf "$env_file: AFGW_IF_A and AFGW_IF_B are both '$if_a'"
if [ "$bridge" = "$if_a" ] || [ "$bridge" = "$if_b" ]; then
	bad_conf "$env_file: AFGW_BRIDGE is one of the interfaces"
fi
case $fwd_mask in
'' | 0x[0-9a-fA-F] | 0x[0-9a-fA-F][0-9a-fA-F] | 0x[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F] | 0x[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]) ;;
*) bad_conf "$env_file: AFGW_GROUP_FWD_MASK='$fwd_mask': expected 0x and 1 to 4 hex digits" ;;
esac

# One run at a time (the lock is on the env file, opened for reading: the
# units' file systems may be read-only).
exec 9<"$env_file"
flock -w 30 9 || die "another afgw-failopen-bridge has held the lock for 30 s"

exists() { [ -e "/sys/class/net/$1" ]; }
is_bridge() { [ -d "/sys/class/net/$1/bridge" ]; }
master_of() { # the interface's master's name, or nothing
	if [ -L "/sys/class/net/$1/master" ]; then
		basename "$(readlink "/sys/class/net/$1/master")"
	fi
}
ports_of() { # the bridge's ports, one a line
	ls "/sys/class/net/$1/brif" 2>/dev/null || true
}

# At boot the interfaces may still be appearing: wait up to 10 s for them.
for i in "$if_a" "$if_b"; do
	n=0
	while ! exists "$i" && [ "$cmd" != status ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	exists "$i" || bad_conf "interface $i does not exist (AFGW_IF_A / AFGW_IF_B in $env_file)"
done

case $cmd in
status)
	ma=$(master_of "$if_a")
	mb=$(master_of "$if_b")
	up=$(cat "/sys/class/net/$bridge/operstate" 2>/dev/null || echo absent)
	echo "$if_a master=${ma:-none}; $if_b master=${mb:-none}; $bridge: $up"
	[ "$ma" = "$bridge" ] && [ "$mb" = "$bridge" ] && exit 0
	exit 3
	;;

up)
	for i in "$if_a" "$if_b"; do
		m=$(master_of "$i")
		[ -z "$m" ] || [ "$m" = "$bridge" ] ||
			die "$i is enslaved to $m; not taking it (fix by hand, then run up again)"
	done
	if exists "$bridge"; then
		is_bridge "$bridge" || die "$bridge exists and is not a bridge"
	else
		# A transparent wire: no STP (ports forward at once and BPDUs pass),
		# no multicast snooping (multicast floods as on a cable), not
		# through the host's iptables, and no address of its own
		# (addrgenmode none: the host never speaks on the link).  VLAN
		# filtering is off by default, so tags pass as they are (not named
		# here: kernels built without it refuse even "vlan_filtering 0").
		ip link add name "$bridge" type bridge stp_state 0 forward_delay 0 \
			mcast_snooping 0 nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0
		ip link set dev "$bridge" addrgenmode none 2>/dev/null ||
			say "$bridge: could not turn off IPv6 address generation (IPv6 disabled?); going on"
	fi
	if [ -n "$fwd_mask" ]; then
		ip link set dev "$bridge" type bridge group_fwd_mask "$fwd_mask"
	fi
	for i in "$if_a" "$if_b"; do
		[ "$(master_of "$i")" = "$bridge" ] || ip link set dev "$i" master "$bridge"
		ip link set dev "$i" up
	done
	ip link set dev "$bridge" up
	say "traffic between $if_a and $if_b is bridged in the kernel ($bridge), unscreened${why:+ ($why)}"
	;;

down)
	changed=""
	for i in "$if_a" "$if_b"; do
		m=$(master_of "$i")
		if [ "$m" = "$bridge" ]; then
			ip link set dev "$i" nomaster
			changed=yes
		elif [ -n "$m" ]; then
			die "$i is enslaved to $m, not $bridge; afgw needs it free (fix by hand)"
		fi
		ip link set dev "$i" up
	done
	if exists "$bridge"; then
		left=$(ports_of "$bridge" | tr '\n' ' ')
		left=${left% }
		if ! is_bridge "$bridge"; then
			say "$bridge is not a bridge; leaving it alone"
		elif [ -n "$left" ]; then
			say "$bridge still has ports ($left); leaving it"
		else
			ip link del dev "$bridge"
			changed=yes
		fi
	fi
	[ -z "$changed" ] ||
		say "kernel bridge removed: $if_a and $if_b are afgw's again${why:+ ($why)}"
	;;
esac
exit 0
