# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# bond=<name>[:<slaves>[:<options>[:<mtu>]]], dracut's syntax (dracut.cmdline(7)), e.g.
# bond=bond0:eth0,eth1:mode=active-backup,miimon=100. The bond is made through the bonding
# driver's sysfs (Documentation/networking/bonding.rst, "Configuring Bonding Manually via
# Sysfs"), because busybox ip cannot create one; the network stage then runs on it like on a NIC.
# The driver is the optional hook `bonding` (half a megabyte, so not in every initrd).

# Bonding options bond= accepts, each with the check its value gets: every value ends up in a
# sysfs write, so only known names with known-safe values pass.
ram_bond_check_opt() {
	case $1 in
	mode)
		case $2 in
		balance-rr | active-backup | balance-xor | broadcast | 802.3ad | balance-tlb | balance-alb | [0-6]) return 0 ;;
		esac
		RAM_BOND_WHY="mode=$2: use balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb or balance-alb"
		;;
	miimon | updelay | downdelay | arp_interval)
		ram_check_uint "$2" 600000 && return 0
		RAM_BOND_WHY="$1=$2: use milliseconds 0..600000"
		;;
	num_grat_arp | num_unsol_na | resend_igmp)
		ram_check_uint "$2" 255 && return 0
		RAM_BOND_WHY="$1=$2: use 0..255"
		;;
	min_links)
		ram_check_uint "$2" 1024 && return 0
		RAM_BOND_WHY="$1=$2: use 0..1024"
		;;
	use_carrier | all_slaves_active)
		case $2 in 0 | 1) return 0 ;; esac
		RAM_BOND_WHY="$1=$2: use 0 or 1"
		;;
	xmit_hash_policy)
		case $2 in layer2 | layer2+3 | layer3+4 | encap2+3 | encap3+4 | vlan+srcmac) return 0 ;; esac
		RAM_BOND_WHY="$1=$2: use layer2, layer2+3, layer3+4, encap2+3, encap3+4 or vlan+srcmac"
		;;
	lacp_rate)
		case $2 in slow | fast) return 0 ;; esac
		RAM_BOND_WHY="$1=$2: use slow or fast"
		;;
	fail_over_mac)
		case $2 in none | active | follow) return 0 ;; esac
		RAM_BOND_WHY="$1=$2: use none, active or follow"
		;;
	primary_reselect)
		case $2 in always | better | failure) return 0 ;; esac
		RAM_BOND_WHY="$1=$2: use always, better or failure"
		;;
	ad_select)
		case $2 in stable | bandwidth | count) return 0 ;; esac
		RAM_BOND_WHY="$1=$2: use stable, bandwidth or count"
		;;
	primary)
		case " $RAM_BOND_SLAVES " in
		*" $2 "*) return 0 ;;
		esac
		RAM_BOND_WHY="primary=$2 is not one of the slaves ($RAM_BOND_SLAVES)"
		;;
	*)
		RAM_BOND_WHY="unknown bonding option '$1' (known: mode miimon updelay downdelay arp_interval num_grat_arp num_unsol_na resend_igmp min_links use_carrier all_slaves_active xmit_hash_policy lacp_rate fail_over_mac primary_reselect ad_select primary)"
		;;
	esac
	return 1
}

# bond= -> RAM_BOND_NAME, RAM_BOND_SLAVES and RAM_BOND_OPTS (blank-separated), RAM_BOND_MTU; or
# false with RAM_BOND_WHY. Absent fields take dracut's defaults (eth0,eth1 and balance-rr);
# miimon=100 is added when neither miimon nor arp_interval is given, because a bond without a
# link monitor never notices a dead link, the one thing a boot over a bond is for.
ram_parse_bond() {
	RAM_BOND_WHY=
	RAM_BOND_NAME='' RAM_BOND_SLAVES='' RAM_BOND_OPTS='' RAM_BOND_MTU=''
	set -f
	ram_pb_ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # dracut's fields are colon-separated
	set -- $1
	IFS=$ram_pb_ifs
	set +f
	if [ "$#" -gt 4 ]; then
		RAM_BOND_WHY='more than 4 fields (use <name>:<slaves>:<options>:<mtu>)'
		return 1
	fi
	RAM_BOND_NAME=${1:-}
	ram_check_ifname "$RAM_BOND_NAME" || {
		RAM_BOND_WHY="'$RAM_BOND_NAME' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)"
		return 1
	}
	ram_pb_opts=${3:-mode=balance-rr}
	RAM_BOND_MTU=${4:-}
	ram_pb_rest=${2:-eth0,eth1},
	while [ -n "$ram_pb_rest" ]; do
		ram_pb_slave=${ram_pb_rest%%,*}
		ram_pb_rest=${ram_pb_rest#*,}
		ram_check_ifname "$ram_pb_slave" || {
			RAM_BOND_WHY="slave '$ram_pb_slave' is not an interface name"
			return 1
		}
		case " $RAM_BOND_SLAVES $RAM_BOND_NAME " in
		*" $ram_pb_slave "*)
			RAM_BOND_WHY="slave $ram_pb_slave is given twice or is the bond itself"
			return 1
			;;
		esac
		RAM_BOND_SLAVES="$RAM_BOND_SLAVES${RAM_BOND_SLAVES:+ }$ram_pb_slave"
	done
	ram_pb_rest=$ram_pb_opts,
	ram_pb_monitor=
	while [ -n "$ram_pb_rest" ]; do
		ram_pb_opt=${ram_pb_rest%%,*}
		ram_pb_rest=${ram_pb_rest#*,}
		case $ram_pb_opt in
		?*=?*) ;;
		*)
			RAM_BOND_WHY="option '$ram_pb_opt' is not name=value"
			return 1
			;;
		esac
		ram_bond_check_opt "${ram_pb_opt%%=*}" "${ram_pb_opt#*=}" || return 1
		case $ram_pb_opt in
		miimon=* | arp_interval=*) ram_pb_monitor=1 ;;
		esac
		RAM_BOND_OPTS="$RAM_BOND_OPTS${RAM_BOND_OPTS:+ }$ram_pb_opt"
	done
	[ -n "$ram_pb_monitor" ] || RAM_BOND_OPTS="$RAM_BOND_OPTS miimon=100"
	[ -z "$RAM_BOND_MTU" ] || { ram_check_uint "$RAM_BOND_MTU" 65535 && [ "$RAM_BOND_MTU" -ge 68 ]; } || {
		RAM_BOND_WHY="mtu '$RAM_BOND_MTU' is not 68..65535"
		return 1
	}
}

# A network interface name as the kernel takes it (dev_valid_name: under IFNAMSIZ, no / or
# blank), narrowed to characters that are safe in a sysfs write, a path and a log line.
ram_check_ifname() {
	case $1 in
	'' | . | .. | *[!A-Za-z0-9_.-]*) return 1 ;;
	esac
	[ "${#1}" -le 15 ]
}

# printf $2 into the sysfs file $1, or die naming it.
ram_bond_write() {
	printf '%s\n' "$2" >"$RAM_PREFIX$1" 2>/dev/null ||
		ram_die "net: bond=$RAM_BOND: the kernel refused '$2' in $1 (see dmesg for the bonding driver's reason)"
}

# The bond from bond=, up, with its slaves; RAM_NET_VIRT = its name for the rest of the stage.
ram_net_bond() {
	ram_parse_bond "$RAM_BOND" || ram_die "bond=$RAM_BOND: $RAM_BOND_WHY"
	# max_bonds=0: loading the driver would otherwise make a bond0 of its own.
	[ -e "$RAM_PREFIX/sys/class/net/bonding_masters" ] || modprobe bonding max_bonds=0 2>/dev/null
	[ -e "$RAM_PREFIX/sys/class/net/bonding_masters" ] ||
		ram_die "net: bond=$RAM_BOND: this kernel has no bonding driver in the initrd (build it with --hook bonding)"
	for ram_nb_slave in $RAM_BOND_SLAVES; do
		ram_net_wait_nics "$ram_nb_slave"
	done
	ram_nb_masters=$(cat "$RAM_PREFIX/sys/class/net/bonding_masters")
	case " $ram_nb_masters " in
	*" $RAM_BOND_NAME "*) ;;
	*) ram_bond_write /sys/class/net/bonding_masters "+$RAM_BOND_NAME" ;;
	esac
	ram_nb_dir=/sys/class/net/$RAM_BOND_NAME/bonding
	# The mode only while the bond has no slaves, primary only once they are in.
	for ram_nb_opt in $RAM_BOND_OPTS; do
		case $ram_nb_opt in
		mode=*) ram_bond_write "$ram_nb_dir/mode" "${ram_nb_opt#*=}" ;;
		esac
	done
	for ram_nb_opt in $RAM_BOND_OPTS; do
		case $ram_nb_opt in
		mode=* | primary=*) ;;
		*) ram_bond_write "$ram_nb_dir/${ram_nb_opt%%=*}" "${ram_nb_opt#*=}" ;;
		esac
	done
	# The driver refuses a slave that is up.
	for ram_nb_slave in $RAM_BOND_SLAVES; do
		ram_must "net: $ram_nb_slave: setting the link down to enslave it" ip link set dev "$ram_nb_slave" down
		ram_bond_write "$ram_nb_dir/slaves" "+$ram_nb_slave"
	done
	for ram_nb_opt in $RAM_BOND_OPTS; do
		case $ram_nb_opt in
		primary=*) ram_bond_write "$ram_nb_dir/primary" "${ram_nb_opt#*=}" ;;
		esac
	done
	[ -z "$RAM_BOND_MTU" ] ||
		ram_must "net: $RAM_BOND_NAME: mtu $RAM_BOND_MTU" ip link set dev "$RAM_BOND_NAME" mtu "$RAM_BOND_MTU"
	ram_must "net: $RAM_BOND_NAME: setting the link up" ip link set dev "$RAM_BOND_NAME" up
	ram_log "net: bond $RAM_BOND_NAME of $RAM_BOND_SLAVES ($RAM_BOND_OPTS)"
	RAM_NET_VIRT=$RAM_BOND_NAME
}
