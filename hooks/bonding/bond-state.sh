#!/bin/sh
# bonding, after the fetch: one console line per bond from /proc/net/bonding/<bond> (the
# driver's own report), so the boot log shows which slave carried the image and whether a link
# failed on the way.
# As the ram script's log does (lib/log.sh): one kernel log record at info level, which the
# console prints whole; a plain echo to the console could be cut by a kernel message mid-line.
# echo too when the console's level hides info.
say() {
	level=$(cat /proc/sys/kernel/printk 2>/dev/null)
	level=${level%%[!0-9]*}
	printf '<6>%s\n' "$1" 2>/dev/null >>/dev/kmsg && [ "${level:-0}" -gt 6 ] && return 0
	echo "$1"
}

for f in /proc/net/bonding/*; do
	[ -r "$f" ] || continue
	mode='' active='' slave='' slaves=''
	while IFS= read -r line; do
		case $line in
		'Bonding Mode: '*) mode=${line#*: } ;;
		'Currently Active Slave: '*) active=${line#*: } ;;
		'Slave Interface: '*) slave=${line#*: } ;;
		'MII Status: '*) [ -z "$slave" ] || slaves="$slaves $slave ${line#*: }" ;;
		'Link Failure Count: '*) [ -z "$slave" ] || slaves="$slaves (failures ${line#*: })," ;;
		esac
	done <"$f"
	say "ramboot: bond: ${f##*/} mode $mode, active ${active:-none}; slaves:${slaves%,}"
done
exit 0
