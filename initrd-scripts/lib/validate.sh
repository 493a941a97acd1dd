# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Checks for values that come from outside the initrd (the command line, a DHCP lease, an HTTP
# header) before the shell does arithmetic with them or puts them into a mount option. busybox
# sh's $((...)) reads 010 as octal and dies on 08 ("arithmetic syntax error"), which would kill
# PID 1 with no `ramboot: error:` line; a number of 20 digits wraps negative. So a number is only
# ever used after one of these said yes.
#
#   ram_check_uint VALUE MAX      true when VALUE is a whole number 0..MAX: digits only, no sign,
#                                 no leading zero (except 0 itself), at most 18 digits so it fits
#                                 a signed 64-bit integer. No output. MAX: 0..999999999999999999.
#   ram_check_int VALUE MIN MAX   the same with an optional leading - (MIN may be negative).
#   ram_need_uint WHAT VALUE MAX  ram_check_uint, or ram_die "WHAT: 'VALUE' is not ..." (the
#                                 one failure path: error line, then initrddebug's shell).
#   ram_check_ipv4 VALUE          true for a dotted quad, each part 0..255 as ram_check_uint says.
#   ram_check_size VALUE          true for a tmpfs size= that cannot smuggle another mount option:
#                                 N, NK, NM or NG (N 1.., 18 digits at most) or P% (1..100).
#   ram_check_param NAME VAR RULE...   one row of the parameter table's checks (RAM_PARAM_RULES
#                                 in /etc/ram.conf); see ram_check_params in setup.sh.

# The widest decimal number that always fits a signed 64-bit integer has 18 digits.
RAM_UINT_DIGITS=18

ram_check_uint() {
	case $1 in
	0) ;;
	'' | *[!0-9]* | 0*) return 1 ;;
	esac
	[ "${#1}" -le "$RAM_UINT_DIGITS" ] && [ "$1" -le "$2" ]
}

ram_check_int() {
	case $1 in
	-*)
		case $2 in
		-*) ram_check_uint "${1#-}" "${2#-}" && [ "$1" != -0 ] ;;
		*) return 1 ;;
		esac
		;;
	*) ram_check_uint "$1" "$3" && [ "$1" -ge "$2" ] ;;
	esac
}

ram_need_uint() {
	ram_check_uint "$2" "$3" || ram_die "$1: '$2' is not a whole number from 0 to $3"
}

ram_check_ipv4() {
	case $1 in
	*.*.*.*.* | *..* | .* | *.) return 1 ;;
	*.*.*.*) ;;
	*) return 1 ;;
	esac
	ram_ci_rest=$1.
	while [ -n "$ram_ci_rest" ]; do
		ram_check_uint "${ram_ci_rest%%.*}" 255 || return 1
		ram_ci_rest=${ram_ci_rest#*.}
	done
}

ram_check_size() {
	case $1 in
	*%) ram_check_uint "${1%\%}" 100 && [ "${1%\%}" -ge 1 ] ;;
	*[KMG]) ram_check_uint "${1%?}" 999999999999999999 && [ "${1%?}" -ge 1 ] ;;
	*) ram_check_uint "$1" 999999999999999999 && [ "$1" -ge 1 ] ;;
	esac
}

# RAM_<VAR> against one row of the parameter table's checks: `NAME VAR TYPE [ARG...]`, rendered
# from src/cmdline/params.ts into /etc/ram.conf (RAM_PARAM_RULES) so that `ramboot cmdline lint`
# and the boot enforce the same rules. A failure dies naming the parameter as it is spelt on the
# command line. An empty value is the table's "unset" default, unless the command line gave it
# (RAM_PARAM_GIVEN, from cmdline.sh): then it is an error, so an empty rootsha256= cannot quietly
# drop the pin the builder baked in.
ram_check_param() {
	ram_cp_name=$1
	ram_cp_var=$2
	eval "ram_cp_value=\${RAM_$2:-}"
	ram_cp_type=$3
	shift 3
	if [ -z "$ram_cp_value" ]; then
		case " ${RAM_PARAM_GIVEN:-} " in
		*" $ram_cp_var "*) ;;
		*) return 0 ;;
		esac
		case $ram_cp_type in
		sha256) ram_die "$ram_cp_name= is empty: give the image's sha256, or $ram_cp_name=off to boot an unverified image" ;;
		*) ram_die "$ram_cp_name= is empty: give it a value, or drop it to get the default" ;;
		esac
	fi
	case $ram_cp_type in
	flag)
		case $ram_cp_value in y | n) return 0 ;; esac
		ram_cp_why='use y or n'
		;;
	int)
		ram_check_int "$ram_cp_value" "$1" "$2" && return 0
		ram_cp_why="not a whole number from $1 to $2"
		shift 2
		for ram_cp_word; do
			[ "$ram_cp_value" = "$ram_cp_word" ] && return 0
			ram_cp_why="$ram_cp_why, nor $ram_cp_word"
		done
		;;
	enum)
		for ram_cp_word; do
			[ "$ram_cp_value" = "$ram_cp_word" ] && return 0
		done
		ram_cp_why="use one of $*"
		;;
	sha256)
		case $ram_cp_value in
		off) return 0 ;;
		*[!0-9a-fA-F]*) ;;
		*) [ "${#ram_cp_value}" -ne 64 ] || return 0 ;;
		esac
		ram_cp_why='use the 64 hex digits of a sha256, or off'
		;;
	size)
		ram_check_size "$ram_cp_value" && return 0
		ram_cp_why='use bytes with K/M/G (at least 1), or 1%..100% of RAM'
		;;
	path)
		case $ram_cp_value in /*) return 0 ;; esac
		ram_cp_why='use an absolute path'
		;;
	device)
		# What ram_find_dev takes: findfs's LABEL= or UUID=, or a name under /dev (no slash).
		case $ram_cp_value in
		LABEL=*[[:space:]]* | LABEL= | UUID=*[!0-9A-Fa-f-]* | UUID=) ;;
		LABEL=* | UUID=*) return 0 ;;
		[a-z]*[!a-z0-9_-]*) ;;
		[a-z]*) return 0 ;;
		esac
		ram_cp_why='use LABEL=name, UUID=uuid or a device name like sdb1'
		;;
	proxy)
		ram_check_proxy "$ram_cp_value" && return 0
		ram_cp_why='use http://HOST[:PORT] (a name, an IPv4 address or [IPv6]; no user@ or path)'
		;;
	bond)
		ram_parse_bond "$ram_cp_value" && return 0
		ram_cp_why=$RAM_BOND_WHY
		;;
	vlan)
		ram_parse_vlan "$ram_cp_value" && return 0
		ram_cp_why=$RAM_VLAN_WHY
		;;
	string | url-list) return 0 ;;
	*) ram_cp_why="/etc/ram.conf has no check of type $ram_cp_type (an initrd from a newer ramboot?)" ;;
	esac
	ram_die "$ram_cp_name=$ram_cp_value: $ram_cp_why"
}
