#!/bin/sh
# busybox udhcpc's (and udhcpc6's) event script (-s), one per NIC, not sourced by /init. It only
# records the lease as `key value` lines in $RAM_NETDIR/NIC.lease; /init applies the first one
# that arrives (lib/net.sh), so DHCP and static ip= configure the NIC in one place.
# shellcheck disable=SC2154 # interface, ip, mask, router, ... are udhcpc's environment
case $1 in
deconfig)
	# udhcpc does not raise the link itself, and its first DISCOVER needs it.
	ip link set dev "$interface" up
	;;
bound | renew)
	printf '%s %s\n' iface "$interface" ip "$ip" prefix "${mask:-}" router "${router:-}" \
		dns "${dns:-}" search "${search:-${domain:-}}" hostname "${hostname:-}" mtu "${mtu:-}" \
		server "${siaddr:-}" serverid "${serverid:-}" bootfile "${boot_file:-}" lease "${lease:-}" ipv6 "${ipv6:-}" \
		>"$RAM_NETDIR/$interface.tmp" &&
		mv "$RAM_NETDIR/$interface.tmp" "$RAM_NETDIR/$interface.lease"
	;;
esac
exit 0
