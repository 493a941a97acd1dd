# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# vlan=<name>:<phys>, dracut's syntax (dracut.cmdline(7)): a tagged interface on top of a NIC
# (or of the bond=), named as vconfig's name types do, which is where the VLAN id comes from:
# <phys>.<id> (eth0.5, eth0.0005) or vlan<id> (vlan5, vlan0005). The 802.1Q driver is the
# optional hook `vlan`. One vlan= per boot: the boot needs one network to fetch over.

# vlan= -> RAM_VLAN_NAME, RAM_VLAN_PHYS, RAM_VLAN_ID (without leading zeros); or false with
# RAM_VLAN_WHY.
ram_parse_vlan() {
	RAM_VLAN_WHY=
	RAM_VLAN_NAME=${1%%:*}
	RAM_VLAN_PHYS=${1#*:}
	RAM_VLAN_ID=
	case $1 in
	*:*:* | *:)
		RAM_VLAN_WHY='use <name>:<phys>, e.g. eth0.5:eth0 or vlan5:eth0'
		return 1
		;;
	*:*) ;;
	*)
		RAM_VLAN_WHY='use <name>:<phys>, e.g. eth0.5:eth0 or vlan5:eth0'
		return 1
		;;
	esac
	if ! ram_check_ifname "$RAM_VLAN_NAME" || ! ram_check_ifname "$RAM_VLAN_PHYS"; then
		RAM_VLAN_WHY="'$RAM_VLAN_NAME' or '$RAM_VLAN_PHYS' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)"
		return 1
	fi
	case $RAM_VLAN_NAME in
	"$RAM_VLAN_PHYS".*) ram_pv_id=${RAM_VLAN_NAME#"$RAM_VLAN_PHYS".} ;;
	vlan*) ram_pv_id=${RAM_VLAN_NAME#vlan} ;;
	*) ram_pv_id= ;;
	esac
	# At most 4 digits, then no leading zeros before any arithmetic (ash reads 0005 as octal).
	case $ram_pv_id in
	'' | *[!0-9]* | ?????*) ram_pv_id= ;;
	*)
		while :; do
			case $ram_pv_id in
			0?*) ram_pv_id=${ram_pv_id#0} ;;
			*) break ;;
			esac
		done
		;;
	esac
	if [ -z "$ram_pv_id" ] || [ "$ram_pv_id" -lt 1 ] || [ "$ram_pv_id" -gt 4094 ]; then
		RAM_VLAN_WHY="the name must carry the VLAN id 1..4094 as $RAM_VLAN_PHYS.<id> or vlan<id>"
		return 1
	fi
	RAM_VLAN_ID=$ram_pv_id
}

# The VLAN interface from vlan=, up; RAM_NET_VIRT = its name for the rest of the stage.
ram_net_vlan() {
	ram_parse_vlan "$RAM_VLAN" || ram_die "vlan=$RAM_VLAN: $RAM_VLAN_WHY"
	[ -e "$RAM_PREFIX/proc/net/vlan/config" ] || modprobe 8021q 2>/dev/null
	[ -e "$RAM_PREFIX/proc/net/vlan/config" ] ||
		ram_die "net: vlan=$RAM_VLAN: this kernel has no 802.1Q driver in the initrd (build it with --hook vlan)"
	# The bond is there already; a NIC may register late.
	[ "$RAM_VLAN_PHYS" = "$RAM_NET_VIRT" ] || ram_net_wait_nics "$RAM_VLAN_PHYS"
	ram_must "net: $RAM_VLAN_PHYS: setting the link up" ip link set dev "$RAM_VLAN_PHYS" up
	ram_must "net: $RAM_VLAN_NAME: adding VLAN $RAM_VLAN_ID on $RAM_VLAN_PHYS" \
		ip link add link "$RAM_VLAN_PHYS" name "$RAM_VLAN_NAME" type vlan id "$RAM_VLAN_ID"
	ram_must "net: $RAM_VLAN_NAME: setting the link up" ip link set dev "$RAM_VLAN_NAME" up
	ram_log "net: VLAN $RAM_VLAN_ID on $RAM_VLAN_PHYS as $RAM_VLAN_NAME"
	RAM_NET_VIRT=$RAM_VLAN_NAME
}

# Before any address: the bond, then a VLAN (possibly on the bond). RAM_NET_VIRT, when set, is
# the interface the network stage configures when ip= names none (lib/net.sh).
ram_net_virtual() {
	RAM_NET_VIRT=
	[ -z "${RAM_BOND:-}" ] || ram_net_bond
	[ -z "${RAM_VLAN:-}" ] || ram_net_vlan
}
